"""Alembic's environment: migrations run on the connection core.db.schema.migrate hands over,
or on `sqlalchemy.url` when run by the alembic command itself."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from core.db import cards, deadlines, payments, photos, receipts, relay, shop, watcher  # noqa: F401  (their tables join Base.metadata)
from core.db.engine import make_engine
from core.db.models import Base

config = context.config
target_metadata = Base.metadata


def run(connection: Connection) -> None:
    # render_as_batch: SQLite alters tables by copying them; Alembic's batch mode does that.
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    run(connection)
else:
    with make_engine(config.get_main_option("sqlalchemy.url") or "").begin() as conn:
        run(conn)
