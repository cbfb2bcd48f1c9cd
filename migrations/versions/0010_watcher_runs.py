"""the watcher's pending runs in the system of record

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-08 03:00:00

They were a Redis sorted set: lost with Redis, a run that died after claiming orders was never
taken over, and its orders never alerted. A run's row also tells a retry from a new run by
its key, instead of looking through the stale orders for the run's own earlier claims.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "watcher_runs",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("started_at", sa.Double(), nullable=False),
        sa.Column("attempt_at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_watcher_runs")),
    )
    op.create_index("ix_watcher_runs_attempt_at", "watcher_runs", ["attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_watcher_runs_attempt_at", table_name="watcher_runs")
    op.drop_table("watcher_runs")
