"""The running system a bench measures: the sandbox, a fresh redis-server and the bot and
workers around them (tests.support.system), in a temp dir, all stopped at the end."""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sandbox import run_in_thread
from tests.support.postgres import PostgresServer
from tests.support.system import System, running_system


@contextmanager
def bench_system(prefix: str, **env: str) -> Iterator[System]:
    """The system with `env` on top of the defaults; nothing started but Redis."""
    with (
        tempfile.TemporaryDirectory(prefix=prefix) as tmp,
        run_in_thread() as sandbox,
        running_system(Path(tmp), sandbox.url, sandbox.token, LOG_LEVEL="INFO", **env) as system,
    ):
        yield system


def each_database(
    argv: list[str] | None, default: tuple[str, ...] = ("postgresql", "sqlite")
) -> Iterator[tuple[str, str, Path]]:
    """(engine, a fresh database's URL, a temp dir) for each engine named on the command line
    (`default` when none is): PostgreSQL in a throwaway cluster, SQLite in a temp file."""
    engines = (argv if argv is not None else sys.argv[1:]) or list(default)
    with tempfile.TemporaryDirectory() as tmp:
        postgres = PostgresServer().start() if "postgresql" in engines else None
        try:
            for name in engines:
                if name == "postgresql" and postgres is not None:
                    yield name, postgres.new_database(), Path(tmp)
                else:
                    yield name, f"sqlite:///{Path(tmp) / 'pedidos.db'}", Path(tmp)
        finally:
            if postgres is not None:
                postgres.stop()
