"""What a staff button does: one press answers a round, then the action runs.

The answer is decided first, atomically (core.staff.desk): of two admins pressing at once,
or one pressing twice, exactly one press acts; the other is told who answered. Then:
  Atendido           no more reminders for the order
  Posponer           the next reminder comes after SNOOZE_FOR
  Reintentar         the step the order is stuck in is enqueued again (steps are idempotent)
  Cancelar y avisar  the order is cancelled and its customer told, once
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from core import texts
from core.orders.cancel import task_ids
from core.orders.fulfilment import Fulfilment
from core.orders.model import Order
from core.orders.states import InvalidTransition, OrderState
from core.orders.store import OrderNotFound
from core.payments.methods import INVOICED
from core.staff.cards import closed_text, shows_personal_data
from core.staff.desk import Action, Outcome, Record, StaffDesk, Verdict

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Actor:
    """Who pressed, and where."""

    user_id: int
    name: str
    chat_id: int


@dataclass(frozen=True)
class PressResult:
    outcome: Outcome
    record: Record
    order: Order | None = None
    # What the action came to once it ran: "" (as asked), "finished" (too late).
    note: str = ""


@dataclass
class StaffActions:
    """Everything a press needs; the bot builds it once."""

    desk: StaffDesk
    fulfilment: Fulfilment
    snooze_for: float
    remind_after: float
    # Enqueue the order's remaining steps again (tasks.staff.retry_order).
    retry: Callable[[Order], object]
    # Revoke a cancelled order's queued steps (tasks.orders.revoke_order).
    revoke: Callable[[list[str]], None]
    clock: Callable[[], float] = field(default=time.time)
    # Refund a cancelled order paid through Telegram (tasks.payments.reembolsar).
    refund: Callable[[str], object] | None = None
    # Closed cards here (and in admins' private chats) show what the customer wrote.
    staff_chat_id: int | None = None

    def press(self, order_id: str, round_: int, action: Action, actor: Actor) -> PressResult:
        now = self.clock()
        record = Record(action.value, actor.user_id, actor.name, actor.chat_id, now, round_)
        next_due: float | None = None
        if action is Action.SNOOZE:
            next_due = now + self.snooze_for
        elif action is Action.RETRY:
            next_due = now + self.remind_after
        outcome = self.desk.act(order_id, round_, record, next_due)
        if outcome.verdict is not Verdict.DONE:
            return PressResult(outcome, record, self._order(order_id))
        note = ""
        if action is Action.RETRY:
            note = self._retry(order_id)
        elif action is Action.CANCEL:
            note = self._cancel(order_id)
        if note:
            self.desk.note_outcome(order_id, note)
            record = Record(**{**record.__dict__, "outcome": note})
        log.info(
            "order=%s staff %s by user=%s: %s", order_id, action.name, actor.user_id, note or "ok"
        )
        return PressResult(outcome, record, self._order(order_id), note)

    def _order(self, order_id: str) -> Order | None:
        try:
            return self.fulfilment.store.get(order_id)
        except OrderNotFound:
            return None

    def _retry(self, order_id: str) -> str:
        order = self.fulfilment.store.get(order_id)
        if order.is_final:
            return "finished"
        self.retry(order)
        return "retried"

    def _cancel(self, order_id: str) -> str:
        store = self.fulfilment.store
        try:
            store.move(order_id, OrderState.CANCELADO)
        except InvalidTransition:
            return "finished"  # completed (or failed) a moment before: too late
        order = store.get(order_id)
        try:
            self.revoke(task_ids(order))
        except Exception:
            # Not fatal: every step checks the order's state before it does anything.
            log.exception("order=%s: revoking its tasks failed", order_id)
        tell_cancelled_by_staff(self.fulfilment, order)
        if self.refund is not None and order.payment_method in INVOICED:
            self.refund(order_id)
        return "cancelled"

    def close_cards(self, order: Order, record: Record) -> None:
        """Every card of the order shows who answered, without buttons."""
        now = self.clock()
        courier = self.fulfilment.courier
        for (chat_id, message_id), round_ in self.desk.cards(order.id).items():
            if round_ != record.round:
                continue  # an older card (its own answer shown) or a newer one asking again
            personal = shows_personal_data(chat_id, self.staff_chat_id)
            text = closed_text(order, record, now, personal)
            courier.edit(chat_id, message_id, text, key=f"staff:{order.id}:{round_}:closed")


def tell_cancelled_by_staff(fulfilment: Fulfilment, order: Order) -> None:
    """The status message shows the cancellation, and the customer hears why, once."""
    fulfilment.show_status(order, best_effort=True)
    fulfilment.courier.send(
        order.chat_id,
        texts.text(order.language, "staff.customer_cancelled", id=order.id),
        key=f"order:{order.id}:cancelled",
    )
