"""The workers' side of the shop floor: an order handed to people gets one card in the
staff chat; each move refreshes the card and the customer's status message and tells the
customer once.

Every message goes through the courier under a key: the card `order:{id}:card` (a retried
preparar_envio, or one whose worker died after sending, posts nothing twice; the card's
message is also recorded in the database, which a lost Redis cannot forget), the news of
each state `order:{id}:floor:{state}`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from core import texts
from core.keyboards import Keyboard
from core.orders.fulfilment import Fulfilment
from core.orders.model import Order
from core.orders.states import HUMAN_STATES, InvalidTransition, OrderState
from core.orders.store import SYSTEM, OrderStore
from core.shopfloor import board
from core.shopfloor.board import Card
from core.shopfloor.cards import card_keyboard, card_text, customer_news
from core.shopfloor.moves import PROGRESS
from core.telegram.client import BotApiError

log = logging.getLogger(__name__)


@dataclass
class ShopFloor:
    fulfilment: Fulfilment
    chat_id: int
    thread_id: int = 0
    clock: Callable[[], float] = time.time
    # After the card is posted (or found posted): the customer's photos of the order as an
    # album under it (tasks.relay; each album sent once under its own key).
    show_photos: Callable[[Card], object] | None = None

    @property
    def store(self) -> OrderStore:
        return self.fulfilment.store

    def needs_people(self, order_id: str) -> bool:
        """Staff prepare it unless every line is an automatic product (digital goods)."""
        lines = self.store.lines(order_id)
        return not lines or any(line.fulfilment != "automatic" for line in lines)

    def hand_over(self, order_id: str) -> bool:
        """preparar_envio's hook: the order waits for people (its card posted) or not."""
        state = self.store.state_of(order_id)
        if state is OrderState.PREPARANDO_ENVIO and self.needs_people(order_id):
            try:
                waiting = OrderState.POR_ACEPTAR
                self.store.advance(order_id, waiting, SYSTEM, progress=PROGRESS[waiting])
            except InvalidTransition:
                return False  # cancelled meanwhile: the cancellation shows itself
            state = OrderState.POR_ACEPTAR
        if state not in HUMAN_STATES:
            return False
        order = self.store.get(order_id)
        self.fulfilment.show_status(order, best_effort=True)
        self.post_card(order)
        return True

    def view(self, order: Order, chat_id: int) -> tuple[str, Keyboard]:
        """The card's text and buttons as `order` is now."""
        who = board.customer_of(self.store.db, order.id)
        last = self.last_move(order)
        text = card_text(order, self.store.lines(order.id), who, last)
        return text, card_keyboard(order, chat_id, who.delivery)

    def last_move(self, order: Order) -> tuple[str, float] | None:
        for event in reversed(self.store.history(order.id)):
            if event.actor.startswith("staff:"):
                return event.note or event.actor, event.at
        return None

    def post_card(self, order: Order) -> Card:
        """The order's card in the staff chat, posted once whoever asks how often, with the
        order's photos under it."""
        card = board.card_of(self.store.db, order.id) or self.post(
            order, self.chat_id, self.thread_id, f"order:{order.id}:card"
        )
        if card.message_id and self.show_photos is not None:
            self.show_photos(card)
        return card

    def post(self, order: Order, chat_id: int, thread_id: int, key: str) -> Card:
        """Send the card to `chat_id` under `key` and record it as the order's card."""
        text, keyboard = self.view(order, chat_id)
        params = {
            "chat_id": chat_id,
            "text": text,
            "parse_mode": "HTML",
            "reply_markup": keyboard,
            "link_preview_options": {"is_disabled": True},
        }
        if thread_id:
            params["message_thread_id"] = thread_id
        sends = self.fulfilment.courier.sends
        sent = sends.send_once(chat_id, key, "sendMessage", params)
        message_id = int(sent["message_id"]) if isinstance(sent, dict) else int(sent or 0)
        card = Card(order.id, chat_id, message_id, thread_id)
        if message_id:
            board.record_card(self.store.db, card, self.clock())
            log.info("order=%s card posted chat=%s message=%s", order.id, chat_id, message_id)
        return card

    def refresh_card(self, order: Order) -> None:
        """Show the order as it is now on its card (state, who, when, the next moves)."""
        card = board.card_of(self.store.db, order.id)
        if card is None:
            return
        text, keyboard = self.view(order, card.chat_id)
        try:
            # Keyed, not final: while the bot's sends saturate, the card gives way to the
            # customers' messages and shows its newest text at the next flush.
            shown = self.fulfilment.courier.edit(
                card.chat_id,
                card.message_id,
                text,
                reply_markup=keyboard,
                key=f"order:{order.id}:card:{order.state.value}",
            )
        except BotApiError as exc:
            log.warning("order=%s card not updated: %s", order.id, exc)
            return
        if shown and shown != card.message_id:
            # The card was deleted and sent again: the new message is the card.
            board.record_card(self.store.db, Card(order.id, card.chat_id, shown), self.clock())

    def tell(self, order_id: str, state: OrderState) -> Order:
        """After a move into `state`: the card and the status message as the order is now,
        and the customer's news of `state` once (even when a quicker next press already
        moved the order on: each state is told)."""
        order = self.store.get(order_id)
        # The customer first: the card is in a group, whose sends Telegram holds to 20 a
        # minute, and a busy staff group must not hold the customer's news back.
        moved = replace(order, state=state)
        news = customer_news(moved, board.customer_of(self.store.db, order.id).delivery)
        if news is not None and order.state is not OrderState.CANCELADO:
            # (A cancellation tells the customer itself, not a step it overtook.)
            self.fulfilment.courier.send(
                order.chat_id, news, key=f"order:{order.id}:floor:{state.value}"
            )
        self.fulfilment.show_status(order, best_effort=True)
        self.refresh_card(order)
        return order

    def tell_rejected(self, order_id: str, reason: str) -> None:
        """A rejection: the card and status message show it; the customer hears why, once."""
        order = self.store.get(order_id)
        words = texts.text(order.language, f"floor.reason_customer.{reason}")
        self.fulfilment.courier.send(
            order.chat_id,
            texts.text(order.language, "floor.news.rejected", id=order.id, reason=words),
            key=f"order:{order.id}:floor:rejected",
        )
        self.fulfilment.show_status(order, best_effort=True)
        self.refresh_card(order)
