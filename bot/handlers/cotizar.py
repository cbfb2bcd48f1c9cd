"""Quotes (STAFF_CHAT_ID set, with a catalogue): a /pedido that matches no product becomes an
order waiting for a price (por_cotizar) and a request card in the staff chat with Cotizar.

The staff answer with an amount — replying to the card, or to the question Cotizar asks
(a ForceReply) — such as `12,50` or `12.50` (core.quotes.amounts). A bad amount is said and
changes nothing. A good one prices the order once (core.quotes.store: the first answer wins,
a second is told who priced it), and the customer gets the priced summary, then the invoice
through the checkout's own path (bot.invoices) or, when the shop takes no card payments, the
order starts at once (cash, or "sin cobro").
"""

from __future__ import annotations

import logging

from telegram import ForceReply, Message, ReplyParameters

from bot.context import BotContext, Incoming
from bot.handlers.presses import Answer, Press, remove_keyboard_of
from bot.handlers.staff_chat import is_staff_user, staff_chat
from bot.invoices import NewInvoicedOrder
from bot.markup import inline
from core import money, texts
from core.cart.views import quote_lines
from core.keyboards import PRICE, button, status_keyboard
from core.orders.model import Order, normalize_order_id
from core.orders.pricing import Quote
from core.orders.states import OrderState
from core.quotes.amounts import parse_quote_amount
from core.quotes.store import Pricing, QuoteRequest, Quotes, payment_for
from core.relay.rules import order_named_in
from core.relay.sending import send_text
from core.shopfloor import board

log = logging.getLogger(__name__)

# The staff chat's texts are in the shop's language.
STAFF_LANGUAGE = "es"


def card_key(order_id: str) -> str:
    return f"quote:{order_id}:card"


async def card_of(context: BotContext, order_id: str) -> int:
    """The message in the staff chat an order's messages go under: its order card, else its
    quote request card; 0 for none."""
    svc, chat = context.services, staff_chat(context)
    found = await svc.run(board.card_of, svc.store.db, order_id)
    if found is not None and found.chat_id == chat:
        return found.message_id
    request = await svc.run(Quotes(svc.store).get, order_id)
    return request.message_id if request is not None else 0


async def open_request(incoming: Incoming, context: BotContext, text: str) -> Order:
    """Store the order to be priced and answer the customer with its status message."""
    svc, message = context.services, incoming.message
    order, created = await svc.run(
        Quotes(svc.store).request,
        incoming.chat.id,
        incoming.user.id,
        text,
        message.message_id,
        incoming.lang,
    )
    if not order.status_message_id:
        said = "\n\n".join(
            [
                texts.status_message(order),
                texts.text(incoming.lang, "quote.customer_waiting", id=order.id),
            ]
        )
        sent = await message.reply_html(said, reply_markup=inline(status_keyboard(order)))
        await svc.run(svc.store.set_fields, order.id, status_message_id=sent.message_id)
    log.info("order=%s quote requested new=%s", order.id, created)
    return order


async def post_card(context: BotContext, order: Order, name: str) -> int | None:
    """The request card in the staff chat, with Cotizar, once; its message id."""
    svc, chat = context.services, staff_chat(context)
    assert chat is not None
    lang = STAFF_LANGUAGE
    text = texts.text(
        lang,
        "quote.card",
        id=order.id,
        name=name,
        text=order.text,
        currency=svc.settings.shop_currency,
    )
    keyboard = {
        "inline_keyboard": [[button(texts.raw(lang, "quote.button"), chat, f"{PRICE}:{order.id}")]]
    }
    courier = svc.fulfilment().courier
    sent = await svc.run(send_text, courier, chat, text, card_key(order.id), 0, keyboard)
    if sent is not None:
        await svc.run(Quotes(svc.store).posted, order.id, chat_id=chat, message_id=sent)
    return sent


async def on_button(press: Press, context: BotContext) -> Answer:
    """Cotizar: ask the staff for the amount, as a ForceReply under the card."""
    (raw_id,) = press.pressed.fields
    lang = press.lang
    if not await is_staff_user(press.chat.id, press.user, None, context):
        return Answer(texts.plain(lang, "relay.staff_only"), alert=True)
    order_id = normalize_order_id(raw_id)
    svc = context.services
    request = await svc.run(Quotes(svc.store).get, order_id) if order_id else None
    if request is None or order_id is None:
        return Answer(texts.plain(lang, "callback.stale"), alert=True)
    if request.quoted_by:
        await remove_keyboard_of(context.bot, press.chat.id, press.message.message_id)
        amount = money.format_amount(request.amount, svc.settings.shop_currency, lang)
        said = texts.plain(lang, "quote.already", id=order_id, amount=amount, by=request.quoted_by)
        return Answer(said, alert=True)
    question = await context.bot.send_message(
        press.chat.id,
        texts.text(lang, "quote.ask", id=order_id, currency=svc.settings.shop_currency),
        parse_mode="HTML",
        reply_markup=ForceReply(input_field_placeholder="12,50"),
        reply_parameters=ReplyParameters(
            press.message.message_id, allow_sending_without_reply=True
        ),
    )
    await svc.run(Quotes(svc.store).posted, order_id, prompt_message_id=question.message_id)
    return Answer(texts.plain(lang, "quote.asked"))


async def _request_of(context: BotContext, chat_id: int, replied: Message) -> QuoteRequest | None:
    """The quote request whose card or question `replied` is. A card handed to the workers
    (a busy chat) was recorded without its id: found by its delivery key instead."""
    svc = context.services
    quotes = Quotes(svc.store)
    request = await svc.run(quotes.of_message, chat_id, replied.message_id)
    if request is not None:
        return request
    named = order_named_in(replied.text or "")
    if named is None:
        return None
    sent = await svc.run(svc.fulfilment().courier.already_sent, card_key(named))
    if sent != replied.message_id:
        return None
    await svc.run(quotes.posted, named, chat_id=chat_id, message_id=sent)
    return await svc.run(quotes.get, named)


async def answered_amount(incoming: Incoming, context: BotContext, replied: Message) -> bool:
    """A staff text replying to a request card or its question, taken as the amount; False
    when it is not one (the reply is then a message for the customer)."""
    if incoming.message.text is None:
        return False  # a photo under the card is a message for the customer
    request = await _request_of(context, incoming.chat.id, replied)
    if request is None:
        return False
    svc, lang = context.services, incoming.lang
    currency = svc.settings.shop_currency
    typed = (incoming.message.text or "").strip()
    method, invoiced = payment_for(svc.settings.payment_methods, currency)
    try:
        amount = parse_quote_amount(typed, currency)
        if invoiced:
            money.check_total(amount, currency)
    except money.MoneyError as exc:
        reason = (
            texts.raw(lang, "quote.bad_amount_reason")
            if exc.code == "bad_price"
            else texts.plain(lang, f"money.error.{exc.code}", **_shown(exc, lang))
        )
        said = texts.text(
            lang, "quote.bad_amount", id=request.order_id, amount=typed, reason=reason
        )
        await incoming.message.reply_html(said)
        return True
    pricing = await svc.run(
        Quotes(svc.store).price,
        request.order_id,
        amount,
        currency,
        incoming.user.id,
        method,
        invoiced,
    )
    await _answer_staff(incoming, context, request, pricing)
    if pricing.priced:
        await _tell_customer(context, pricing.order)
    return True


def _shown(exc: money.MoneyError, lang: str) -> dict[str, object]:
    """A MoneyError's values as its text shows them (limits as amounts)."""
    values = dict(exc.values)
    if "limit" in values and "currency" in values:
        values["limit"] = money.format_amount(
            int(str(values["limit"])), str(values["currency"]), lang
        )
    return values


async def _answer_staff(
    incoming: Incoming, context: BotContext, request: QuoteRequest, pricing: Pricing
) -> None:
    lang, order = incoming.lang, pricing.order
    amount = money.format_amount(pricing.amount, context.services.settings.shop_currency, lang)
    if pricing.priced:
        key = (
            "quote.priced" if order.state is OrderState.AWAITING_PAYMENT else "quote.priced_unpaid"
        )
        said = texts.text(lang, key, id=order.id, amount=amount)
        if request.message_id:
            await remove_keyboard_of(context.bot, incoming.chat.id, request.message_id)
    elif pricing.by:
        said = texts.text(lang, "quote.already", id=order.id, amount=amount, by=pricing.by)
    else:
        state = texts.state_name(lang, order.state)
        said = texts.text(lang, "quote.closed", id=order.id, state=state)
    await incoming.message.reply_html(said)


async def _tell_customer(context: BotContext, order: Order) -> None:
    """The priced summary, then the invoice (or the order starts), and its status updated."""
    svc, lang = context.services, order.language
    lines = await svc.run(svc.store.lines, order.id)
    quote = Quote(order.currency, tuple(lines))
    invoiced = order.state is OrderState.AWAITING_PAYMENT
    parts = [
        texts.text(lang, "quote.summary_title", id=order.id),
        "\n".join(quote_lines(quote, lang)),
        texts.text(lang, "quote.invoice_next" if invoiced else "quote.starts"),
    ]
    courier = svc.fulfilment().courier
    key = f"order:{order.id}:quoted"
    await svc.run(
        send_text, courier, order.chat_id, "\n\n".join(parts), key, order.status_message_id
    )
    if invoiced:
        # The checkout's own invoice path: sent once (its id kept on the order), and an
        # invoice Telegram refuses cancels the order and says so.
        new = NewInvoicedOrder(
            order.chat_id,
            order.user_id,
            0,
            lang,
            order.text,
            quote=quote,
            payment_method=order.payment_method,
            bot=context.bot,
        )
        await new.record_and_queue(svc, order, 0)
    else:
        await svc.start_order(order.id, order.status_message_id)
    current = await svc.run(svc.store.get, order.id)
    await svc.run(svc.fulfilment().show_status, current, True)
