"""A master that goes silent (SIGSTOP: it closes no socket): once the Sentinels name another,
a process's clients reach the new master at once, not after a socket timeout per connection
(core.sentinel_watch); and a Sentinel client of the kind kombu and Celery make retries onto
the new master, not the old one (redis/redis-py#3874, core.redisconn).

Real redis-servers: a master, one replica and three Sentinels on loopback, with the test's
Sentinel timing (tests/support/sentinel.py)."""

from __future__ import annotations

import asyncio
import signal
import threading
import time
from collections.abc import Awaitable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
import redis
import redis.sentinel

from core import redisconn
from core.sentinel_watch import MasterWatch, drop_stale_async_connections, drop_stale_connections
from core.settings import Settings
from tests.support.processes import wait_until
from tests.support.sentinel import MASTER_NAME, PASSWORD, ReplicatedRedis

T = TypeVar("T")


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[ReplicatedRedis]:
    with ReplicatedRedis(tmp_path) as running:
        yield running


def celery_like(settings: Settings, socket_timeout: float) -> redis.Redis:
    """A client made as Celery's result backend and kombu's channels make theirs: redis-py's
    own Sentinel connection class and retry."""
    sentinel = redis.sentinel.Sentinel(
        list(settings.redis_sentinels), sentinel_kwargs=redisconn.sentinel_kwargs(settings)
    )
    return sentinel.master_for(
        MASTER_NAME, password=PASSWORD, socket_timeout=socket_timeout, decode_responses=True
    )


def promoted(cluster: ReplicatedRedis, old: int) -> bool:
    """Every Sentinel names a master other than `old`, and one a client would take (not seen
    down): the Sentinel that promoted may be ahead of the others, and a client asks them in
    turn."""
    if not all(sentinel.master_port() != old for sentinel in cluster.sentinels):
        return False
    settings = Settings.from_env(cluster.env())
    sentinel = redis.sentinel.Sentinel(
        list(settings.redis_sentinels), sentinel_kwargs=redisconn.sentinel_kwargs(settings)
    )
    try:
        return int(sentinel.discover_master(MASTER_NAME)[1]) != old
    except redis.sentinel.MasterNotFoundError:
        return False


def test_clients_leave_a_silent_master_as_soon_as_the_sentinels_name_another(
    cluster: ReplicatedRedis,
) -> None:
    settings = Settings.from_env(cluster.env())
    ours = redisconn.connect(settings)
    theirs = celery_like(settings, redisconn.COMMAND_TIMEOUT)
    # The bot's rate limiter client, on an event loop of its own as in the bot.
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, daemon=True).start()
    limiter = redisconn.connect_async(settings, decode_responses=True)

    def on_loop(awaitable: Awaitable[T]) -> T:
        async def run() -> T:
            return await awaitable

        return asyncio.run_coroutine_threadsafe(run(), loop).result(30)

    moved = threading.Event()

    def follow(_: tuple[str, int]) -> None:
        # What core.sentinel_watch.follow(settings, loop=...) does, and then says so.
        drop_stale_connections(MASTER_NAME)
        on_loop(drop_stale_async_connections(MASTER_NAME))
        moved.set()

    watch = MasterWatch(settings, on_change=follow)
    watch.start()
    # Given clients with pooled connections to the master
    assert ours.set("pedidos:k", "1") and theirs.set("celery:k", "1")
    assert on_loop(limiter.set("limiter:k", "1"))
    old = cluster.current_master_port()
    frozen = cluster.node_on(old)
    busy: list[float] = []
    try:
        # When the master goes silent, with a command already waiting on it
        frozen.signal(signal.SIGSTOP)
        frozen_at = time.monotonic()

        def waiting() -> None:
            ours.incr("pedidos:waiting")
            busy.append(time.monotonic() - frozen_at)

        waiter = threading.Thread(target=waiting)
        waiter.start()
        wait_until(lambda: promoted(cluster, old), 60, "a promotion")
        assert moved.wait(10), "the watch saw no new master"

        # Then each client's next command goes to the new master at once (not after the
        # 10 s socket timeout its idle connection to the old one would have waited)...
        for client, key in ((ours, "pedidos:k"), (theirs, "celery:k")):
            started = time.monotonic()
            assert client.set(key, "2")
            assert time.monotonic() - started < redisconn.COMMAND_TIMEOUT / 5
        started = time.monotonic()
        assert on_loop(limiter.set("limiter:k", "2"))
        assert time.monotonic() - started < redisconn.COMMAND_TIMEOUT / 5
        # ...and the command that was waiting on the old master was sent again to the new
        # one before its own timeout ran out
        waiter.join(redisconn.COMMAND_TIMEOUT * 3)
        assert busy and busy[0] < redisconn.COMMAND_TIMEOUT, busy
        assert ours.get("pedidos:waiting") == "1"
    finally:
        watch.stop()
        frozen.signal(signal.SIGCONT)
        loop.call_soon_threadsafe(loop.stop)


def test_a_dropped_subscription_of_a_celery_like_client_comes_back_on_the_new_master(
    cluster: ReplicatedRedis,
) -> None:
    """Celery's result consumer (the bot's publish subscribes to each task's result) holds a
    pub/sub connection; dropped by the watch, it reconnects as its next command is sent."""
    settings = Settings.from_env(cluster.env())
    client = celery_like(settings, socket_timeout=2.0)
    subscription = client.pubsub()
    subscription.subscribe("celery-task-meta-a")
    old = cluster.current_master_port()
    frozen = cluster.node_on(old)
    try:
        # When the master goes silent, a replica is promoted, and the subscription's
        # connection is dropped
        frozen.signal(signal.SIGSTOP)
        wait_until(lambda: promoted(cluster, old), 60, "a promotion")
        assert subscription.connection is not None
        subscription.connection.disconnect()
        # Then its next subscription asks the Sentinels where to connect: the new master, at
        # once (before the fix it went back to the old address and waited out its timeout)
        started = time.monotonic()
        subscription.subscribe("celery-task-meta-b")
        assert time.monotonic() - started < 2.0
        client.publish("celery-task-meta-b", "SUCCESS")
        seen = [subscription.get_message(timeout=1.0) for _ in range(4)]
        assert any(m and m["type"] == "message" and m["data"] == "SUCCESS" for m in seen), seen
    finally:
        frozen.signal(signal.SIGCONT)
