"""orders updated in place: the watcher's mark out of every index, room left on each page

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 13:40:00

`ix_orders_unfinished` was keyed by (stale_alerted_at, created_at): marking 1,000 stale orders
rewrote each of them in all of `orders`' indexes. Keyed by created_at alone, no column a
transition or the watcher's mark changes is in an index (finished_at aside), so on PostgreSQL
those updates can be HOT (heap-only: no index entry written), given room on the row's page:
fillfactor 90 leaves it (pages written from now on; VACUUM FULL rewrites the old ones).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_UNFINISHED = sa.text("finished_at = 0")


def upgrade() -> None:
    _replace_index(["created_at"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE orders SET (fillfactor = 90)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE orders RESET (fillfactor)")
    _replace_index(["stale_alerted_at", "created_at"])


def _replace_index(columns: list[str]) -> None:
    op.drop_index(
        "ix_orders_unfinished",
        table_name="orders",
        postgresql_where=_UNFINISHED,
        sqlite_where=_UNFINISHED,
    )
    op.create_index(
        "ix_orders_unfinished",
        "orders",
        columns,
        postgresql_where=_UNFINISHED,
        sqlite_where=_UNFINISHED,
    )
