"""Sending the staff cards of stale orders: the first alert, reminders, the escalation.

The watcher run that claims newly stale orders queues them here (`opened`), and every run
sends the cards that are due (`run`), at most `per_run` orders' worth so the admin chats are
not flooded (the digest lists every order; the rest are carded in the next runs).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from core.orders.model import Order
from core.orders.store import OrderStore
from core.staff.cards import card_keyboard, card_text, shows_personal_data
from core.staff.desk import Due, Kind, StaffDesk
from core.telegram.client import BadRequest

log = logging.getLogger(__name__)

# Orders carded per run: about 20 messages per admin group a minute is Telegram's limit.
CARDS_PER_RUN = 20


class CardSender(Protocol):
    """core.telegram.courier.Courier: one message per key."""

    def send(
        self,
        chat_id: int,
        text: str,
        *,
        key: str,
        reply_markup: dict[str, Any] | None = None,
        urgent: bool = True,
    ) -> int | None: ...


@dataclass
class StaffAlerts:
    """Cards for stale orders in the admin chats, repeated until answered, then escalated."""

    desk: StaffDesk
    store: OrderStore
    sender: CardSender
    admin_chat_ids: tuple[int, ...]
    escalation_chat_ids: tuple[int, ...]
    stale_after: float
    remind_after: float
    repeats: int
    snooze_for: float
    per_run: int = CARDS_PER_RUN
    # Cards here (and in admins' private chats) show what the customer wrote; not in groups.
    staff_chat_id: int | None = None

    def opened(self, order_ids: list[str], now: float) -> None:
        """The watcher claimed these orders as newly stale: card them."""
        self.desk.open(order_ids, now)

    def run(self, run_id: str, now: float) -> int:
        """Send the cards due now (a retried run resends the same ones); how many went out."""
        if not (self.admin_chat_ids or self.escalation_chat_ids):
            return 0
        dues = self.desk.take_due(run_id, now, self.per_run, self.repeats, self.remind_after)
        orders = {order.id: order for order in self.store.get_many([d.order_id for d in dues])}
        sent = 0
        for due in dues:
            order = orders.get(due.order_id)
            if order is None or order.is_final:
                continue
            sent += self._send(order, due, now)
        return sent

    def chats_for(self, kind: Kind) -> tuple[int, ...]:
        if kind is Kind.ESCALATION and self.escalation_chat_ids:
            return self.escalation_chat_ids
        return self.admin_chat_ids

    def _send(self, order: Order, due: Due, now: float) -> int:
        sent = 0
        for chat_id in self.chats_for(due.kind):
            personal = shows_personal_data(chat_id, self.staff_chat_id)
            text = card_text(
                order, due.kind, due.ignored, self.repeats, now, self.stale_after, personal
            )
            # Signed for each chat (core.keyboards): a card's buttons act only where sent.
            keyboard = card_keyboard(chat_id, order.id, due.round, self.snooze_for)
            try:
                message_id = self.sender.send(
                    chat_id,
                    text,
                    key=f"staff:{order.id}:{due.round}:{chat_id}",
                    reply_markup=keyboard,
                )
            except BadRequest as exc:
                log.warning("order=%s card not sent to chat=%s: %s", order.id, chat_id, exc)
                continue
            log.info("order=%s %s round=%s chat=%s", order.id, due.kind.value, due.round, chat_id)
            if message_id:
                self.desk.add_card(order.id, chat_id, message_id, due.round)
            sent += 1
        return sent


Clock = Callable[[], float]
