"""The order store's contract, on SQLite and on PostgreSQL: conditional changes with their
history, re-delivery, listing, unique ids for ever."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from core.db.engine import Database
from core.db.models import Customer, IssuedOrderId
from core.orders.rows import SYSTEM, Placement, insert_order
from core.orders.states import InvalidTransition, OrderState
from core.orders.store import OrderNotFound, OrderStore, staff


@pytest.fixture
def store(database_url: str) -> Iterator[OrderStore]:
    db = Database(database_url)
    yield OrderStore(db)
    db.dispose()


def test_created_order_is_pending_listed_and_in_its_history(store: OrderStore) -> None:
    order, created = store.create(chat_id=10, user_id=7, text="2 pizzas", source_message_id=1)
    assert created
    stored = store.get(order.id)
    assert stored.state is OrderState.PENDIENTE and stored.text == "2 pizzas"
    assert [o.id for o in store.recent(10)] == [order.id]
    [event] = store.history(order.id)
    assert (event.from_state, event.to_state, event.actor) == ("", "pendiente", "customer:7")


def test_a_customer_who_orders_in_another_language_is_spoken_to_in_it(store: OrderStore) -> None:
    store.create(chat_id=10, user_id=7, text="2 pizzas", source_message_id=1, language="es")
    store.create(chat_id=10, user_id=7, text="2 pizzas", source_message_id=2, language="en")
    with store.db.reading() as session:
        assert session.scalars(select(Customer.language).where(Customer.user_id == 7)).one() == "en"


def test_redelivered_update_does_not_create_a_second_order(store: OrderStore) -> None:
    first, _ = store.create(chat_id=10, user_id=7, text="2 pizzas", source_message_id=5)
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: store.create(10, 7, "2 pizzas", 5), range(8)))
    assert {order.id for order, _ in results} == {first.id}
    assert not any(created for _, created in results)
    assert store.count(10) == 1


def test_the_same_message_placed_at_once_by_two_replicas_makes_one_order(
    store: OrderStore,
) -> None:
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: store.create(11, 7, "x", 9), range(8)))
    assert len({order.id for order, _ in results}) == 1
    assert [created for _, created in results].count(True) == 1


def test_other_chats_orders_do_not_exist(store: OrderStore) -> None:
    order, _ = store.create(chat_id=10, user_id=7, text="x", source_message_id=1)
    assert store.find(order.id, 10) is not None
    assert store.find(order.id, 11) is None
    assert store.find("P-ZZZZZZ", 10) is None
    with pytest.raises(OrderNotFound):
        store.get("P-ZZZZZZ")


def test_transitions_are_conditional_and_idempotent(store: OrderStore) -> None:
    order, _ = store.create(chat_id=10, user_id=7, text="x", source_message_id=1)
    with ThreadPoolExecutor(8) as pool:
        moved = list(pool.map(lambda _: store.move(order.id, OrderState.VALIDANDO_PAGO), range(8)))
    assert moved.count(True) == 1
    with pytest.raises(InvalidTransition):
        store.move(order.id, OrderState.COMPLETADO)
    # One history row per change made, none for the refused or repeated ones.
    assert [e.to_state for e in store.history(order.id)] == ["pendiente", "validando_pago"]


def test_history_names_who_made_each_change(store: OrderStore) -> None:
    order, _ = store.create(chat_id=10, user_id=7, text="x", source_message_id=1)
    store.advance(order.id, OrderState.CANCELADO, staff(99), "sin stock")
    last = store.history(order.id)[-1]
    assert (last.from_state, last.to_state, last.actor, last.note) == (
        "pendiente",
        "cancelado",
        "staff:99",
        "sin stock",
    )


def test_each_change_comes_from_the_state_the_one_before_reached(store: OrderStore) -> None:
    # The `from` of a change is read in the transition's own statement (RETURNING): each
    # history row must name the state the previous row moved the order to.
    order, _ = store.create(chat_id=10, user_id=7, text="x", source_message_id=1)
    chain = [OrderState.VALIDANDO_PAGO, OrderState.PREPARANDO_ENVIO, OrderState.NOTIFICANDO]
    for state in chain:
        store.move(order.id, state)
    store.move(order.id, OrderState.COMPLETADO, progress=100)
    history = store.history(order.id)
    assert [(e.from_state, e.to_state) for e in history] == [
        ("", "pendiente"),
        ("pendiente", "validando_pago"),
        ("validando_pago", "preparando_envio"),
        ("preparando_envio", "notificando"),
        ("notificando", "completado"),
    ]
    assert [e.at for e in history] == sorted(e.at for e in history)


def test_finished_order_has_its_finish_time_and_is_not_stale(store: OrderStore) -> None:
    order, _ = store.create(chat_id=10, user_id=7, text="x", source_message_id=1)
    for state in (OrderState.VALIDANDO_PAGO, OrderState.PREPARANDO_ENVIO, OrderState.NOTIFICANDO):
        store.move(order.id, state)
    store.move(order.id, OrderState.COMPLETADO, progress=100)
    done = store.get(order.id)
    assert done.state is OrderState.COMPLETADO and done.finished_at > 0 and done.step == 3
    assert store.stale(cutoff=done.created_at + 1, limit=10) == (0, [])


def test_cancelled_order_cannot_complete(store: OrderStore) -> None:
    order, _ = store.create(chat_id=10, user_id=7, text="x", source_message_id=1)
    store.move(order.id, OrderState.CANCELADO)
    with pytest.raises(InvalidTransition):
        store.move(order.id, OrderState.VALIDANDO_PAGO)
    assert store.get(order.id).progress == 0


def test_fields_and_extra_are_kept(store: OrderStore) -> None:
    order, _ = store.create(chat_id=10, user_id=7, text="x", source_message_id=1)
    store.set_fields(order.id, status_message_id=55, task_id="t-1", note="algo")
    found = store.get(order.id)
    assert (found.status_message_id, found.task_id, found.extra) == (55, "t-1", {"note": "algo"})


def test_an_order_id_is_never_issued_twice_even_after_its_order_is_deleted(
    store: OrderStore,
) -> None:
    order, _ = store.create(chat_id=10, user_id=7, text="x", source_message_id=1)
    store.move(order.id, OrderState.CANCELADO)
    finished = store.get(order.id).finished_at
    assert store.delete_finished_before(finished, 10, paid_cutoff=finished) == 1
    with pytest.raises(OrderNotFound):
        store.get(order.id)
    with store.db.reading() as session:
        assert session.scalar(select(IssuedOrderId.id).where(IssuedOrderId.id == order.id))
    again = store.new(10, 7, "y", "es")
    again.id = order.id
    with pytest.raises(IntegrityError), store.db.transaction() as session:
        insert_order(session, again, "src:1", SYSTEM)


def test_an_order_the_staff_place_waits_for_its_customer_under_its_own_source(
    store: OrderStore,
) -> None:
    placed = Placement("import:row:a", staff(5), OrderState.POR_CONFIRMAR, "", (("k", "v"),))
    first, created = store.create(10, 10, "x", 0, "es", placed=placed)
    again, created_again = store.create(10, 10, "x", 0, "es", placed=placed)
    assert created and not created_again and again.id == first.id
    assert first.state is OrderState.POR_CONFIRMAR and first.extra["k"] == "v"
    assert [(e.to_state, e.actor) for e in store.history(first.id)] == [
        ("por_confirmar", "staff:5")
    ]


def test_created_between_pages_through_every_order(store: OrderStore) -> None:
    made = {store.create(10, 7, f"o{i}", i)[0].id for i in range(7)}
    pages = list(store.created_between(0, 10**12, batch=3))
    assert [len(p) for p in pages] == [3, 3, 1]
    assert {o.id for page in pages for o in page} == made


def test_a_group_upgraded_to_a_supergroup_takes_its_orders(store: OrderStore) -> None:
    order, _ = store.create(chat_id=-5, user_id=7, text="x", source_message_id=1)
    store.set_fields(order.id, status_message_id=3)
    assert store.move_chat(-5, -1005) == 1
    moved = store.get(order.id)
    assert (moved.chat_id, moved.status_message_id) == (-1005, 0)
