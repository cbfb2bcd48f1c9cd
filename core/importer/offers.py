"""What the customer of an imported order is told, and what their answer does.

An imported order waits in `por_confirmar`: its customer gets "La tienda ha preparado este
pedido para ti: … ¿Lo confirmas?" with Confirmar / Rechazar (callback data `i:ok|no:{order}`,
signed for the chat, core.keyboards). Confirmar moves it as the chat's own checkout would
have placed it: to `esperando_pago` when it has an invoice to pay (its method was chosen at
import from PAYMENT_METHODS, core.quotes.store.payment_for), else to `pendiente`, its chain
to start; Rechazar cancels it. Both are the customer's moves (`customer:<id>` in the
history), and only the order's own customer may make them.

An order imported as paid in cash is already `pendiente` (its chain started by the import):
its customer is only told. Every message is sent once per key, so announcing an order twice
(a re-run import) sends nothing the second time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from core import money, texts
from core.cart.views import quote_lines
from core.importer.placing import CASH_FIELD
from core.keyboards import IMPORTED, Keyboard, button
from core.orders.model import Order
from core.orders.pricing import PricedLine, Quote
from core.orders.queries import OrderNotFound
from core.orders.rows import customer
from core.orders.states import InvalidTransition, OrderState
from core.orders.store import OrderStore
from core.payments.methods import INVOICED
from core.telegram.handover import Outgoing

CONFIRM = "ok"
REJECT = "no"
# Order.extra: the offer's message, once sent (the press must be on it).
OFFER_FIELD = "offer_message_id"


def offer_key(order_id: str) -> str:
    return f"order:{order_id}:import_offer"


def told_key(order_id: str) -> str:
    return f"order:{order_id}:import_cash"


def what_text(order: Order, lines: Sequence[PricedLine]) -> str:
    """The order's lines and total (priced), or its text as written (free text)."""
    if not lines:
        return texts.text(order.language, "import.offer_text", text=order.text)
    quote = Quote(order.currency, tuple(lines), order.delivery_fee)
    return "\n".join(quote_lines(quote, order.language))


def offer_text(order: Order, lines: Sequence[PricedLine]) -> str:
    lang = order.language
    how = "import.offer_pay" if order.payment_method in INVOICED else "import.offer_no_pay"
    return "\n\n".join(
        [
            texts.text(lang, "import.offer", id=order.id),
            what_text(order, lines),
            texts.text(lang, how),
        ]
    )


def told_text(order: Order, lines: Sequence[PricedLine]) -> str:
    lang = order.language
    amount = money.format_amount(order.total, order.currency, lang) if order.currency else ""
    parts = [texts.text(lang, "import.cash", id=order.id), what_text(order, lines)]
    parts.append(texts.text(lang, "import.cash_amount", amount=amount) if amount else "")
    return "\n\n".join(part for part in parts if part)


def offer_keyboard(order: Order) -> Keyboard:
    lang, chat, body = order.language, order.chat_id, f"{IMPORTED}:{{}}:{order.id}"
    confirm = button(texts.raw(lang, "buttons.confirm"), chat, body.format(CONFIRM))
    reject = button(texts.raw(lang, "import.reject"), chat, body.format(REJECT))
    return {"inline_keyboard": [[confirm, reject]]}


class Sender(Protocol):
    """core.telegram.courier.Courier's once-per-key delivery, now or never: a long wait for
    Telegram raises (limited_calls.Throttled) for the task to run again later on its own
    queue, rather than handing the message to the `telegram` queue the customers' worker
    drains (Courier.send would)."""

    def deliver(self, message: Outgoing) -> int | None: ...


def announce(store: OrderStore, sender: Sender, order_id: str) -> str:
    """Tell an imported order's customer about it (once); what was said: offer, cash or ""
    (the customer already answered, or the order is gone)."""
    try:
        order = store.get(order_id)
    except OrderNotFound:
        return ""
    lines = store.lines(order.id)
    if order.state is OrderState.POR_CONFIRMAR:
        # Not urgent: a customer's own messages go before a bulk import's.
        offer = Outgoing(
            order.chat_id,
            offer_text(order, lines),
            offer_key(order.id),
            offer_keyboard(order),
            urgent=False,
        )
        sent = sender.deliver(offer)
        if sent:
            store.set_fields(order.id, **{OFFER_FIELD: sent})
        return "offer"
    if order.extra.get(CASH_FIELD) and not order.is_final:
        told = Outgoing(order.chat_id, told_text(order, lines), told_key(order.id), urgent=False)
        sender.deliver(told)
        return "cash"
    return ""


class Answer(StrEnum):
    """What a press on an offer did."""

    INVOICE = "invoice"  # esperando_pago: its invoice is to be sent
    START = "start"  # pendiente: its chain is to be started
    REJECTED = "rejected"  # cancelado
    NOT_YOURS = "not_yours"
    STALE = "stale"  # answered before, or cancelled: nothing changed


@dataclass(frozen=True)
class Outcome:
    answer: Answer
    order: Order | None = None


def answer_offer(
    store: OrderStore, order_id: str, chat_id: int, user_id: int, action: str
) -> Outcome:
    """Confirmar or Rechazar pressed by `user_id` in `chat_id` on an imported order's offer:
    only the order's own customer, in its chat, moves it."""
    try:
        order = store.get(order_id)
    except OrderNotFound:
        return Outcome(Answer.STALE)
    if order.chat_id != chat_id or order.user_id != user_id:
        return Outcome(Answer.NOT_YOURS, order)
    if action == REJECT:
        wanted, answer = OrderState.CANCELADO, Answer.REJECTED
    elif order.payment_method in INVOICED:
        wanted, answer = OrderState.AWAITING_PAYMENT, Answer.INVOICE
    else:
        wanted, answer = OrderState.PENDIENTE, Answer.START
    if order.state is not OrderState.POR_CONFIRMAR:
        return Outcome(Answer.STALE, order)
    note = "rechazado" if action == REJECT else "confirmado"
    try:
        moved, after = store.advance(order.id, wanted, customer(user_id), note)
    except InvalidTransition:
        return Outcome(Answer.STALE, store.get(order.id))
    if not moved:
        return Outcome(Answer.STALE, after)
    if wanted is OrderState.PENDIENTE and store.starts is not None:
        # As any new order: queued by the bot now, or by the recovery sweep if it cannot.
        store.starts.add("order", order.id)
    return Outcome(answer, after)
