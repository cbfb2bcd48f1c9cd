"""Fixtures shared by every test layer."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.db.engine import Database
from core.db.schema import migrate
from tests.support.postgres import PostgresServer, pg_bin
from tests.support.processes import RedisServer

PHOTOS = Path(__file__).resolve().parent / "data" / "exif-orientation"

# tests/containers builds the image and runs the compose stack under Podman: only
# `make test-containers` (which sets this) collects it, never `make test`.
collect_ignore = [] if os.environ.get("PEDIDOS_TEST_CONTAINERS") == "1" else ["containers"]

# Whole-system modules first: `make test` hands whole modules to two processes in this order,
# so the long ones start early and the quick unit modules fill the end, instead of one long
# module running alone at the end while the other process has nothing left.
RUN_FIRST = ("e2e", "sandbox")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        parts = item.path.relative_to(Path(__file__).parent).parts
        return RUN_FIRST.index(parts[0]) if parts[0] in RUN_FIRST else len(RUN_FIRST)

    items.sort(key=rank)  # stable: each module's tests stay together and in order


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One real redis-server for the session; tests isolate themselves with flushdb."""
    base = tmp_path_factory.mktemp("redis")
    server = RedisServer(base, base).start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> Iterator[str]:
    """A clean database on the session's redis-server."""
    import redis

    client = redis.Redis.from_url(redis_server.url)
    client.flushdb()
    client.close()
    yield redis_server.url


@pytest.fixture(scope="session")
def photos_dir() -> Path:
    """The real photos with every EXIF orientation (tests/data, MIT licence)."""
    if not PHOTOS.is_dir():
        pytest.fail(f"test photos missing: {PHOTOS}")
    return PHOTOS


from tests.support.sandbox import sandbox, sandbox_server  # noqa: E402, F401


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One real PostgreSQL cluster for the session (each user takes a database of its own)."""
    if pg_bin() is None:
        pytest.fail("PostgreSQL is not installed: `make setup` (or apt-get install postgresql)")
    server = PostgresServer().start()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty, migrated database on each engine the system of record supports (the
    PostgreSQL cluster starts only when a test asks for it)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'pedidos.db'}"
    else:
        url = request.getfixturevalue("postgres_server").new_database()
    db = Database(url)
    migrate(db)
    db.dispose()
    return url


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Database]:
    """The embedded default database, migrated, in the test's temp dir."""
    db = Database(f"sqlite:///{tmp_path / 'pedidos.db'}")
    migrate(db)
    yield db
    db.dispose()
