"""Sending a batch of a watcher run's alerts, on the real system of record (SQLite and
PostgreSQL): once per key, never for an order that finished, past a chat Telegram refuses."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from core.db.engine import Database
from core.orders.states import STEPS, OrderState
from core.orders.store import OrderStore
from core.telegram.client import BadRequest
from core.watcher import alerts
from core.watcher.alerts import StaleAlert


@dataclass
class Sender:
    """Once per key, like the courier; refuses the chats in `refuse` like a 400; `on_send`
    runs before each send (an order finishing while the batch is sent)."""

    refuse: set[int] = field(default_factory=set)
    sent: dict[str, int] = field(default_factory=dict)
    on_send: list[object] = field(default_factory=list)

    def send(self, chat_id: int, text: str, *, key: str) -> int | None:
        for hook in self.on_send:
            hook()  # type: ignore[operator]
        if chat_id in self.refuse:
            raise BadRequest("sendMessage", 400, "Bad Request: chat not found")
        self.sent.setdefault(key, chat_id)
        return 1


@pytest.fixture
def store(database_url: str) -> Iterator[OrderStore]:
    db = Database(database_url)
    yield OrderStore(db)
    db.dispose()


def alert_for(store: OrderStore, chat_id: int) -> StaleAlert:
    order, _ = store.create(chat_id, chat_id, "pizza", chat_id)
    return StaleAlert(order.id, chat_id, f"⏳ {order.id}")


def complete(store: OrderStore, order_id: str) -> None:
    for state in (*STEPS, OrderState.COMPLETADO):
        store.move(order_id, state)


def test_each_alert_goes_once_and_a_refused_chat_does_not_stop_the_others(
    store: OrderStore,
) -> None:
    batch = [alert_for(store, chat) for chat in (101, 102, 103)]
    sender = Sender(refuse={102})

    assert alerts.deliver(store.db, sender, batch) == 2
    assert alerts.deliver(store.db, sender, batch) == 2  # a retried batch: the same keys

    assert sender.sent == {batch[0].key: 101, batch[2].key: 103}


def test_an_order_finished_before_or_while_the_batch_is_sent_gets_no_alert(
    store: OrderStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(alerts, "FRESH_READ", 0.0)  # every send counts as slow
    done, first, later = (alert_for(store, chat) for chat in (201, 202, 203))
    complete(store, done.order_id)
    sender = Sender()
    # `later` completes while the first alert goes out.
    sender.on_send.append(lambda: None if sender.sent else complete(store, later.order_id))

    assert alerts.deliver(store.db, sender, [done, first, later]) == 1

    assert list(sender.sent) == [first.key]
