"""The upgrade from the Redis order store (round two) to the system of record: every order
hash `pedidos:order:{id}` copied into the database once, with a history row saying so. Run
again, it copies nothing twice (an id already issued is skipped), so it can be re-run after
an interruption, or while old processes still drain their last orders."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import redis
from sqlalchemy import select

from core.db.models import IssuedOrderId
from core.orders.model import Order
from core.orders.rows import insert_order, record_change, remember_customer
from core.orders.store import OrderStore
from core.redisio import as_strings

OLD_ORDER_PREFIX = "pedidos:order:"
BATCH = 500


@dataclass
class Copied:
    copied: int = 0
    skipped: int = 0
    unreadable: int = 0


def _old_orders(client: redis.Redis) -> Iterator[list[Order | None]]:
    keys: list[str] = []
    for key in as_strings(client.scan_iter(match=f"{OLD_ORDER_PREFIX}*", count=1000)):
        keys.append(key)
        if len(keys) >= BATCH:
            yield _read(client, keys)
            keys = []
    if keys:
        yield _read(client, keys)


def _read(client: redis.Redis, keys: list[str]) -> list[Order | None]:
    pipe = client.pipeline(transaction=False)
    for key in keys:
        pipe.hgetall(key)
    found: list[Order | None] = []
    for raw in pipe.execute():
        flat = dict(zip(as_strings(raw.keys()), as_strings(raw.values()), strict=True))
        try:
            found.append(Order.from_redis(flat))
        except (KeyError, TypeError, ValueError):
            found.append(None)
    return found


def copy_orders(client: redis.Redis, store: OrderStore) -> Copied:
    """Copy every Redis order not yet in the database (in batches, one transaction each)."""
    counts = Copied()
    for batch in _old_orders(client):
        orders = [o for o in batch if o is not None]
        counts.unreadable += len(batch) - len(orders)
        with store.db.transaction() as session:
            known = set(
                session.scalars(
                    select(IssuedOrderId.id).where(IssuedOrderId.id.in_([o.id for o in orders]))
                )
            )
            for order in orders:
                if order.id in known:
                    counts.skipped += 1
                    continue
                insert_order(session, order, source=None, actor="system")
                record_change(session, order.id, order.updated_at, order.state, "system", NOTE)
                remember_customer(session, order)
                counts.copied += 1
    return counts


NOTE = "copiado del almacén de pedidos en Redis"
