"""The stale-order watcher's texts and decisions, with an in-memory store and no network."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core import texts
from core.orders.model import Order
from core.orders.states import OrderState
from core.orders.store import LAST_ERROR_FIELD, OrderStore
from core.telegram.client import BadRequest
from core.watcher.alerts import StaleAlert
from core.watcher.index import StaleClaim, StaleIndex, StaleOrder
from core.watcher.watch import (
    DIGEST_CHARS,
    Watcher,
    alert_text,
    digest_parts,
    error_note,
    order_line,
    was_alerted,
)

NOW = 1_000_000.0
DAY = 24 * 3600.0


def make_order(order_id: str = "P-7K2Q4F", **fields: Any) -> Order:
    base: dict[str, Any] = {
        "id": order_id,
        "chat_id": 100,
        "user_id": 100,
        "text": "2 pizzas",
        "state": OrderState.VALIDANDO_PAGO,
        "created_at": NOW - 26 * 3600,
    }
    base.update(fields)
    return Order(**base)


@dataclass
class Sent:
    chat_id: int
    text: str
    key: str


@dataclass
class Messenger:
    """Records what would reach Telegram; refuses the chats in `refuse` like a 400."""

    refuse: set[int] = field(default_factory=set)
    sent: list[Sent] = field(default_factory=list)

    def send(self, chat_id: int, text: str, *, key: str) -> int | None:
        if chat_id in self.refuse:
            raise BadRequest("sendMessage", 400, "Bad Request: chat not found")
        self.sent.append(Sent(chat_id, text, key))
        return len(self.sent)

    def keys(self) -> list[str]:
        return [s.key for s in self.sent]


@dataclass
class MemoryStore:
    """The few store and index calls the watcher makes, over a dict; claims are handed out
    once."""

    orders: dict[str, Order]
    claimed_by: dict[str, list[str]] = field(default_factory=dict)
    finished: list[str] = field(default_factory=list)

    def claim(
        self, run_id: str, cutoff: float, limit: int, now: float, adopt_before: float
    ) -> StaleClaim:
        if run_id in self.claimed_by:
            mine = [self.orders[i] for i in self.claimed_by[run_id]]
            return StaleClaim(self._read(mine), resumed=True, more=False)
        taken = {i for ids in self.claimed_by.values() for i in ids}
        ids = [
            o.id
            for o in sorted(self.orders.values(), key=lambda o: o.created_at)
            if o.id not in taken and not o.is_final and o.created_at <= cutoff
        ][:limit]
        self.claimed_by[run_id] = ids
        for i in ids:
            self.orders[i].stale_alerted_at = now
        return StaleClaim(self._read([self.orders[i] for i in ids]), resumed=False, more=False)

    @staticmethod
    def _read(orders: list[Order]) -> list[StaleOrder]:
        """As the store's claim: what the alerts need of the unfinished ones."""
        return [StaleOrder.of(order) for order in orders if not order.is_final]

    def get_many(self, ids: list[str]) -> list[Order]:
        return [self.orders[i] for i in ids if i in self.orders]

    def get(self, order_id: str) -> Order:
        return self.orders[order_id]

    def state_of(self, order_id: str) -> OrderState | None:
        order = self.orders.get(order_id)
        return order.state if order else None

    def finish_run(self, run_id: str, record: dict[str, Any]) -> None:
        self.finished.append(run_id)


def watcher_for(
    store: MemoryStore, messenger: Messenger, admins: tuple[int, ...] = (900,)
) -> Watcher:
    return Watcher(
        store=cast(OrderStore, store),
        index=cast(StaleIndex, store),
        messenger=messenger,
        admin_chat_ids=admins,
        stale_after=DAY,
        clock=lambda: NOW,
    )


def test_stale_order_gets_one_chat_alert_and_one_digest_line() -> None:
    stuck = make_order("P-AAAAAA", chat_id=101, created_at=NOW - 26 * 3600)
    store = MemoryStore({stuck.id: stuck})
    messenger = Messenger()

    report = watcher_for(store, messenger).run("run-1")

    assert report.claimed == 1 and report.alerted == 1
    assert messenger.keys() == ["digest:run-1:900", "order:P-AAAAAA:stale"]
    digest, alert = messenger.sent
    assert digest.chat_id == 900 and "P-AAAAAA" in digest.text and "26 h" in digest.text
    assert alert.chat_id == 101
    assert alert.text == (
        "⏳ Tu pedido <b>P-AAAAAA</b> lleva 26 h sin terminar; ya lo estamos revisando."
    )
    assert was_alerted(store.orders["P-AAAAAA"])
    assert store.finished == ["run-1"]


def test_young_and_finished_orders_are_not_alerted() -> None:
    young = make_order("P-BBBBBB", created_at=NOW - DAY + 1)
    done = make_order("P-CCCCCC", created_at=NOW - 3 * DAY, state=OrderState.COMPLETADO)
    store = MemoryStore({young.id: young, done.id: done})
    messenger = Messenger()

    report = watcher_for(store, messenger).run("run-1")

    assert report.claimed == 0 and messenger.sent == []


def test_an_order_that_finished_after_its_claim_is_left_out() -> None:
    order = make_order("P-DDDDDD", created_at=NOW - 2 * DAY)
    store = MemoryStore({order.id: order})
    store.claim("run-1", NOW - DAY, 10, NOW, 0)
    order.state = OrderState.CANCELADO
    messenger = Messenger()

    report = watcher_for(store, messenger).run("run-1")

    assert report.resumed and report.alerted == 0 and messenger.sent == []


def test_in_a_slow_run_an_order_that_finished_meanwhile_is_not_alerted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("core.watcher.watch.FRESH_READ", 0.0)  # every send counts as slow
    first, second = make_order("P-JJJJJJ", chat_id=1), make_order("P-KKKKKK", chat_id=2)
    store = MemoryStore({first.id: first, second.id: second})

    class FinishingMessenger(Messenger):
        def send(self, chat_id: int, text: str, *, key: str) -> int | None:
            second.state = OrderState.COMPLETADO  # it completes while the run is sending
            return super().send(chat_id, text, key=key)

    messenger = FinishingMessenger()
    report = watcher_for(store, messenger).run("run-1")

    assert report.alerted == 1
    assert messenger.keys() == ["digest:run-1:900", "order:P-JJJJJJ:stale"]


def test_a_refused_chat_does_not_stop_the_others() -> None:
    orders = [make_order(f"P-{c * 6}", chat_id=200 + i) for i, c in enumerate("EFG")]
    store = MemoryStore({o.id: o for o in orders})
    messenger = Messenger(refuse={201, 900})

    report = watcher_for(store, messenger, admins=(900, 901)).run("run-1")

    assert report.alerted == 2
    assert messenger.keys() == ["digest:run-1:901", "order:P-EEEEEE:stale", "order:P-GGGGGG:stale"]


def test_long_digest_is_split_under_telegrams_limit_with_every_order_once() -> None:
    orders = [make_order(f"P-{n:0>6}", error="x" * 150) for n in range(100)]
    store = MemoryStore({o.id: o for o in orders})
    messenger = Messenger()

    watcher_for(store, messenger).run("run-7")

    digests = [s for s in messenger.sent if s.chat_id == 900]
    assert len(digests) > 1
    assert digests[0].key == "digest:run-7:900"
    assert [d.key for d in digests[1:]] == [
        f"digest:run-7:900:{n}" for n in range(2, 1 + len(digests))
    ]
    assert all(len(d.text) <= 4096 for d in digests)
    assert "(2/" in digests[1].text
    listed = [line.split("</b>")[0][3:] for d in digests for line in d.text.splitlines()[1:]]
    assert listed == [o.id for o in orders]


@given(
    st.lists(
        st.builds(
            lambda n, error, age: make_order(f"P-{n:0>6}", error=error, created_at=NOW - age),
            st.integers(0, 999_999),
            st.text(max_size=200),
            st.floats(0, 400 * DAY),
        ),
        max_size=120,
    )
)
def test_digest_parts_keep_every_order_and_each_part_fits(orders: list[Order]) -> None:
    parts = digest_parts(orders, NOW, DAY)
    assert all(len(part) <= DIGEST_CHARS + 200 for part in parts)
    lines = [line for part in parts for line in part.splitlines()[1:]]
    assert len(lines) == len(orders)
    assert all(o.id in line for o, line in zip(orders, lines, strict=True))


def test_digest_line_shows_age_state_and_last_error_escaped() -> None:
    order = make_order(
        state=OrderState.VALIDANDO_PAGO,
        created_at=NOW - 30 * 3600,
        extra={LAST_ERROR_FIELD: "PaymentUnavailable: HTTP <503>"},
    )
    line = order_line(order, NOW, "es")
    state = texts.state_name("es", OrderState.VALIDANDO_PAGO)
    assert line == (
        f"<b>P-7K2Q4F</b> · chat 100 · 30 h · {state} · PaymentUnavailable: HTTP &lt;503&gt;"
    )
    assert "sin error" in order_line(make_order(), NOW, "es")
    failed = make_order(error="payment_declined:sin fondos")
    assert "payment_declined:sin fondos" in order_line(failed, NOW, "es")


def test_error_note_is_short_and_never_carries_the_token() -> None:
    exc = RuntimeError(
        "boom at https://api.telegram.org/bot123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/x"
    )
    note = error_note(exc)
    assert note.startswith("RuntimeError: boom") and "AAHdq" not in note
    assert len(error_note(ValueError("y" * 1000))) == 200
    assert error_note(KeyError()) == "KeyError"


def test_every_language_has_every_watcher_text() -> None:
    spanish = {k for k in texts._catalog("es") if k.startswith("watcher.")}
    assert len(spanish) >= 10
    for language in texts.languages():
        assert spanish <= set(texts._catalog(language)), language


@pytest.mark.parametrize("language", texts.languages())
def test_alerts_and_lines_read_as_the_catalogue_says_with_every_value_escaped(
    language: str,
) -> None:
    order = make_order("P-<b>&", language=language, error="<i>boom</i>")
    claimed = StaleOrder.of(order)
    state = texts.state_name(language, order.state)

    assert alert_text(claimed, NOW) == texts.text(
        language, "watcher.alert", id="P-<b>&", age="26 h"
    )
    expected = texts.text(
        language,
        "watcher.line",
        id="P-<b>&",
        age="26 h",
        state=state,
        error="<i>boom</i>",
        chat=100,
    )
    assert order_line(claimed, NOW, language) == order_line(order, NOW, language) == expected
    assert "&lt;b&gt;&amp;" in expected and "&lt;i&gt;boom" in expected


@dataclass
class Outbox:
    """Records each batch of alerts a run hands over."""

    batches: list[tuple[str, list[StaleAlert]]] = field(default_factory=list)

    def hand_over(self, run_id: str, alerts: Sequence[StaleAlert]) -> None:
        self.batches.append((run_id, list(alerts)))


def test_with_an_outbox_the_alerts_go_in_one_batch_and_the_digest_is_sent() -> None:
    orders = [make_order(f"P-{c * 6}", chat_id=300 + i) for i, c in enumerate("HMN")]
    store = MemoryStore({o.id: o for o in orders})
    messenger, outbox = Messenger(), Outbox()
    watcher = watcher_for(store, messenger)
    watcher.outbox = outbox

    report = watcher.run("run-9")

    assert report.alerted == 3 and messenger.keys() == ["digest:run-9:900"]
    [(run_id, alerts)] = outbox.batches
    assert run_id == "run-9"
    assert [(a.chat_id, a.key) for a in alerts] == [
        (300, "order:P-HHHHHH:stale"),
        (301, "order:P-MMMMMM:stale"),
        (302, "order:P-NNNNNN:stale"),
    ]
    assert alerts[0].text == (
        "⏳ Tu pedido <b>P-HHHHHH</b> lleva 26 h sin terminar; ya lo estamos revisando."
    )
