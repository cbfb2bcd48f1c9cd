"""An order's card in the staff chat: its text (what to prepare, for whom, how it is paid,
where it goes, its state and who moved it last) and its buttons (the next moves).

Callback data `f:{action}:{order}:{mac}` (core.keyboards), signed for the chat the card is in.
"""

from __future__ import annotations

from core import money, texts
from core.keyboards import SHOPFLOOR, Keyboard, button
from core.orders.model import Order
from core.orders.pricing import PricedLine
from core.orders.states import OrderState
from core.shopfloor.board import Customer
from core.shopfloor.moves import REASONS, Action, next_moves

# Staff read cards in the shop's language.
CARD_LANGUAGE = "es"


def card_text(
    order: Order,
    lines: list[PricedLine],
    who: Customer,
    last: tuple[str, float] | None,
    lang: str = CARD_LANGUAGE,
) -> str:
    """The card: id and state, lines, total and payment, customer, pickup or delivery, the
    order's own text when it has no lines, and who made the last move and when."""
    out: list[str] = [
        texts.text(lang, "floor.title", id=order.id, state=texts.state_name(lang, order.state))
    ]
    for line in lines:
        name = line.name_en if lang == "en" and line.name_en else line.name_es
        amount = money.format_amount(line.line_total, line.currency, lang)
        out.append(texts.text(lang, "floor.line", n=line.quantity, name=name, amount=amount))
    if not lines:
        out.append(texts.text(lang, "floor.free_text", text=order.text))
    out.append(_payment(order, lang))
    if who.name or who.phone:
        out.append(texts.text(lang, "floor.customer", name=who.name or "—", phone=who.phone or "—"))
    if who.delivery:
        out.append(texts.text(lang, "floor.delivery", address=who.address))
    else:
        out.append(texts.text(lang, "floor.pickup"))
    if last is not None:
        name, at = last
        out.append(texts.text(lang, "floor.last", name=name, at=texts.format_time(at)))
    return "\n".join(out)


def _payment(order: Order, lang: str) -> str:
    method = order.payment_method or "none"
    how = texts.raw(lang, f"floor.paid.{method}") if method in PAID_WORDS else method
    if order.total and order.currency:
        amount = money.format_amount(order.total, order.currency, lang)
        return texts.text(lang, "floor.total", amount=amount, how=how)
    return texts.text(lang, "floor.no_total", how=how)


PAID_WORDS = frozenset({"telegram", "stars", "cash", "none"})


def move_label(lang: str, action: Action, delivery: bool) -> str:
    if action is Action.READY:
        return texts.raw(lang, "floor.button.ready_delivery" if delivery else "floor.button.ready")
    return texts.raw(lang, f"floor.button.{action.name.lower()}")


def card_keyboard(
    order: Order, chat_id: int, delivery: bool, lang: str = CARD_LANGUAGE
) -> Keyboard:
    """The next moves as buttons (none once the order left the staff's hands)."""
    row = [
        button(move_label(lang, action, delivery), chat_id, f"{SHOPFLOOR}:{action}:{order.id}")
        for action in next_moves(order, delivery)
    ]
    return {"inline_keyboard": [row] if row else []}


def reasons_keyboard(order_id: str, chat_id: int, lang: str = CARD_LANGUAGE) -> Keyboard:
    """Rechazar's second step: one button per reason, and Volver."""
    rows = [
        [button(texts.raw(lang, f"floor.reason.{code}"), chat_id, f"{SHOPFLOOR}:r{i}:{order_id}")]
        for i, code in enumerate(REASONS)
    ]
    rows.append(
        [button(texts.raw(lang, "floor.button.back"), chat_id, f"{SHOPFLOOR}:b:{order_id}")]
    )
    return {"inline_keyboard": rows}


def open_keyboard(orders: list[Order], chat_id: int) -> Keyboard | None:
    """/cola and /buscar: a button per order that posts its card here."""
    rows = [[button(f"🗂 {o.id}", chat_id, f"{SHOPFLOOR}:{Action.OPEN}:{o.id}")] for o in orders]
    return {"inline_keyboard": rows} if rows else None


def customer_news(order: Order, delivery: bool) -> str | None:
    """What the customer is told when the staff move their order into its state (None: the
    state says nothing new to them: entregado is followed by notificar_cliente's message)."""
    state, lang = order.state, order.language
    if state is OrderState.LISTO:
        key = "floor.news.listo_delivery" if delivery else "floor.news.listo_pickup"
        return texts.text(lang, key, id=order.id)
    if state in (OrderState.ACEPTADO, OrderState.EN_PREPARACION, OrderState.EN_REPARTO):
        return texts.text(lang, f"floor.news.{state.value}", id=order.id)
    return None
