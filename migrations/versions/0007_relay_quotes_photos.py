"""order messages, order photos and quote requests

Revision ID: 0007
Revises: 0003
Create Date: 2026-12-07 07:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _order_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["order_id"], ["orders.id"], name=op.f(f"fk_{table}_order_id_orders"), ondelete="CASCADE"
    )


def upgrade() -> None:
    op.create_table(
        "order_messages",
        sa.Column("id", _ID, nullable=False),
        sa.Column("order_id", sa.String(length=16), nullable=False),
        sa.Column("direction", sa.String(length=12), nullable=False),
        sa.Column("author", sa.String(length=40), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("file_id", sa.String(length=255), nullable=False),
        sa.Column("source", sa.String(length=80), nullable=False),
        sa.Column("at", sa.Double(), nullable=False),
        _order_fk("order_messages"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_messages")),
        sa.UniqueConstraint("source", name=op.f("uq_order_messages_source")),
    )
    op.create_index("ix_order_messages_order", "order_messages", ["order_id", "id"])
    op.create_table(
        "order_photos",
        sa.Column("id", _ID, nullable=False),
        sa.Column("order_id", sa.String(length=16), nullable=False),
        sa.Column("file_id", sa.String(length=255), nullable=False),
        sa.Column("file_unique_id", sa.String(length=64), nullable=False),
        sa.Column("path", sa.String(length=300), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.String(length=80), nullable=False),
        sa.Column("at", sa.Double(), nullable=False),
        _order_fk("order_photos"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_photos")),
        sa.UniqueConstraint("source", name=op.f("uq_order_photos_source")),
    )
    op.create_index("ix_order_photos_order", "order_photos", ["order_id", "id"])
    op.create_table(
        "quote_requests",
        sa.Column("order_id", sa.String(length=16), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=False),
        sa.Column("prompt_message_id", sa.BigInteger(), nullable=False),
        sa.Column("quoted_by", sa.BigInteger(), nullable=False),
        sa.Column("quoted_at", sa.Double(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        _order_fk("quote_requests"),
        sa.PrimaryKeyConstraint("order_id", name=op.f("pk_quote_requests")),
    )
    op.create_index("ix_quote_requests_card", "quote_requests", ["chat_id", "message_id"])


def downgrade() -> None:
    op.drop_index("ix_quote_requests_card", table_name="quote_requests")
    op.drop_table("quote_requests")
    op.drop_index("ix_order_photos_order", table_name="order_photos")
    op.drop_table("order_photos")
    op.drop_index("ix_order_messages_order", table_name="order_messages")
    op.drop_table("order_messages")
