"""The deadline watcher's run: find the phases past their due time, claim each breach's
messages once (core.deadlines.store), and send them: one alert in the staff chat with the
order card's buttons, one escalation to the admin chats once it stayed breached
ESCALATE_AFTER after the alert, one "your order is running late" to the customer.

What reaches the admin chats carries the order's id, phase and state, never what the customer
wrote or who they are (those stay in the staff chat and with staff members).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from core import texts
from core.deadlines.rules import Deadlines, Kind
from core.deadlines.store import Breach, BreachStore
from core.orders.model import Order
from core.orders.store import OrderStore
from core.staff.alerts import CardSender
from core.telegram.client import BadRequest

log = logging.getLogger(__name__)

Keyboard = dict[str, Any]
# The staff alert's buttons: the order card's own (core.staff's cards), wired by the tasks.
KeyboardFor = Callable[[Order], Keyboard | None]
# New breaches recorded per deadline kind and run; the rest are found by the next run.
FIND_PER_RUN = 200
# Alerts (and escalations) claimed per run, earliest due first: a group takes 20 messages a
# minute and the order cards need the rest; the customers' messages go with their alerts.
CLAIMS_PER_RUN = 10
# What was claimed this recently is sent again under its key each run (a no-op once it went
# out): longer than a run and its retries (core.watcher.watch.ADOPT_AFTER), far shorter than
# the courier remembers keys (7 days).
RESEND_WINDOW = 660.0
STAFF_LANGUAGE = texts.DEFAULT_LANGUAGE


def no_keyboard(order: Order) -> Keyboard | None:
    return None


# What sends: the courier, one message per key (the stale-order alerts' same protocol).
Sender = CardSender


@dataclass(frozen=True)
class DeadlineReport:
    """What one run did, for its log line."""

    found: int
    alerted: int
    escalated: int
    sent: int


def alert_text(order: Order, breach: Breach, deadlines: Deadlines, now: float) -> str:
    """The staff chat's alert: which order, which deadline, how late, its state."""
    lang = STAFF_LANGUAGE
    return texts.text(
        lang,
        "deadline.staff_alert",
        id=order.id,
        phase=texts.raw(lang, f"deadline.phase.{breach.kind.value}"),
        late=texts.format_age(now - breach.due_at, lang),
        within=texts.format_age(deadlines.within(breach.kind), lang),
        state=texts.state_name(lang, order.state),
    )


def escalation_text(order: Order, breach: Breach, now: float) -> str:
    """The admins' escalation: ids and states only (admin groups are not the staff chat)."""
    lang = STAFF_LANGUAGE
    return texts.text(
        lang,
        "deadline.escalation",
        id=order.id,
        phase=texts.raw(lang, f"deadline.phase.{breach.kind.value}"),
        late=texts.format_age(now - breach.due_at, lang),
        state=texts.state_name(lang, order.state),
    )


@dataclass
class DeadlineWatch:
    """Tells the staff, the admins and the customer about each missed deadline, once each."""

    breaches: BreachStore
    store: OrderStore
    sender: Sender
    deadlines: Deadlines
    staff_chat_id: int
    # Where escalations go: ADMIN_CHAT_IDS and ESCALATION_CHAT_IDS.
    admin_chat_ids: tuple[int, ...]
    keyboard_for: KeyboardFor = no_keyboard
    clock: Callable[[], float] = field(default=time.time)
    per_kind: int = FIND_PER_RUN
    claims_per_run: int = CLAIMS_PER_RUN
    resend_window: float = RESEND_WINDOW

    def run(self) -> DeadlineReport:
        """One run (a retry or a concurrent run sends nothing twice: module doc)."""
        now = self.clock()
        found = sum(self._find(kind, now) for kind in Kind)
        alerted = self.breaches.claim_alerts(now, self.claims_per_run)
        escalated = 0
        if self.admin_chat_ids:
            by = self.deadlines.escalate_alerted_by(now)
            escalated = self.breaches.claim_escalations(by, now, self.claims_per_run)
        alerts, escalations = self.breaches.claimed_since(now - self.resend_window)
        ids = {b.order_id for b in alerts} | {b.order_id for b in escalations}
        orders = {order.id: order for order in self.store.get_many(sorted(ids))}
        sent = 0
        for breach in alerts:
            if breach.order_id in orders:
                sent += self._alert(orders[breach.order_id], breach, now)
        for breach in escalations:
            if breach.order_id in orders:
                sent += self._escalate(orders[breach.order_id], breach, now)
        return DeadlineReport(found, alerted, escalated, sent)

    def _find(self, kind: Kind, now: float) -> int:
        overdue = self.breaches.overdue(kind, self.deadlines.started_by(kind, now), self.per_kind)
        due = [(order_id, self.deadlines.due_at(kind, started)) for order_id, started in overdue]
        self.breaches.record(kind, due)
        return len(due)

    def _alert(self, order: Order, breach: Breach, now: float) -> int:
        key = f"deadline:{order.id}:{breach.kind.value}"
        staff = self._send(
            self.staff_chat_id,
            alert_text(order, breach, self.deadlines, now),
            f"{key}:staff",
            self.keyboard_for(order),
        )
        late = texts.text(order.language, "deadline.customer", id=order.id)
        customer = self._send(order.chat_id, late, f"{key}:customer", None)
        return staff + customer

    def _escalate(self, order: Order, breach: Breach, now: float) -> int:
        text = escalation_text(order, breach, now)
        key = f"deadline:{order.id}:{breach.kind.value}:escalation"
        return sum(self._send(chat, text, f"{key}:{chat}", None) for chat in self.admin_chat_ids)

    def _send(self, chat_id: int, text: str, key: str, keyboard: Keyboard | None) -> int:
        try:
            self.sender.send(chat_id, text, key=key, reply_markup=keyboard)
        except BadRequest as exc:
            # e.g. "chat not found": retrying never helps, and other chats still get theirs.
            log.warning("deadline message key=%s not sent to chat=%s: %s", key, chat_id, exc)
            return 0
        return 1
