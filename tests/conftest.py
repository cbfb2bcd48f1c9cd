"""Fixtures shared by every test layer."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

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
