"""The schema's version: migrating to it (`make migrate`) and refusing to run on another.

Alembic's scripts live in `migrations/` at the top of the repository. Every process checks at
start that the database is at the head revision this code was written for; a database behind
(not migrated) or ahead (newer code migrated it) stops the process with one clear log line."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from core.db.engine import Database, safe_url

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


class SchemaMismatch(RuntimeError):
    """The database's schema is not the one this code expects; the message says what to do."""


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # Percent signs in a password would be read as interpolation by configparser.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def head_revision() -> str:
    heads = ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads()
    return str(heads[0])


def current_revision(db: Database) -> str | None:
    with db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def migrate(db: Database, revision: str = "head") -> None:
    """Bring the database to `revision` (creating every table on an empty one)."""
    config = alembic_config(db.url)
    with db.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


def check(db: Database) -> None:
    """Raise SchemaMismatch unless the database is at this code's head revision."""
    expected = head_revision()
    found = current_revision(db)
    if found == expected:
        return
    where = safe_url(db.url)
    if found is None:
        raise SchemaMismatch(
            f"the database at {where} has no schema (expected revision {expected}): "
            "run `make migrate` first"
        )
    raise SchemaMismatch(
        f"the database at {where} is at schema revision {found}, this code expects "
        f"{expected}: run `make migrate` (or deploy the code that matches the database)"
    )
