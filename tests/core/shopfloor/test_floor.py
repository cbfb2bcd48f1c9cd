"""The shop floor's store side, on SQLite and PostgreSQL: cards found by order and by
message, presses as one conditional move (two at once: one wins, the other learns who), the
moves a card offers, /cola and /buscar; and who counts as staff."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import update

from core.db.engine import Database
from core.db.models import OrderRow
from core.orders.model import Order
from core.orders.states import OrderState
from core.orders.store import OrderStore
from core.shopfloor import board
from core.shopfloor.access import StaffAccess
from core.shopfloor.board import Card
from core.shopfloor.moves import Action, Outcome, next_moves, press
from tasks.orders import remaining_steps, steps_left


@pytest.fixture
def store(database_url: str) -> Iterator[OrderStore]:
    db = Database(database_url)
    yield OrderStore(db)
    db.dispose()


def waiting(store: OrderStore, name: str = "", phone: str = "", source: int = 1) -> Order:
    """An order handed to the staff (por_aceptar), with the customer checkout recorded."""
    order, _ = store.create(chat_id=10, user_id=7, text="2 pizzas", source_message_id=source)
    for state in (OrderState.VALIDANDO_PAGO, OrderState.PREPARANDO_ENVIO, OrderState.POR_ACEPTAR):
        store.move(order.id, state)
    with store.db.transaction() as session:
        session.execute(
            update(OrderRow)
            .where(OrderRow.id == order.id)
            .values(customer_name=name, customer_phone=phone)
        )
    return store.get(order.id)


def test_a_card_is_found_by_its_order_and_by_its_message(store: OrderStore) -> None:
    order = waiting(store)
    assert board.card_of(store.db, order.id) is None
    board.record_card(store.db, Card(order.id, -100, 41), now=1.0)
    assert board.card_of(store.db, order.id) == Card(order.id, -100, 41)
    assert board.order_of_card(store.db, -100, 41) == order.id
    # Posted again (/cola's Abrir): the new message is the card, the old one no longer.
    board.record_card(store.db, Card(order.id, 55, 3), now=2.0)
    assert board.order_of_card(store.db, -100, 41) is None
    assert board.order_of_card(store.db, 55, 3) == order.id


def test_a_press_claims_a_card_not_yet_recorded_and_never_an_older_one(store: OrderStore) -> None:
    order = waiting(store)
    # Pressed before the worker recorded it: the pressed message becomes the card.
    assert board.claim_card(store.db, Card(order.id, -100, 41), now=1.0)
    assert board.card_of(store.db, order.id) == Card(order.id, -100, 41)
    # The worker's record of the same card, and a press on it again: still the card.
    board.record_card(store.db, Card(order.id, -100, 41), now=2.0)
    assert board.claim_card(store.db, Card(order.id, -100, 41), now=3.0)
    # An older card of the order (posted again since): not the card, and nothing changes.
    board.record_card(store.db, Card(order.id, -100, 57), now=4.0)
    assert not board.claim_card(store.db, Card(order.id, -100, 41), now=5.0)
    assert board.card_of(store.db, order.id) == Card(order.id, -100, 57)


def test_a_press_and_the_workers_record_at_once_agree_on_the_card(store: OrderStore) -> None:
    """The worker records the card while presses on it arrive: every press finds it is the
    card (no moment in which it looks like an older one), and one row remains."""
    order = waiting(store)
    card = Card(order.id, -100, 41)
    with ThreadPoolExecutor(max_workers=4) as pool:
        records = [pool.submit(board.record_card, store.db, card, 1.0) for _ in range(4)]
        claims = [pool.submit(board.claim_card, store.db, card, 1.0) for _ in range(8)]
        assert all(claim.result() for claim in claims)
        for record in records:
            record.result()
    assert board.card_of(store.db, order.id) == card


def test_two_presses_at_once_make_one_move_and_the_other_learns_who(store: OrderStore) -> None:
    order = waiting(store)

    def tap(user: int) -> Outcome:
        return press(store, order.id, OrderState.ACEPTADO, user, f"User {user}", False).outcome

    with ThreadPoolExecutor(6) as pool:
        outcomes = list(pool.map(tap, range(1, 7)))
    assert outcomes.count(Outcome.MOVED) == 1
    winner = outcomes.index(Outcome.MOVED) + 1
    late = press(store, order.id, OrderState.ACEPTADO, 99, "Late", False)
    assert (late.outcome, late.by) == (Outcome.TAKEN, f"User {winner}")
    staff_rows = [e for e in store.history(order.id) if e.actor.startswith("staff:")]
    assert [(e.to_state, e.actor) for e in staff_rows] == [("aceptado", f"staff:{winner}")]


def test_a_move_the_card_does_not_offer_changes_nothing(store: OrderStore) -> None:
    order = waiting(store)
    skipped = press(store, order.id, OrderState.LISTO, 1, "Ana", False)
    assert skipped.outcome is Outcome.TAKEN
    assert store.get(order.id).state is OrderState.POR_ACEPTAR
    rejected = press(store, order.id, OrderState.CANCELADO, 1, "Ana", False, "Sin existencias")
    assert rejected.outcome is Outcome.MOVED
    assert store.history(order.id)[-1].note == "Ana: Sin existencias"


def test_pickup_skips_en_reparto_and_delivery_does_not(store: OrderStore) -> None:
    order = waiting(store)
    for state in (OrderState.ACEPTADO, OrderState.EN_PREPARACION, OrderState.LISTO):
        store.move(order.id, state)
    ready = store.get(order.id)
    assert next_moves(ready, delivery=False) == [Action.DELIVERED, Action.REJECT]
    assert next_moves(ready, delivery=True) == [Action.OUT, Action.REJECT]


def test_queue_is_oldest_first_and_search_finds_names_phones_and_ids(store: OrderStore) -> None:
    first = waiting(store, "Marta Gil", "+34611222333", source=1)
    second = waiting(store, "Luis Sanz", "+34699000111", source=2)
    assert [o.id for o in board.open_orders(store.db, 10)] == [first.id, second.id]
    assert [o.id for o in board.search(store.db, "marta", 10)] == [first.id]
    assert [o.id for o in board.search(store.db, "699 000 111", 10)] == [second.id]
    assert [o.id for o in board.search(store.db, second.id.lower(), 10)] == [second.id]
    assert [o.id for o in board.search(store.db, second.id[2:], 10)] == [second.id]


def test_orders_waiting_for_people_are_not_run_again_by_recovery(store: OrderStore) -> None:
    order = waiting(store)
    # por_aceptar: preparar_envio again (it posts the card only if none was posted).
    assert steps_left(store.get(order.id)) == 2 and remaining_steps(store.get(order.id)) == 1
    for state in (OrderState.ACEPTADO, OrderState.EN_PREPARACION, OrderState.LISTO):
        store.move(order.id, state)
        assert steps_left(store.get(order.id)) == 0
    store.move(order.id, OrderState.ENTREGADO)
    assert steps_left(store.get(order.id)) == 1  # notificar_cliente


def test_staff_are_listed_users_or_admins_never_anonymous_senders() -> None:
    now = [0.0]
    access = StaffAccess(frozenset({5}), chat_id=-100, ttl=60, clock=lambda: now[0])
    assert access.verdict(5) is True
    assert access.verdict(1087968824) is False  # GroupAnonymousBot
    assert access.verdict(6, sender_chat_id=-100) is False  # written as the group
    assert access.verdict(6) is None  # ask the staff chat
    assert access.remember(6, "administrator") is True
    assert access.verdict(6) is True
    now[0] = 61.0
    assert access.verdict(6) is None  # asked again after a minute
    assert access.remember(6, "member") is False and access.verdict(6) is False
    assert StaffAccess(frozenset({5}), chat_id=0).verdict(5) is False  # no staff chat
