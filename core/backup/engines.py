"""How each engine is copied, checked and put back: SQLite through its online backup API,
PostgreSQL through pg_dump / pg_restore in their custom format."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Protocol

from sqlalchemy import inspect, select, table
from sqlalchemy.engine import make_url

from core.backup.tools import find_tool, libpq_target, run_tool
from core.db.engine import DatabaseUrlError, make_engine, safe_url

# The table Alembic keeps the schema's revision in: a migrated database with nothing else in
# it is still empty.
VERSION_TABLE = "alembic_version"
# What every copy of this system holds (a file that lacks them is not one of our backups).
REQUIRED_TABLES = ("orders", "order_history", VERSION_TABLE)
# pg_dump and pg_restore on a 1M-order database take seconds; a hung one must not hold the
# worker past the task's time limit (core.settings.LONGEST_TASK).
TOOL_TIMEOUT = 480.0
COMPRESSION = 1


class VerificationFailed(RuntimeError):
    """A copy that does not read back whole; the message says what is wrong with it."""


class Engine(Protocol):
    extension: str

    def dump(self, url: str, target: Path) -> None: ...

    def verify(self, copy: Path) -> None: ...

    def load(self, copy: Path, url: str) -> None: ...


def engine_for(url: str) -> Engine:
    try:
        backend = make_url(url).get_backend_name()
    except Exception:
        raise DatabaseUrlError(f"DATABASE_URL is not a database URL: {safe_url(url)}") from None
    if backend == "sqlite":
        return Sqlite()
    if backend == "postgresql":
        return Postgres()
    raise DatabaseUrlError(f"no backups for {backend} databases (SQLite or PostgreSQL only)")


def sqlite_file(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise DatabaseUrlError("an in-memory SQLite database has nothing to back up or restore")
    return Path(database)


def _uri(path: Path, mode: str) -> str:
    return f"{path.resolve().as_uri()}?mode={mode}"


class Sqlite:
    extension = ".sqlite3"

    def dump(self, url: str, target: Path) -> None:
        # mode=rw: a database that is not there is an error, not a new empty file.
        source = sqlite3.connect(_uri(sqlite_file(url), "rw"), uri=True, timeout=30)
        try:
            copy = sqlite3.connect(target)
            try:
                # In one step (pages=-1): one read transaction, so the copy is one moment of
                # the database; in WAL mode the writers carry on meanwhile.
                source.backup(copy, pages=-1)
                # A single self-contained file, whatever journal the source runs.
                copy.execute("PRAGMA journal_mode=DELETE")
            finally:
                copy.close()
        finally:
            source.close()

    def verify(self, copy: Path) -> None:
        try:
            conn = sqlite3.connect(_uri(copy, "ro"), uri=True)
            try:
                found = [row[0] for row in conn.execute("PRAGMA integrity_check")]
                names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
            finally:
                conn.close()
        except sqlite3.DatabaseError as exc:
            raise VerificationFailed(
                f"{copy.name} is not a readable SQLite database: {exc}"
            ) from None
        if found != ["ok"]:
            raise VerificationFailed(f"integrity_check of {copy.name}: {'; '.join(found[:3])}")
        missing = [name for name in REQUIRED_TABLES if name not in names]
        if missing:
            raise VerificationFailed(f"{copy.name} lacks the tables {', '.join(missing)}")

    def load(self, copy: Path, url: str) -> None:
        source = sqlite3.connect(_uri(copy, "ro"), uri=True)
        try:
            target = sqlite_file(url)
            target.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(target, timeout=30)
            try:
                # Page by page into the database file itself (its WAL included), in one
                # transaction: a reader sees the old database or the restored one.
                source.backup(conn, pages=-1)
                conn.execute("PRAGMA journal_mode=WAL")
            finally:
                conn.close()
        finally:
            source.close()


class Postgres:
    extension = ".dump"

    def dump(self, url: str, target: Path) -> None:
        where, env = libpq_target(url)
        # One transaction snapshot: every order with its history, whatever commits meanwhile.
        # Compression level 1: a quarter of the default's CPU (11.7 s -> 2.8 s at 1M orders,
        # where reading the tables becomes the limit) for a copy a fifth larger.
        argv = [
            find_tool("pg_dump"),
            "--format=custom",
            f"--compress={COMPRESSION}",
            f"--file={target}",
            f"--dbname={where}",
        ]
        run_tool(argv, env, TOOL_TIMEOUT)

    def verify(self, copy: Path) -> None:
        tool = find_tool("pg_restore")
        try:
            listing = run_tool([tool, "--list", str(copy)], None, TOOL_TIMEOUT)
            # The list reads only the table of contents: reading every (compressed) data
            # block through to a script thrown away finds a copy damaged past it.
            run_tool([tool, "--file=/dev/null", str(copy)], None, TOOL_TIMEOUT)
        except RuntimeError as exc:
            raise VerificationFailed(f"{copy.name} does not read back: {exc}") from None
        missing = [name for name in REQUIRED_TABLES if f" TABLE DATA public {name} " not in listing]
        if missing:
            raise VerificationFailed(f"{copy.name} lacks the data of {', '.join(missing)}")

    def load(self, copy: Path, url: str) -> None:
        where, env = libpq_target(url)
        argv = [
            find_tool("pg_restore"),
            # Another server's roles need not exist here: the restoring user owns it all.
            "--no-owner",
            "--no-privileges",
            # The tables of a migrated but empty database (or, told to, a used one) go first.
            "--clean",
            "--if-exists",
            "--exit-on-error",
            "--single-transaction",
            f"--dbname={where}",
            str(copy),
        ]
        run_tool(argv, env, TOOL_TIMEOUT)


def tables_with_rows(url: str) -> list[str]:
    """The tables of the database at `url` that hold rows (Alembic's own table aside)."""
    if make_url(url).get_backend_name() == "sqlite" and not sqlite_file(url).exists():
        return []
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            names = [n for n in inspect(conn).get_table_names() if n != VERSION_TABLE]
            return [
                n for n in names if conn.execute(select(1).select_from(table(n)).limit(1)).first()
            ]
    finally:
        engine.dispose()
