"""Restoring a copy (`make restore BACKUP=file`): into an empty database only, unless told to
replace what is there, and with the copy checked before anything is written."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from core.backup.engines import VerificationFailed, engine_for, tables_with_rows
from core.backup.tools import ToolFailed
from core.db import schema
from core.db.engine import Database, safe_url


class RestoreRefused(RuntimeError):
    """Nothing was restored; the message says why and what to do."""


@dataclass(frozen=True)
class Restored:
    where: str
    revision: str | None
    expected: str


def restore(copy: Path, url: str, force: bool = False) -> Restored:
    """Put the copy at `copy` into the database at `url`; RestoreRefused when it cannot be."""
    engine = engine_for(url)
    if not copy.is_file():
        raise RestoreRefused(f"no backup file at {copy}")
    if copy.suffix != engine.extension:
        raise RestoreRefused(
            f"{copy.name} is not a backup of this kind of database "
            f"({safe_url(url)} takes {engine.extension} files)"
        )
    try:
        engine.verify(copy)
    except VerificationFailed as exc:
        raise RestoreRefused(f"the backup does not read back, nothing restored: {exc}") from None
    try:
        used = tables_with_rows(url)
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        raise RestoreRefused(f"cannot reach the database at {safe_url(url)}: {reason}") from None
    if used and not force:
        raise RestoreRefused(
            f"the database at {safe_url(url)} is not empty (rows in {', '.join(used)}): "
            "restore into an empty database, or replace its contents with FORCE=1"
        )
    try:
        engine.load(copy, url)
    except ToolFailed as exc:
        raise RestoreRefused(f"the restore failed and was rolled back: {exc}") from None
    db = Database(url)
    try:
        revision = schema.current_revision(db)
    finally:
        db.dispose()
    return Restored(safe_url(url), revision, schema.head_revision())
