"""A worker follows a Sentinel failover, even away from a master that went silent.

A killed Redis has its sockets reset, and the consumer reconnects by itself. A master whose
machine is lost, frozen or cut off closes nothing: the consumer's BRPOP waits on it. kombu's
health check drops that connection after a while, yet the consumer was seen to stay idle
for minutes afterwards, while the orders' queue filled on the new master
(tests/e2e/test_failover_frozen.py). So, with Sentinel, a watch (core.sentinel_watch) asks the
Sentinels for the master every `LOOK_EVERY` seconds. When they name another master than the
one they named as the consumer connected, a timer in the consumer's event loop drops the
process's connections to the old master and raises a connection error, and Celery reconnects
the consumer, as after a reset socket: kombu asks the Sentinels, and finds the new master.
Each pool process runs a watch of its own, for its own connections (results, publish,
leases).
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

import redis
from celery import bootsteps
from celery.signals import worker_process_init

from core import redisconn
from core.sentinel_watch import LOOK_EVERY, Address, MasterWatch, drop_stale_connections, follow
from tasks import app, clients

log = logging.getLogger(__name__)


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
            # Our own clients are told from the watch's thread: the sweep and the embedded
            # beat use them in this process, the sweep inside the consumer's event loop, which
            # would not reach `check` while its command waits on the old master. kombu's
            # connections are dropped in that loop, by `check`.
            FollowMaster.watch = follow(clients.settings(), ours_only=True)
        watch = FollowMaster.watch
        if watch is None:
            return
        # Asked now, not the thread's last answer: a consumer that reconnected by itself
        # after a failover is on the new master already, and must not be moved again.
        self.connected_to = watch.ask()
        self.tref = consumer.timer.call_repeatedly(LOOK_EVERY, self.check, (consumer,), priority=10)

    def stop(self, consumer: Any) -> None:
        if self.tref is not None:
            self.tref.cancel()
            self.tref = None

    def shutdown(self, consumer: Any) -> None:
        self.stop(consumer)
        if FollowMaster.watch is not None:
            FollowMaster.watch.stop()

    def check(self, consumer: Any) -> None:
        """In the consumer's event loop: a connection error (which Celery answers by
        reconnecting) once the Sentinels name another master than the consumer's."""
        watch = FollowMaster.watch
        named = watch.master if watch else None
        if self.connected_to is None:
            self.connected_to = named  # no Sentinel answered at the start: take the first
            return
        if watch is None or named is None or named == self.connected_to:
            return
        moved_from, self.connected_to = self.connected_to, named
        log.warning(
            "redis: the Sentinels moved the master from %s:%s to %s:%s; reconnecting",
            *moved_from,
            *named,
        )
        # The consumer's BRPOP waits on the old master: closing the channel would first read
        # its reply, one socket timeout. Dropped here, in the loop that owns it, the close
        # reads nothing; a message the old master still held is the new master's anyway.
        channel = getattr(consumer.task_consumer, "channel", None)
        polling = getattr(channel, "_in_poll", None)
        if polling is not None:
            polling.disconnect()
        drop_stale_connections(watch.name)
        raise redis.ConnectionError(
            f"the Redis master moved to {named[0]}:{named[1]} (Sentinel failover)"
        )


app.steps["consumer"].add(FollowMaster)


@worker_process_init.connect(weak=False)
def _follow_in_pool_process(**_: object) -> None:
    """Each pool process's own pools (results, publish, leases) leave a silent master as soon
    as the Sentinels name another (core.sentinel_watch)."""
    follow(clients.settings())
