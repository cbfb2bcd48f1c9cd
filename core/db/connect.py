"""Opening the system of record as a process starts: refuse to run on a wrong URL, an
unreachable database or another schema version, with one clear line."""

from __future__ import annotations

from sqlalchemy.exc import SQLAlchemyError

from core.db import schema
from core.db.engine import Database, DatabaseUrlError, safe_url


class DatabaseUnavailable(RuntimeError):
    """The process cannot use the database; the message says why and what to do."""


def open_checked(url: str) -> Database:
    """The database at `url`, checked to be reachable and at this code's schema version."""
    try:
        db = Database(url)
    except DatabaseUrlError as exc:
        raise DatabaseUnavailable(str(exc)) from None
    try:
        schema.check(db)
    except schema.SchemaMismatch as exc:
        db.dispose()
        raise DatabaseUnavailable(str(exc)) from None
    except SQLAlchemyError as exc:
        db.dispose()
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        raise DatabaseUnavailable(
            f"cannot reach the database at {safe_url(url)}: {reason}"
        ) from None
    return db
