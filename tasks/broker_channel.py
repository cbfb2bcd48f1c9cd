"""A kombu Redis channel used after its connection was collected fails as a lost connection,
not with an AttributeError that ends the worker.

Seen when the Sentinels fail the master over while a worker runs a task (killed master,
tests/e2e/test_failover.py): Celery's consumer answers the connection error by collecting the
connection, which closes its default channel and then drops the transport's reference to the
connection. That first close stopped early (reading the BRPOP reply from the dead master),
so the channel was still open when Celery closed the connection a second time: the channel's
close then restores its unacked messages through a new pool, whose parameters come from the
dropped connection (`'NoneType' object has no attribute 'hostname'` in kombu's
`_connparams`). Celery lets only connection errors through there, so the worker exited
("Unrecoverable error"); later, an ack on that channel would fail the same way.

So a channel whose connection is gone raises redis' ConnectionError instead, which kombu and
Celery treat as the lost connection it is: the close and the ack are given up on and logged,
and the consumer reconnects to the new master. The unacked messages stay in Redis, where the
leases and the holding sweep (tasks.recovery, tasks.holding) bring them back, and their steps
run once.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import redis
from kombu.transport import redis as kombu_redis


def _connection_kept(connparams: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(connparams)
    def _connparams(self: Any, asynchronous: bool = False) -> Any:
        if self.connection is None or self.connection.client is None:
            raise redis.ConnectionError("this broker channel's connection was closed")
        return connparams(self, asynchronous)

    _connparams.keeps_the_connection = True  # type: ignore[attr-defined]
    return _connparams


if not getattr(kombu_redis.Channel._connparams, "keeps_the_connection", False):
    kombu_redis.Channel._connparams = _connection_kept(kombu_redis.Channel._connparams)  # type: ignore[method-assign]
