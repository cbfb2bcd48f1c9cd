"""deadline breaches

Revision ID: 0006
Revises: 0003
Create Date: 2026-12-07 08:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deadline_breaches",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("order_id", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("due_at", sa.Double(), nullable=False),
        sa.Column("alerted_at", sa.Double(), nullable=False),
        sa.Column("escalated_at", sa.Double(), nullable=False),
        sa.Column("customer_told_at", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name=op.f("fk_deadline_breaches_order_id_orders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deadline_breaches")),
        sa.UniqueConstraint("order_id", "kind", name=op.f("uq_deadline_breaches_order_id")),
    )
    op.create_index(
        "ix_deadline_breaches_alerted", "deadline_breaches", ["alerted_at"], unique=False
    )
    op.create_index(
        "ix_deadline_breaches_escalated",
        "deadline_breaches",
        ["escalated_at", "alerted_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_deadline_breaches_escalated", table_name="deadline_breaches")
    op.drop_index("ix_deadline_breaches_alerted", table_name="deadline_breaches")
    op.drop_table("deadline_breaches")
