"""photo jobs in the system of record

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 10:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_UNFINISHED = sa.text("finished_at = 0")


def upgrade() -> None:
    op.create_table(
        "photo_jobs",
        sa.Column("id", sa.String(length=16), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("file_id", sa.String(length=255), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("progress", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("updated_at", sa.Double(), nullable=False),
        sa.Column("finished_at", sa.Double(), nullable=False),
        sa.Column("status_message_id", sa.BigInteger(), nullable=False),
        sa.Column("task_id", sa.String(length=64), nullable=False),
        sa.Column("queued_epoch", sa.String(length=32), nullable=False),
        sa.Column("error", sa.String(length=64), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("renditions", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=80), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_photo_jobs")),
        sa.UniqueConstraint("source", name=op.f("uq_photo_jobs_source")),
    )
    op.create_index("ix_photo_jobs_chat_created", "photo_jobs", ["chat_id", "created_at"])
    op.create_index(
        "ix_photo_jobs_unfinished",
        "photo_jobs",
        ["created_at"],
        postgresql_where=_UNFINISHED,
        sqlite_where=_UNFINISHED,
    )
    op.create_index("ix_photo_jobs_finished", "photo_jobs", ["finished_at"])


def downgrade() -> None:
    op.drop_index("ix_photo_jobs_finished", table_name="photo_jobs")
    op.drop_index(
        "ix_photo_jobs_unfinished",
        table_name="photo_jobs",
        postgresql_where=_UNFINISHED,
        sqlite_where=_UNFINISHED,
    )
    op.drop_index("ix_photo_jobs_chat_created", table_name="photo_jobs")
    op.drop_table("photo_jobs")
