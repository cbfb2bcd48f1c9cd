"""Every Redis connection of every process is made here, so Sentinel is one switch.

With `REDIS_SENTINELS` unset, clients come from `REDIS_URL` as they always did. With it set,
each client asks the Sentinels for the current master of `REDIS_SENTINEL_MASTER` whenever it
(re)connects: a client that held the old master finds the new one after a failover, and
keeps retrying for `REDIS_FAILOVER_TIMEOUT` (the Sentinels' detection plus promotion) before
a command fails. redis-py `Script` objects (every Lua script of ours is one) load themselves
again on NOSCRIPT, so a promoted replica, whose script cache is empty, needs nothing more.

Celery's broker and result backend, and RedBeat, build their own clients; the settings that
point them at the same place come from here too (`celery_settings`, `redbeat_settings`), with
passwords kept out of the URLs (so out of every log line that prints one).

Replication is asynchronous: a write the master acknowledged can be lost if the master dies
before its replica copied it. `ReplicaFence` closes that window where a customer is told
something (an order is placed, a message is sent): Redis `WAIT` until a replica holds every
write made so far, bounded by `REDIS_WAIT_TIMEOUT`.
"""

from __future__ import annotations

import functools
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import redis
import redis.asyncio
import redis.asyncio.retry
import redis.asyncio.sentinel
import redis.sentinel
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from core.settings import Settings

log = logging.getLogger(__name__)

# Connecting to a live Redis on a LAN takes milliseconds; a host that vanished must not hold
# a client for long, since the Sentinels will name another.
CONNECT_TIMEOUT = 2.0
# No command of ours blocks; a reply this late means the host is gone (or the network is).
COMMAND_TIMEOUT = 10.0
# Backoff between attempts to reach a master: 50 ms doubling up to 1 s.
BACKOFF_BASE = 0.05
BACKOFF_CAP = 1.0
FENCE_KEY = "pedidos:fence"


def retries_for(seconds: float) -> int:
    """How many attempts, with our backoff, span at least `seconds` of waiting."""
    ramp = math.ceil(math.log2(BACKOFF_CAP / BACKOFF_BASE))  # the attempts before the cap
    return ramp + max(1, math.ceil(seconds / BACKOFF_CAP))


def sentinel_mode(settings: Settings) -> bool:
    return bool(settings.redis_sentinels)


def _sync_retry(settings: Settings) -> Retry:
    return Retry(
        ExponentialBackoff(cap=BACKOFF_CAP, base=BACKOFF_BASE),
        retries_for(settings.redis_failover_timeout),
    )


def sentinel_kwargs(settings: Settings) -> dict[str, Any]:
    """How to talk to the Sentinels themselves (their own password, if any)."""
    kwargs: dict[str, Any] = {"socket_connect_timeout": CONNECT_TIMEOUT}
    kwargs["socket_timeout"] = CONNECT_TIMEOUT
    if settings.redis_sentinel_password:
        kwargs["password"] = settings.redis_sentinel_password.get_secret_value()
    return kwargs


def _master_kwargs(settings: Settings) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "db": settings.redis_db,
        "socket_connect_timeout": CONNECT_TIMEOUT,
        "socket_timeout": COMMAND_TIMEOUT,
        "socket_keepalive": True,
    }
    if settings.redis_password:
        kwargs["password"] = settings.redis_password.get_secret_value()
    return kwargs


def _connect_to_the_named_master(connect: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """redis-py's Sentinel connection looks the master up in `connect()`, but a command
    retried on the same connection reconnects through `connect_check_health()`, which goes to
    the address it had (redis/redis-py#3874, open): the old master, until the retries run
    out, and one socket timeout per try when that master went silent. This `_connect` asks
    the Sentinels first, on both paths."""

    @functools.wraps(connect)
    def _connect(self: Any) -> Any:
        if self.connection_pool.is_master:
            self.host, self.port = self.connection_pool.get_master_address()
        return connect(self)

    _connect.follows_the_sentinels = True  # type: ignore[attr-defined]
    return _connect


# On redis-py's class itself, not only on ours: kombu's channels and Celery's result backend
# make their connections from it, and they retry through failovers too.
if not getattr(redis.sentinel.SentinelManagedConnection._connect, "follows_the_sentinels", False):
    redis.sentinel.SentinelManagedConnection._connect = _connect_to_the_named_master(  # type: ignore[method-assign]
        redis.sentinel.SentinelManagedConnection._connect
    )


class MasterConnection(redis.sentinel.SentinelManagedConnection):
    """Our own clients' connections (core.sentinel_watch tells them from kombu's and
    Celery's); they follow the Sentinels as every Sentinel connection does (above)."""


class AsyncMasterConnection(redis.asyncio.sentinel.SentinelManagedConnection):
    """redis/redis-py#3874 for the asyncio client (the bot's rate limiter), where it was seen:
    a reply retried for 30 s against the killed master while everything else had moved on."""

    async def _connect(self) -> Any:
        if self.connection_pool.is_master:
            self.host, self.port = await self.connection_pool.get_master_address()
        return await super()._connect()


def connect(settings: Settings, *, decode_responses: bool = True) -> redis.Redis:
    """A client of the current master: `REDIS_URL`'s Redis, or the Sentinels' master."""
    if not sentinel_mode(settings):
        return redis.Redis.from_url(settings.redis_url, decode_responses=decode_responses)
    sentinel = redis.sentinel.Sentinel(
        list(settings.redis_sentinels), sentinel_kwargs=sentinel_kwargs(settings)
    )
    return sentinel.master_for(
        settings.redis_sentinel_master,
        connection_class=MasterConnection,
        decode_responses=decode_responses,
        retry=_sync_retry(settings),
        **_master_kwargs(settings),
    )


def connect_async(settings: Settings, *, decode_responses: bool = False) -> redis.asyncio.Redis:
    """The asyncio client of the current master (the bot's rate limiter)."""
    retry = redis.asyncio.retry.Retry(
        ExponentialBackoff(cap=BACKOFF_CAP, base=BACKOFF_BASE),
        retries_for(settings.redis_failover_timeout) if sentinel_mode(settings) else 5,
    )
    if not sentinel_mode(settings):
        # from_url leaves the asyncio client without retries: after a Redis restart every
        # pooled connection would fail its next command instead of reconnecting.
        return redis.asyncio.Redis.from_url(
            settings.redis_url, retry=retry, decode_responses=decode_responses
        )
    sentinel = redis.asyncio.sentinel.Sentinel(
        list(settings.redis_sentinels), sentinel_kwargs=sentinel_kwargs(settings)
    )
    return sentinel.master_for(
        settings.redis_sentinel_master,
        connection_class=AsyncMasterConnection,
        decode_responses=decode_responses,
        retry=retry,
        **_master_kwargs(settings),
    )


def sentinel_url(settings: Settings, with_password: bool = False) -> str:
    """`sentinel://host:port/db;sentinel://...`: Celery's and kombu's form.

    The password in each part is the master's (the Sentinels' own is in sentinel_kwargs).
    """
    auth = (
        f":{quote(settings.redis_password.get_secret_value(), safe='')}@" if with_password else ""
    )
    db = settings.redis_db
    return ";".join(f"sentinel://{auth}{_host(h)}:{p}/{db}" for h, p in settings.redis_sentinels)


def _host(host: str) -> str:
    return f"[{host}]" if ":" in host else quote(host, safe=".-_")


def celery_settings(settings: Settings) -> dict[str, Any]:
    """Broker, result backend and their transport options for celeryconfig."""
    broker_options: dict[str, Any] = {}
    if not sentinel_mode(settings):
        return {
            "broker_url": settings.redis_url,
            "result_backend": settings.redis_url,
            "broker_transport_options": broker_options,
            "result_backend_transport_options": {},
        }
    sentinel_options: dict[str, Any] = {"master_name": settings.redis_sentinel_master}
    if settings.redis_sentinel_password:
        sentinel_options["sentinel_kwargs"] = {
            "password": settings.redis_sentinel_password.get_secret_value()
        }
    config: dict[str, Any] = {
        # kombu moves to the next Sentinel's URL when one fails and takes that URL's password
        # (a separate broker_password is lost at the first switch), so each part carries it;
        # Celery masks it (`:**@`) wherever it prints the URL.
        "broker_url": sentinel_url(settings, with_password=bool(settings.redis_password)),
        # The result backend reads the password from its own setting: not in this URL.
        "result_backend": sentinel_url(settings),
        "redis_password": settings.redis_password.get_secret_value() or None,
        "broker_transport_options": dict(sentinel_options),
        "result_backend_transport_options": dict(sentinel_options),
        "redis_socket_connect_timeout": CONNECT_TIMEOUT,
        # Publishing (the bot enqueuing an order, a step enqueuing the next) retries until a
        # master is found again rather than failing in the middle of a failover.
        "task_publish_retry_policy": {
            "max_retries": retries_for(settings.redis_failover_timeout),
            "interval_start": 0,
            "interval_step": 0.5,
            "interval_max": BACKOFF_CAP,
        },
    }
    return config


def redbeat_settings(settings: Settings) -> dict[str, Any]:
    """RedBeat's Redis: its URL (no password in it) and options."""
    if not sentinel_mode(settings):
        return {"redbeat_redis_url": settings.redis_url}
    options: dict[str, Any] = {
        "sentinels": list(settings.redis_sentinels),
        "service_name": settings.redis_sentinel_master,
        "db": settings.redis_db,
        "socket_timeout": COMMAND_TIMEOUT,
        # No `retry_period`: it covers only some of RedBeat's calls (not the lock, not its
        # pipelines); the scheduler (tasks.beat) rides out a failover tick by tick instead.
        "sentinel_kwargs": sentinel_kwargs(settings),
    }
    if settings.redis_password:
        options["password"] = settings.redis_password.get_secret_value()
    return {"redbeat_redis_url": "redis-sentinel://", "redbeat_redis_options": options}


@dataclass
class FenceResult:
    """What a fence saw: how many replicas hold our writes, and which master answered."""

    replicas: int
    master_id: str


class ReplicaFence:
    """Waits until `wanted` replicas hold every write made so far (Redis WAIT).

    WAIT counts the writes of its own connection, so the fence writes a key and waits on the
    same connection: replication is one ordered stream, so a replica past that write holds
    every earlier write too, whichever client made it. While the master has fewer replicas
    than wanted (after a failover, until the old master returns as a replica) there is
    nothing to wait for, and the fence only notes the master.
    """

    def __init__(self, client: redis.Redis, wanted: int, timeout: float) -> None:
        self.client = client
        self.wanted = wanted
        self.timeout_ms = max(1, int(timeout * 1000))
        self._connected = wanted  # replicas the master had at the last look
        self._warned = 0.0
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, client: redis.Redis, settings: Settings) -> ReplicaFence:
        wanted = settings.redis_wait_replicas if sentinel_mode(settings) else 0
        return cls(client, wanted, settings.redis_wait_timeout)

    @property
    def enabled(self) -> bool:
        return self.wanted > 0

    def master_id(self) -> str:
        """The answering master's replication id (it changes when a replica is promoted)."""
        if not self.enabled:
            return ""
        return str(self.client.info("replication").get("master_replid", ""))

    def __call__(self) -> FenceResult:
        """Wait (bounded) for the replicas; what was seen. A no-op when disabled."""
        if not self.enabled:
            return FenceResult(0, "")
        wait = self._connected >= self.wanted
        pipe = self.client.pipeline(transaction=False)
        pipe.incr(FENCE_KEY)
        pipe.info("replication")
        if wait:
            pipe.execute_command("WAIT", self.wanted, self.timeout_ms)
        replies = pipe.execute()
        info: dict[str, Any] = replies[1]
        self._connected = int(info.get("connected_slaves", 0))
        acked = int(replies[2]) if wait else 0
        if acked < self.wanted:
            self._warn(acked)
        return FenceResult(acked, str(info.get("master_replid", "")))

    def _warn(self, acked: int) -> None:
        with self._lock:
            now = time.monotonic()
            if now - self._warned < 60:
                return
            self._warned = now
        log.warning(
            "redis: %d of %d replicas confirmed the last writes; until a replica is back a "
            "master failure can lose them",
            acked,
            self.wanted,
        )
