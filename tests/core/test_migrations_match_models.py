"""The schema the migrations build is the one the models describe, on both engines: a column,
index or table added to one and not the other fails here, not in production."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from core.db import cards, deadlines, payments, photos, receipts, relay, shop, watcher  # noqa: F401  (their tables join Base.metadata)
from core.db.engine import Database
from core.db.models import Base


def test_the_migrated_database_matches_the_models(database_url: str) -> None:
    db = Database(database_url)
    try:
        with db.engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    finally:
        db.dispose()
    assert differences == []
