"""Opening the database: one engine per process, sessions that commit or roll back whole.

SQLite (the embedded default) runs in WAL mode with `synchronous=FULL`: a commit is on disk
before anyone is told about it, and readers never block the writer. PostgreSQL keeps its
default synchronous commit. Both are reached through the same SQLAlchemy URL
(`DATABASE_URL`)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    InterfaceError,
    NoSuchModuleError,
    OperationalError,
)
from sqlalchemy.orm import Session, sessionmaker

from core.db.sqlite_turns import TurnTakingConnection

log = logging.getLogger(__name__)

# How long a SQLite writer waits for another writer's lock before failing (ms).
SQLITE_BUSY_TIMEOUT_MS = 30_000

# libpq's socket settings. A server that vanishes without closing its sockets (its machine
# killed, a network cut) would otherwise hold a query or a connect for the kernel's ~15 min
# of retransmissions, and every process's threads with it: a connect gives up after 10 s,
# unacknowledged writes after 30 s, and an idle socket is found dead within a minute. Any
# of them set in DATABASE_URL's query wins.
LIBPQ_SOCKET_SETTINGS: dict[str, int] = {
    "connect_timeout": 10,
    "keepalives": 1,
    "keepalives_idle": 30,
    "keepalives_interval": 10,
    "keepalives_count": 3,
    "tcp_user_timeout": 30_000,
}
LIBPQ_DRIVERS = ("psycopg", "psycopg2")


def is_outage(exc: BaseException) -> bool:
    """Whether `exc` is the database being unreachable or gone (worth "try again in a
    moment"), rather than a bug."""
    return isinstance(exc, OperationalError | InterfaceError) or (
        isinstance(exc, DBAPIError) and exc.connection_invalidated
    )


class DatabaseUrlError(ValueError):
    """DATABASE_URL cannot be used; the message says why (never the password)."""


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.close()


# The execution option that marks a connection as reading only (Database.reading, .rows).
READ_ONLY = "pedidos_read_only"


def _sqlite_begin(conn: Any) -> None:
    # BEGIN IMMEDIATE: a transaction takes the write lock up front, so two writers queue on
    # the busy timeout instead of one failing on a lock upgrade half-way through. A read
    # takes no lock (WAL: it reads its snapshot while a writer goes on), so it does not
    # queue behind writers, nor they behind it.
    if conn.get_execution_options().get(READ_ONLY):
        conn.exec_driver_sql("BEGIN")
        return
    # Writers take turns (core.db.sqlite_turns) before asking SQLite for its lock; the turn
    # is given back when the transaction commits or rolls back.
    dbapi = conn.connection.dbapi_connection
    turns = dbapi if isinstance(dbapi, TurnTakingConnection) else None
    if turns is not None:
        turns.take_turn(SQLITE_BUSY_TIMEOUT_MS / 1000)
    try:
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    except BaseException:
        if turns is not None:
            turns.end_turn()
        raise


def make_engine(url: str, **options: Any) -> Engine:
    """The engine for `url`; a clear DatabaseUrlError when the URL cannot work."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise DatabaseUrlError(f"DATABASE_URL is not a database URL: {exc}") from None
    if parsed.get_backend_name() == "sqlite":
        connect_args: dict[str, Any] = {"check_same_thread": False}
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            if not parsed.query.get("uri"):  # a file by its path: its writers take turns
                connect_args["factory"] = TurnTakingConnection
        options.setdefault("connect_args", connect_args)
    elif parsed.get_backend_name() == "postgresql":
        options.setdefault("pool_pre_ping", True)
        options.setdefault("pool_size", 5)
        if parsed.get_driver_name() in LIBPQ_DRIVERS:
            socket_settings = {
                name: value
                for name, value in LIBPQ_SOCKET_SETTINGS.items()
                if name not in parsed.query
            }
            options.setdefault("connect_args", socket_settings)
    try:
        engine = create_engine(parsed, **options)
    except (NoSuchModuleError, ImportError) as exc:
        raise DatabaseUrlError(f"DATABASE_URL names an unknown database driver: {exc}") from None
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        # pysqlite's own transaction handling is turned off so BEGIN IMMEDIATE is ours.
        event.listen(engine, "connect", lambda conn, _r: setattr(conn, "isolation_level", None))
        event.listen(engine, "begin", _sqlite_begin)
    return engine


def insert(dialect: str, entity: Any) -> postgresql.Insert | sqlite.Insert:
    """An INSERT in the named engine's dialect (`Database.dialect`), for its ON CONFLICT
    clauses: `on_conflict_do_nothing` and `on_conflict_do_update` read the same on both."""
    return (postgresql if dialect == "postgresql" else sqlite).insert(entity)


def safe_url(url: str) -> str:
    """The URL as it may be logged: no password."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable DATABASE_URL>"


class Database:
    """An engine and its session factory: what every store of the system of record takes."""

    def __init__(self, url: str, **options: Any) -> None:
        self.url = url
        self.engine = make_engine(url, **options)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._reader = self.engine.execution_options(**{READ_ONLY: True})
        self.readers = sessionmaker(self._reader, expire_on_commit=False)
        # One-statement reads (`rows`): on PostgreSQL in autocommit, with no BEGIN and
        # ROLLBACK round trips around the statement.
        self._row_reader = self._reader
        if self.engine.dialect.name == "postgresql":
            self._row_reader = self._reader.execution_options(isolation_level="AUTOCOMMIT")

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session whose work commits on leaving, or rolls back whole on an exception."""
        with self.sessions.begin() as session:
            yield session

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A session for reads only (rolled back on leaving)."""
        with self.readers() as session:
            yield session

    @contextmanager
    def rows(self) -> Iterator[Connection]:
        """A Core connection for one-statement reads (one order, its state): the hot path's,
        with none of a session's cost."""
        with self._row_reader.connect() as connection:
            yield connection

    def dispose(self) -> None:
        self.engine.dispose()
