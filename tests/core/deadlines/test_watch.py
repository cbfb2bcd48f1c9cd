"""The deadline watcher's decisions with a clock the test controls, on each database engine:
each missed deadline gets one staff alert (with the card's buttons), one customer message and,
once it stays breached ESCALATE_AFTER after the alert, one escalation to the admins (ids and
states only), however many runs there are, concurrent or retried; deadlines count only
opening hours."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from core.db.engine import Database
from core.deadlines.rules import Deadlines, Kind
from core.deadlines.store import BreachStore
from core.deadlines.watch import DeadlineWatch, Keyboard
from core.orders.model import Order
from core.orders.states import OrderState
from core.orders.store import OrderStore
from core.shophours.clock import ShopClock

MADRID = ZoneInfo("Europe/Madrid")
STAFF = -100_555
ADMINS = (-100_777, 4242)
MINUTE = 60.0
ESCALATE_AFTER = 30 * MINUTE
TO_ACCEPT = (OrderState.VALIDANDO_PAGO, OrderState.PREPARANDO_ENVIO, OrderState.POR_ACEPTAR)


def at(*fields: int) -> float:
    return datetime(*fields, tzinfo=MADRID).timestamp()  # type: ignore[arg-type, misc]


@dataclass
class Sent:
    chat_id: int
    text: str
    key: str
    markup: dict[str, Any] | None


@dataclass
class Courier:
    """Sends each key once, as core.telegram.courier does; fails `fail` sends first."""

    fail: int = 0
    sent: list[Sent] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def send(
        self,
        chat_id: int,
        text: str,
        *,
        key: str,
        reply_markup: dict[str, Any] | None = None,
        urgent: bool = True,
    ) -> int | None:
        with self.lock:
            if self.fail:
                self.fail -= 1
                raise ConnectionError("the worker died here")
            if all(s.key != key for s in self.sent):
                self.sent.append(Sent(chat_id, text, key, reply_markup))
        return 1

    def to(self, chat_id: int) -> list[str]:
        return [s.text for s in self.sent if s.chat_id == chat_id]


@dataclass
class Shop:
    db: Database
    now: list[float]
    courier: Courier
    store: OrderStore

    def watch(self, hours: str = "", admins: tuple[int, ...] = ADMINS) -> DeadlineWatch:
        deadlines = Deadlines(
            ShopClock.of(hours, "Europe/Madrid"),
            accept=10 * MINUTE,
            ready=45 * MINUTE,
            deliver=90 * MINUTE,
            escalate_after=ESCALATE_AFTER,
        )
        return DeadlineWatch(
            BreachStore(self.db),
            self.store,
            self.courier,
            deadlines,
            STAFF,
            admins,
            keyboard_for=card_buttons,
            clock=lambda: self.now[0],
        )

    def order(self, *states: OrderState, chat_id: int = 501) -> Order:
        order, _ = self.store.create(chat_id, chat_id, "2 pizzas margarita, Calle Mayor 5", 1)
        for state in states:
            self.store.advance(order.id, state)
        return order

    def move(self, order: Order, state: OrderState) -> None:
        self.store.advance(order.id, state)


def card_buttons(order: Order) -> Keyboard:
    return {"inline_keyboard": [[{"text": "Aceptar", "callback_data": f"card:{order.id}"}]]}


@pytest.fixture
def shop(database_url: str) -> Iterator[Shop]:
    db = Database(database_url)
    now = [at(2026, 12, 7, 10, 0)]  # a Monday morning
    yield Shop(db, now, Courier(), OrderStore(db, clock=lambda: now[0]))
    db.dispose()


def test_a_missed_acceptance_is_alerted_told_and_escalated_once_each(shop: Shop) -> None:
    watch = shop.watch()
    order = shop.order(*TO_ACCEPT)
    shop.now[0] += 10 * MINUTE - 1
    watch.run()
    assert shop.courier.sent == []

    shop.now[0] += 1  # exactly due
    report = watch.run()
    assert (report.found, report.alerted, report.escalated) == (1, 1, 0)
    [alert] = [s for s in shop.courier.sent if s.chat_id == STAFF]
    assert alert.text.startswith(f"⏰ <b>{order.id}</b>: plazo para aceptar vencido hace 0 s")
    assert alert.markup == card_buttons(order)  # the card's buttons
    assert shop.courier.to(501) == [
        f"⏳ Tu pedido <b>{order.id}</b> va con retraso. Lo sentimos: la tienda ya está "
        "avisada y te contaremos cada paso."
    ]
    for _ in range(3):
        shop.now[0] += 5 * MINUTE
        watch.run()
    assert len(shop.courier.sent) == 2  # still: nothing repeated, not escalated yet

    shop.now[0] = at(2026, 12, 7, 10, 40)  # ESCALATE_AFTER after the alert
    assert watch.run().escalated == 1
    escalations = [s for s in shop.courier.sent if s.chat_id in ADMINS]
    assert [s.chat_id for s in escalations] == list(ADMINS)
    for escalation in escalations:
        assert escalation.text.startswith(f"🚨 <b>{order.id}</b> sigue esperando a la tienda")
        assert "pizza" not in escalation.text and "Mayor" not in escalation.text
    for _ in range(3):
        shop.now[0] += 10 * MINUTE
        watch.run()
    assert len(shop.courier.sent) == 4
    [breach] = BreachStore(shop.db).of_order(order.id)
    assert breach.kind is Kind.ACCEPT and breach.due_at == at(2026, 12, 7, 10, 10)


def test_an_order_accepted_in_time_is_never_alerted_and_its_next_deadline_runs(
    shop: Shop,
) -> None:
    watch = shop.watch()
    order = shop.order(*TO_ACCEPT)
    shop.now[0] += 9 * MINUTE
    shop.move(order, OrderState.ACEPTADO)
    shop.now[0] += 44 * MINUTE
    shop.move(order, OrderState.EN_PREPARACION)
    watch.run()
    assert shop.courier.sent == []
    shop.now[0] += 1 * MINUTE  # 45 min since aceptado: the "ready" deadline
    watch.run()
    [alert] = shop.courier.to(STAFF)
    assert "plazo para tenerlo listo vencido" in alert and "en_preparacion" not in alert
    shop.move(order, OrderState.LISTO)  # ready before the escalation: none comes
    shop.now[0] += 2 * ESCALATE_AFTER
    watch.run()
    assert len(shop.courier.sent) == 2


def test_an_alert_resolved_before_escalation_is_not_escalated(shop: Shop) -> None:
    watch = shop.watch()
    order = shop.order(*TO_ACCEPT)
    shop.now[0] += 11 * MINUTE
    watch.run()
    shop.move(order, OrderState.ACEPTADO)
    shop.now[0] += ESCALATE_AFTER + MINUTE
    assert watch.run().escalated == 0
    assert [s.chat_id for s in shop.courier.sent] == [STAFF, 501]


def test_deadlines_count_only_opening_hours(shop: Shop) -> None:
    watch = shop.watch("mon-fri 09:00-21:00")
    shop.now[0] = at(2026, 12, 11, 20, 55)  # Friday, 5 minutes before closing
    order = shop.order(*TO_ACCEPT)
    shop.now[0] = at(2026, 12, 14, 9, 4)  # Monday: 9 minutes of open time later
    watch.run()
    assert shop.courier.sent == []
    shop.now[0] = at(2026, 12, 14, 9, 5)
    watch.run()
    assert len(shop.courier.to(STAFF)) == 1
    assert BreachStore(shop.db).of_order(order.id)[0].due_at == at(2026, 12, 14, 9, 5)


def test_an_order_taken_at_night_is_due_after_the_opening(shop: Shop) -> None:
    watch = shop.watch("mon-fri 09:00-21:00")
    shop.now[0] = at(2026, 12, 8, 23, 30)  # Tuesday night
    shop.order(*TO_ACCEPT)
    shop.now[0] = at(2026, 12, 9, 9, 9)
    watch.run()
    assert shop.courier.sent == []
    shop.now[0] = at(2026, 12, 9, 9, 10)
    watch.run()
    assert len(shop.courier.to(STAFF)) == 1


def test_concurrent_runs_send_each_message_once(shop: Shop) -> None:
    orders = [shop.order(*TO_ACCEPT, chat_id=600 + i) for i in range(5)]
    shop.now[0] += 10 * MINUTE
    watches = [shop.watch() for _ in range(4)]
    threads = [threading.Thread(target=w.run) for w in watches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(shop.courier.to(STAFF)) == 5
    assert sorted(s.chat_id for s in shop.courier.sent if s.chat_id > 0) == [
        600 + i for i in range(5)
    ]
    assert all(len(BreachStore(shop.db).of_order(o.id)) == 1 for o in orders)


def test_a_run_that_died_after_its_claim_is_sent_by_the_next(shop: Shop) -> None:
    shop.order(*TO_ACCEPT)
    shop.now[0] += 10 * MINUTE
    shop.courier.fail = 1
    with pytest.raises(ConnectionError):
        shop.watch().run()
    assert shop.courier.sent == []
    shop.now[0] += MINUTE
    report = shop.watch().run()
    assert report.alerted == 0  # claimed by the dead run, sent now
    assert [s.chat_id for s in shop.courier.sent] == [STAFF, 501]


def test_no_admin_chats_no_escalation(shop: Shop) -> None:
    watch = shop.watch(admins=())
    shop.order(*TO_ACCEPT)
    shop.now[0] += 10 * MINUTE
    watch.run()
    shop.now[0] += 3 * ESCALATE_AFTER
    assert watch.run().escalated == 0
    assert len(shop.courier.sent) == 2


def test_the_delivery_deadline_runs_from_ready(shop: Shop) -> None:
    watch = shop.watch()
    order = shop.order(*TO_ACCEPT, OrderState.ACEPTADO, OrderState.EN_PREPARACION)
    shop.move(order, OrderState.LISTO)
    shop.now[0] += 60 * MINUTE
    shop.move(order, OrderState.EN_REPARTO)
    shop.now[0] += 30 * MINUTE
    watch.run()
    [alert] = shop.courier.to(STAFF)
    assert "plazo para entregar vencido" in alert
    shop.move(order, OrderState.ENTREGADO)  # handed over: the phase is over
    shop.now[0] += 2 * ESCALATE_AFTER
    watch.run()
    assert len(shop.courier.sent) == 2


def test_a_backlog_is_alerted_a_few_per_run_earliest_due_first(shop: Shop) -> None:
    watch = shop.watch()
    watch.claims_per_run = 3
    orders = []
    for i in range(5):
        orders.append(shop.order(*TO_ACCEPT, chat_id=700 + i))
        shop.now[0] += MINUTE
    shop.now[0] += 10 * MINUTE
    assert (watch.run().alerted, watch.run().alerted, watch.run().alerted) == (3, 2, 0)
    alerted = [s.text for s in shop.courier.sent if s.chat_id == STAFF]
    assert [o.id for o in orders] == [t.split("</b>")[0].removeprefix("⏰ <b>") for t in alerted]
    customers = sorted(s.chat_id for s in shop.courier.sent if s.chat_id > 0)
    assert customers == [700, 701, 702, 703, 704]
