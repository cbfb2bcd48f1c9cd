"""Taking a backup: the copy is written under a temporary name, flushed to disk, verified, and
only then renamed into place and the oldest copies beyond the count to keep removed. A copy that
fails anywhere (a full disk, a tool that dies, a file that does not read back) is deleted and
nothing else is touched: the earlier copies stay."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from core.backup.engines import Postgres, Sqlite, engine_for
from core.backup.tools import ToolFailed
from core.db.engine import DatabaseUrlError

# `pedidos-20261207T020000.000Z.dump`: the UTC time it was taken, so names sort by age.
PREFIX = "pedidos-"
PART = ".part"
KINDS = (Sqlite.extension, Postgres.extension)
# A half copy older than this belongs to a run that was killed (a run lasts at most minutes).
ABANDONED_AFTER = 6 * 3600.0


class BackupFailed(RuntimeError):
    """No new copy was made; the message says why (never the database password)."""


@dataclass(frozen=True)
class Copy:
    """One copy just taken: where, how large, how long it took, and what rotation removed."""

    path: Path
    size: int
    seconds: float
    removed: tuple[Path, ...] = ()


def copies(directory: Path) -> list[Path]:
    """The finished copies in `directory`, oldest first."""
    if not directory.is_dir():
        return []
    found = [p for p in directory.iterdir() if p.name.startswith(PREFIX) and p.suffix in KINDS]
    return sorted((p for p in found if p.is_file()), key=lambda p: p.name)


def drop_abandoned(directory: Path, now: float) -> None:
    """Delete half copies of runs killed mid-copy (SIGKILL leaves no `finally` to run)."""
    if not directory.is_dir():
        return
    for path in directory.glob(f"{PREFIX}*{PART}"):
        with contextlib.suppress(OSError):
            if path.stat().st_mtime < now - ABANDONED_AFTER:
                path.unlink()


def take_backup(url: str, directory: Path, keep: int, now: float | None = None) -> Copy:
    """A verified copy of the database at `url` in `directory`; the newest `keep` copies stay.

    Raises BackupFailed, and leaves every earlier copy where it was, when any part fails.
    """
    started = time.monotonic()
    try:
        engine = engine_for(url)
    except DatabaseUrlError as exc:
        raise BackupFailed(str(exc)) from None
    stamp = datetime.fromtimestamp(time.time() if now is None else now, UTC)
    # To the millisecond: a `make backup` right after beat's makes a second copy, not the same.
    final = directory / f"{PREFIX}{stamp:%Y%m%dT%H%M%S}.{stamp.microsecond // 1000:03d}Z"
    final = final.with_name(final.name + engine.extension)
    part = final.with_name(final.name + PART)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        drop_abandoned(directory, time.time())
        engine.dump(url, part)
        _flush(part)
        engine.verify(part)
        os.replace(part, final)
        _flush(directory)
    except Exception as exc:
        raise BackupFailed(_reason(exc)) from exc
    finally:
        # Whatever went wrong, no half copy is left to fill the disk further.
        with contextlib.suppress(OSError):
            part.unlink(missing_ok=True)
    removed = rotate(directory, keep)
    return Copy(final, final.stat().st_size, time.monotonic() - started, tuple(removed))


def rotate(directory: Path, keep: int) -> list[Path]:
    """Remove all but the newest `keep` copies (at least the one just taken stays)."""
    found = copies(directory)
    old = found[: max(0, len(found) - max(1, keep))]
    for path in old:
        path.unlink(missing_ok=True)
    return old


def _flush(path: Path) -> None:
    """The file's (or directory's) contents on disk before the copy counts as taken."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _reason(exc: Exception) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        where = f" ({exc.filename})" if exc.filename else ""
        return f"{exc.strerror}{where}"
    if isinstance(exc, sqlite3.Error | ToolFailed):
        return str(exc)
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
