"""The order store against a real redis-server: atomic changes, indexes, re-delivery."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
import redis

from core.orders.states import InvalidTransition, OrderState
from core.orders.store import OrderStore


@pytest.fixture
def store(redis_url: str) -> OrderStore:
    return OrderStore(redis.Redis.from_url(redis_url, decode_responses=True))


def test_created_order_is_pending_and_listed(store: OrderStore) -> None:
    order, created = store.create(chat_id=10, user_id=7, text="2 pizzas", source_message_id=1)
    assert created
    stored = store.get(order.id)
    assert stored.state is OrderState.PENDIENTE and stored.text == "2 pizzas"
    assert [o.id for o in store.recent(10)] == [order.id]
    assert store.redis.zscore(store.OPEN_KEY, order.id) is not None


def test_redelivered_update_does_not_create_a_second_order(store: OrderStore) -> None:
    first, _ = store.create(chat_id=10, user_id=7, text="2 pizzas", source_message_id=5)
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: store.create(10, 7, "2 pizzas", 5), range(8)))
    assert {order.id for order, _ in results} == {first.id}
    assert not any(created for _, created in results)
    assert store.count(10) == 1


def test_other_chats_orders_do_not_exist(store: OrderStore) -> None:
    order, _ = store.create(chat_id=10, user_id=7, text="x", source_message_id=1)
    assert store.find(order.id, 10) is not None
    assert store.find(order.id, 11) is None
    assert store.find("P-ZZZZZZ", 10) is None


def test_transitions_are_atomic_and_idempotent(store: OrderStore) -> None:
    order, _ = store.create(chat_id=10, user_id=7, text="x", source_message_id=1)
    with ThreadPoolExecutor(8) as pool:
        moved = list(pool.map(lambda _: store.move(order.id, OrderState.VALIDANDO_PAGO), range(8)))
    assert moved.count(True) == 1
    with pytest.raises(InvalidTransition):
        store.move(order.id, OrderState.COMPLETADO)


def test_finished_order_leaves_the_open_index(store: OrderStore) -> None:
    order, _ = store.create(chat_id=10, user_id=7, text="x", source_message_id=1)
    for state in (OrderState.VALIDANDO_PAGO, OrderState.PREPARANDO_ENVIO, OrderState.NOTIFICANDO):
        store.move(order.id, state)
    store.move(order.id, OrderState.COMPLETADO, progress=100)
    done = store.get(order.id)
    assert done.state is OrderState.COMPLETADO and done.finished_at > 0 and done.step == 3
    assert store.redis.zscore(store.OPEN_KEY, order.id) is None


def test_cancelled_order_cannot_complete(store: OrderStore) -> None:
    order, _ = store.create(chat_id=10, user_id=7, text="x", source_message_id=1)
    store.move(order.id, OrderState.CANCELADO)
    with pytest.raises(InvalidTransition):
        store.move(order.id, OrderState.VALIDANDO_PAGO)
    assert store.get(order.id).progress == 0
