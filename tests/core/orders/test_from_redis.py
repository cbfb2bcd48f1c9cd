"""The upgrade: orders of the Redis order store copied into the database once each."""

from __future__ import annotations

import redis

from core.db.engine import Database
from core.orders.from_redis import OLD_ORDER_PREFIX, copy_orders
from core.orders.model import Order
from core.orders.states import OrderState
from core.orders.store import OrderStore


def old_order(client: redis.Redis, order: Order) -> None:
    """An order hash as round two's store wrote it."""
    for name, value in order.to_redis().items():
        client.hset(f"{OLD_ORDER_PREFIX}{order.id}", name, value)


def test_old_orders_are_copied_once_with_their_state(redis_url: str, sqlite_db: Database) -> None:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    done = Order("P-AAAAAA", 10, 7, "2 pizzas", OrderState.COMPLETADO, 3, 100, 1.0, 5.0, 5.0)
    running = Order("P-BBBBBB", 11, 8, "1 flan", OrderState.PREPARANDO_ENVIO, 2, 66, 2.0, 3.0)
    for order in (done, running):
        old_order(client, order)
    client.hset(f"{OLD_ORDER_PREFIX}P-CCCCCC", mapping={"id": "P-CCCCCC"})  # damaged
    store = OrderStore(sqlite_db)

    first = copy_orders(client, store)
    again = copy_orders(client, store)

    assert (first.copied, first.skipped, first.unreadable) == (2, 0, 1)
    assert (again.copied, again.skipped) == (0, 2)
    copied = store.get("P-AAAAAA")
    assert (copied.state, copied.text, copied.finished_at) == (
        OrderState.COMPLETADO,
        "2 pizzas",
        5.0,
    )
    assert store.get("P-BBBBBB").state is OrderState.PREPARANDO_ENVIO
    assert store.history("P-BBBBBB")[-1].note.startswith("copiado")
    assert [o.id for o in store.recent(11)] == ["P-BBBBBB"]
