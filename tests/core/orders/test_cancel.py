"""Cancelling on the real system of record (SQLite and PostgreSQL): one final state, told
once, steps that stop."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, cast

import pytest

from core.db.engine import Database
from core.keyboards import sign
from core.orders.cancel import CancelOutcome, cancel_order, task_ids, tell_cancelled
from core.orders.fulfilment import Fulfilment
from core.orders.model import Order
from core.orders.payment import PaymentClient
from core.orders.states import STEPS, OrderState
from core.orders.store import OrderStore
from core.telegram.courier import Courier

CHAT, USER = 10, 7


@dataclass
class FakeCourier:
    """Records what the chat would see: sends by key (once each) and the latest edit."""

    sent: dict[str, str] = field(default_factory=dict)
    edits: list[tuple[str, dict[str, Any] | None]] = field(default_factory=list)

    def send(self, chat_id: int, text: str, *, key: str, **_: Any) -> int:
        self.sent.setdefault(key, text)
        return 100

    def edit(
        self, chat_id: int, message_id: int, text: str, *, reply_markup: Any = None, **_: Any
    ) -> int:
        self.edits.append((text, reply_markup))
        return message_id

    def shown(self) -> str:
        return self.edits[-1][0]


@pytest.fixture
def store(database_url: str) -> Iterator[OrderStore]:
    db = Database(database_url)
    yield OrderStore(db)
    db.dispose()


_sources = itertools.count(1)


def fulfilment(
    store: OrderStore, courier: FakeCourier, during_work: Callable[[], None]
) -> Fulfilment:
    return Fulfilment(
        store=store,
        courier=cast(Courier, courier),
        payment=PaymentClient("", 1.0),
        step_seconds=1.0,
        sleep=lambda _: during_work(),
    )


def new_order(store: OrderStore) -> Order:
    source = next(_sources)  # each order from its own message
    order, _ = store.create(CHAT, USER, "2 pizzas", source_message_id=source)
    store.set_fields(order.id, status_message_id=50)
    return order


def run_chain(f: Fulfilment, order_id: str) -> None:
    def report(*_: object) -> None:
        return None

    f.validar_pago(order_id, report)
    f.preparar_envio(order_id, report)
    f.notificar_cliente(order_id, report)


@pytest.mark.parametrize("step", [1, 2, 3])
def test_a_cancel_during_a_step_stops_the_chain(store: OrderStore, step: int) -> None:
    courier = FakeCourier()
    order = new_order(store)
    works = 0

    def during_work() -> None:
        nonlocal works
        works += 1
        if works == step:
            result = cancel_order(store, order.id, CHAT, USER)
            assert result.outcome is CancelOutcome.CANCELLED
            tell_cancelled(f, order.id)

    f = fulfilment(store, courier, during_work)
    run_chain(f, order.id)

    assert works == step  # no step after the cancelled one did its work
    assert store.get(order.id).state is OrderState.CANCELADO
    assert list(courier.sent) == [f"order:{order.id}:cancelled"]
    text, keyboard = courier.edits[-1]
    assert "Estado: cancelado" in text
    assert keyboard == {
        "inline_keyboard": [
            [{"text": "Actualizar", "callback_data": sign(order.chat_id, f"o:r:{order.id}")}]
        ]
    }


def test_too_late_to_cancel_a_completed_order(store: OrderStore) -> None:
    courier = FakeCourier()
    order = new_order(store)
    f = fulfilment(store, courier, lambda: None)
    run_chain(f, order.id)

    result = cancel_order(store, order.id, CHAT, USER)
    assert result.outcome is CancelOutcome.FINISHED
    assert result.order is not None and result.order.state is OrderState.COMPLETADO
    assert list(courier.sent) == [f"order:{order.id}:completed"]


def race_once(store: OrderStore) -> None:
    """A cancel and the last step's completion, started at the same instant."""
    courier = FakeCourier()
    order = new_order(store)
    f = fulfilment(store, courier, lambda: None)
    # The last step is under way: its next move is to completado.
    for state in STEPS:
        store.move(order.id, state)
    start = threading.Barrier(2)
    outcomes: list[CancelOutcome] = []

    def cancel() -> None:
        start.wait()
        result = cancel_order(store, order.id, CHAT, USER)
        outcomes.append(result.outcome)
        if result.outcome is CancelOutcome.CANCELLED:
            tell_cancelled(f, order.id)

    def last_step() -> None:
        start.wait()
        f.notificar_cliente(order.id, lambda *_: None)

    threads = [threading.Thread(target=cancel), threading.Thread(target=last_step)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    final = store.get(order.id).state
    assert final in (OrderState.COMPLETADO, OrderState.CANCELADO)
    expected = "cancelled" if final is OrderState.CANCELADO else "completed"
    assert list(courier.sent) == [f"order:{order.id}:{expected}"]
    assert outcomes == [
        CancelOutcome.CANCELLED if final is OrderState.CANCELADO else CancelOutcome.FINISHED
    ]
    assert ("Estado: cancelado" if expected == "cancelled" else "100%") in courier.shown()


def test_cancel_racing_completion_ends_in_one_state_told_once(store: OrderStore) -> None:
    for _ in range(30):
        race_once(store)


def test_only_the_customer_cancels_and_only_once(store: OrderStore) -> None:
    order = new_order(store)
    assert cancel_order(store, order.id, CHAT + 1, USER).outcome is CancelOutcome.NOT_FOUND
    assert cancel_order(store, order.id, CHAT, USER + 1).outcome is CancelOutcome.NOT_YOURS
    results = [cancel_order(store, order.id, CHAT, USER).outcome for _ in range(3)]
    assert results == [CancelOutcome.CANCELLED, *[CancelOutcome.ALREADY_CANCELLED] * 2]


def test_every_task_of_the_chain_is_revoked() -> None:
    order = Order(id="P-7K2Q4F", chat_id=1, user_id=1, text="x", task_id="a", task_ids="a,b,c")
    assert task_ids(order) == ["a", "b", "c"]
    # Orders enqueued before all ids were stored: the first one at least.
    assert task_ids(Order(id="P-7K2Q4F", chat_id=1, user_id=1, text="x", task_id="a")) == ["a"]
