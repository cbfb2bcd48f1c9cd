"""A worker's consumer follows a Sentinel failover, even away from a master that went silent.

A killed Redis has its sockets reset, and the consumer reconnects by itself. A master whose
machine is lost, frozen or cut off closes nothing: the consumer's BRPOP waits on it. kombu's
health check drops that connection after a while, yet the consumer was seen to stay idle
for minutes afterwards, while the orders' queue filled on the new master
(tests/e2e/test_failover_frozen.py). So, with Sentinel, a thread asks the Sentinels for the
master every `LOOK_EVERY` seconds. When they name another master than the one they named as
the consumer connected, a timer in the consumer's event loop raises a connection error, and
Celery reconnects the consumer, as after a reset socket: kombu asks the Sentinels, and finds
the new master.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, ClassVar

import redis
import redis.sentinel
from celery import bootsteps

from core import redisconn
from tasks import app, clients

log = logging.getLogger(__name__)

LOOK_EVERY = 2.0

Address = tuple[str, int]


class MasterWatch:
    """The master the Sentinels name, looked up in a thread of its own (a Sentinel that does
    not answer must not hold the consumer's event loop)."""

    def __init__(self) -> None:
        settings = clients.settings()
        self.name = settings.redis_sentinel_master
        self.sentinel = redis.sentinel.Sentinel(
            list(settings.redis_sentinels), sentinel_kwargs=redisconn.sentinel_kwargs(settings)
        )
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
        while not self._stop.wait(LOOK_EVERY):
            self.ask()


class FollowMaster(bootsteps.StartStopStep):
    """A consumer step: started again with each connection, so `connected_to` is the master
    of the consumer's current connection."""

    requires: ClassVar[set[str]] = {"celery.worker.consumer.connection:Connection"}
    watch: ClassVar[MasterWatch | None] = None

    def __init__(self, consumer: Any, **kwargs: Any) -> None:
        self.tref: Any = None
        self.connected_to: Address | None = None

    def include_if(self, consumer: Any) -> bool:
        return redisconn.sentinel_mode(clients.settings())

    def start(self, consumer: Any) -> None:
        if FollowMaster.watch is None:
            FollowMaster.watch = MasterWatch()
        watch = FollowMaster.watch
        watch.start()
        # Asked now, not the thread's last answer: a consumer that reconnected by itself
        # after a failover is on the new master already, and must not be moved again.
        self.connected_to = watch.ask()
        self.tref = consumer.timer.call_repeatedly(LOOK_EVERY, self.check, priority=10)

    def stop(self, consumer: Any) -> None:
        if self.tref is not None:
            self.tref.cancel()
            self.tref = None

    def shutdown(self, consumer: Any) -> None:
        self.stop(consumer)
        if FollowMaster.watch is not None:
            FollowMaster.watch.stop()

    def check(self) -> None:
        """In the consumer's event loop: a connection error (which Celery answers by
        reconnecting) once the Sentinels name another master than the consumer's."""
        named = FollowMaster.watch.master if FollowMaster.watch else None
        if self.connected_to is None:
            self.connected_to = named  # no Sentinel answered at the start: take the first
            return
        if named is not None and named != self.connected_to:
            moved_from, self.connected_to = self.connected_to, named
            log.warning(
                "redis: the Sentinels moved the master from %s:%s to %s:%s; reconnecting",
                *moved_from,
                *named,
            )
            raise redis.ConnectionError(
                f"the Redis master moved to {named[0]}:{named[1]} (Sentinel failover)"
            )


app.steps["consumer"].add(FollowMaster)
