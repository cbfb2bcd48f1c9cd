"""With Sentinel, every process leaves a master that went silent as soon as the Sentinels name
another one, instead of waiting out a socket timeout on each of its pooled connections.

A killed Redis has its sockets reset: every client notices at its next call and reconnects to
the master the Sentinels name. A master whose machine is lost, frozen or cut off closes
nothing. Each pooled connection to it then waits out one socket timeout (`COMMAND_TIMEOUT`)
the first time it is used after the failover, one connection after another: the bot's store
client, its rate limiter, its publish; each worker process's results, its publish, its
leases. Seen with a frozen master (tests/e2e/test_failover_frozen.py): a `/pedido` placed
after the promotion was answered 20 s later, and each of its three steps took 30 s more.

So each process asks the Sentinels for the master every `LOOK_EVERY` seconds (`MasterWatch`,
a thread: a Sentinel that does not answer must hold nothing else). When they name another
master, each of the process's pools of that master's connections is told (redis-py's
`get_master_address()`, which a pool otherwise calls only as it opens a new connection): a
pool that finds the master moved drops its idle connections, so their next command connects
to the new master. A command already waiting on the old master (sent just before the watch
saw the change) has its connection dropped too, as redis-py's `disconnect(inuse_connections=
True)` does across threads, but only that connection: one already on the new master is left
alone, so no command runs twice. The dropped command fails as at a timeout, at once, and its
client's retry sends it to the new master.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import threading
from collections.abc import Callable
from typing import Any

import redis
import redis.asyncio.sentinel
import redis.sentinel

from core import redisconn
from core.settings import Settings

log = logging.getLogger(__name__)

LOOK_EVERY = 1.0

Address = tuple[str, int]


class MasterWatch:
    """The master the Sentinels name, asked every `LOOK_EVERY` seconds in a thread of its
    own; `on_change(new_master)` runs in that thread when they name another one."""

    def __init__(
        self, settings: Settings, on_change: Callable[[Address], None] | None = None
    ) -> None:
        self.name = settings.redis_sentinel_master
        self.sentinel = redis.sentinel.Sentinel(
            list(settings.redis_sentinels), sentinel_kwargs=redisconn.sentinel_kwargs(settings)
        )
        self.on_change = on_change
        self.master: Address | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def ask(self) -> Address | None:
        """The master the Sentinels name now, or None if none answers."""
        try:
            host, port = self.sentinel.discover_master(self.name)
        except (redis.sentinel.MasterNotFoundError, redis.RedisError, OSError):
            return None
        self.master = (str(host), int(port))
        return self.master

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="master-watch", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        known = self.ask()
        while not self._stop.wait(LOOK_EVERY):
            named = self.ask()
            if named is None or named == known:
                continue
            if known is not None and self.on_change is not None:
                log.warning(
                    "redis: the Sentinels moved the master from %s:%s to %s:%s",
                    *known,
                    *named,
                )
                try:
                    self.on_change(named)
                except Exception:  # the watch must outlive one bad hand-over
                    log.exception("redis: following the new master failed")
            known = named


def _pools(kind: type, service: str) -> list[Any]:
    """This process's pools of `service`'s master connections, of redis-py class `kind`.

    Celery's result backend and kombu's channels build their pools out of our reach, so they
    are found among the live objects (only when the master moved, so rarely). A pool a forked
    child inherited from its parent is never touched: its lock may have been held at the fork
    (tasks.forksafe).
    """
    pid = os.getpid()
    found: list[Any] = [obj for obj in gc.get_objects() if isinstance(obj, kind)]
    return [
        pool
        for pool in found
        if pool.is_master and pool.service_name == service and getattr(pool, "pid", pid) == pid
    ]


def _stale(busy: Any, master: Address) -> list[Any]:
    return [conn for conn in list(busy) if (conn.host, conn.port) != tuple(master)]


def drop_stale_connections(service: str, ours_only: bool = False) -> int:
    """Each pool of this process asks for the master and drops its connections to one the
    Sentinels no longer name; how many pools there were. `ours_only`: only the pools of
    core.redisconn's clients (a worker's main process, whose kombu connections belong to
    its consumer's event loop and are dropped there)."""
    pools = _pools(redis.sentinel.SentinelConnectionPool, service)
    if ours_only:
        pools = [p for p in pools if issubclass(p.connection_class, redisconn.MasterConnection)]
    for pool in pools:
        try:
            master = pool.get_master_address()  # drops the idle ones if the master moved
        except (redis.RedisError, OSError) as exc:
            log.warning("redis: a pool could not ask for the new master: %r", exc)
            continue
        with pool._lock:
            busy = _stale(pool._in_use_connections, master)
        for conn in busy:
            conn.disconnect()
    return len(pools)


async def drop_stale_async_connections(service: str) -> int:
    """The same for the asyncio pools (the bot's rate limiter), on their event loop."""
    pools = _pools(redis.asyncio.sentinel.SentinelConnectionPool, service)
    for pool in pools:
        try:
            master = await pool.get_master_address()
        except (redis.RedisError, OSError) as exc:
            log.warning("redis: a pool could not ask for the new master: %r", exc)
            continue
        for conn in _stale(pool._in_use_connections, master):
            await conn.disconnect()
    return len(pools)


def follow(
    settings: Settings,
    *,
    ours_only: bool = False,
    loop: asyncio.AbstractEventLoop | None = None,
) -> MasterWatch | None:
    """A started watch that tells this process's pools when the master moves; None without
    Sentinel. The threads' pools are told from the watch's thread (`ours_only`: only
    core.redisconn's, see `drop_stale_connections`), and with `loop` the asyncio pools on that
    loop (the bot's)."""
    if not redisconn.sentinel_mode(settings):
        return None
    service = settings.redis_sentinel_master

    def moved(_: Address) -> None:
        drop_stale_connections(service, ours_only=ours_only)
        if loop is not None:
            asyncio.run_coroutine_threadsafe(drop_stale_async_connections(service), loop)

    watch = MasterWatch(settings, on_change=moved)
    watch.start()
    return watch
