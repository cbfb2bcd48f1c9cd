"""Which Redis the queued work lives in: an epoch id written once into Redis.

Orders are in the database, their queued Celery messages in Redis. Each order records the
epoch its chain was queued in (`orders.queued_epoch`). A Redis that lost its data (FLUSHALL, a
new empty server, a restore) has no epoch, or a new one: every unfinished order queued in
another epoch lost its messages with it, and the recovery sweep queues it again from the
step it is in (core.orders.store.OrderStore.lost_in, tasks.orders.resume_lost_orders). A
restart with AOF, or a Sentinel failover, keeps the key: nothing is queued twice.
"""

from __future__ import annotations

import secrets

import redis

EPOCH_KEY = "pedidos:recovery:epoch"


def current(client: redis.Redis) -> str:
    """This Redis's epoch, made on first use (every process agrees: SET NX)."""
    found = client.get(EPOCH_KEY)
    if found:
        return str(found.decode() if isinstance(found, bytes) else found)
    client.set(EPOCH_KEY, secrets.token_hex(8), nx=True)
    again = client.get(EPOCH_KEY)
    return str(again.decode() if isinstance(again, bytes) else again)
