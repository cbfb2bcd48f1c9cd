"""order cards: each order's card in the staff chat

Revision ID: 0005
Revises: 0003
Create Date: 2026-12-07 07:45:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "order_cards",
        sa.Column("order_id", sa.String(length=16), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=False),
        sa.Column("posted_at", sa.Double(), nullable=False),
        sa.Column("thread_id", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"], ["order_ids.id"], name=op.f("fk_order_cards_order_id_order_ids")
        ),
        sa.PrimaryKeyConstraint("order_id", name=op.f("pk_order_cards")),
    )
    with op.batch_alter_table("order_cards", schema=None) as batch_op:
        batch_op.create_index("ix_order_cards_message", ["chat_id", "message_id"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("order_cards", schema=None) as batch_op:
        batch_op.drop_index("ix_order_cards_message")
    op.drop_table("order_cards")
