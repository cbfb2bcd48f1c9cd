"""Checking out the shop's lines (a cart, or a /pedido summary's Confirmar): priced on the
server as the catalogue is now, one order per currency, each stored with its stock reserved
and placed through the one placing path (bot.placing), so it runs its chain like any order.

How it is paid is the button pressed (`how`): "" Confirmar (the shop takes no payments: "sin
cobro"), "pay" an invoice per order (bot.invoices: Telegram Stars for XTR, else a card through
the provider), "cash" paid on delivery or at pickup (queued at once, like "sin cobro"). A
button the shop's PAYMENT_METHODS no longer offer places nothing.

A line that cannot be sold (withdrawn, sold out, over a limit) is said in the chat and nothing
is placed; a product that ran out between the price and the order (another customer took the
last unit) is said the same way, with nothing reserved.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from telegram import CallbackQuery, Message

from bot.context import BotContext
from bot.invoices import NewInvoicedOrder
from bot.placing import Confirmation, NewPricedOrder, Reply, StatusMessage, place
from core import texts
from core.cart.views import problem_text
from core.catalogue.product import Product
from core.catalogue.store import OutOfStock
from core.orders.pricing import Quote, QuoteProblem, price
from core.payments.methods import CASH, invoice_method, takes_invoices

log = logging.getLogger(__name__)


async def quote(
    context: BotContext, wanted: Sequence[tuple[str, int]]
) -> tuple[list[Quote], QuoteProblem | None, dict[str, Product]]:
    """The quotes for `wanted` now (or the problem), and the products looked at."""
    svc = context.services
    products = await svc.run(svc.catalogue.get_many, [sku for sku, _ in wanted])
    settings = svc.settings
    try:
        quotes = price(wanted, products, settings.min_order, settings.shop_currency)
    except QuoteProblem as exc:
        return [], exc, products
    return quotes, None, products


async def check_out(
    context: BotContext,
    answer_to: Message,
    user_id: int,
    lang: str,
    wanted: Sequence[tuple[str, int]],
    source: str,
    pressed: CallbackQuery | None = None,
    how: str = "",
) -> list[str] | None:
    """Place the orders of `wanted` for `user_id`; their ids, or None when nothing was placed
    (the chat was told why). The pressed message (the summary, the cart) becomes the first
    order's status message; any other order (another currency) answers it with its own."""
    methods = context.services.settings.payment_methods
    if how not in offered(methods):
        await answer_to.reply_html(texts.text(lang, "callback.stale"))
        return None
    quotes, problem, products = await quote(context, wanted)
    if problem is not None:
        await answer_to.reply_html(problem_text(problem, products, lang))
        return None
    refused = [
        q.currency for q in quotes if how == PAY and invoice_method(q.currency) not in methods
    ]
    if refused:
        await answer_to.reply_html(texts.text(lang, "pay.not_accepted", currency=refused[0]))
        return None
    chat_id = answer_to.chat_id
    placed: list[str] = []
    for found in quotes:
        new = _new_order(
            context, answer_to, user_id, lang, found, f"{source}:{found.currency}", how
        )
        status: StatusMessage = Reply(answer_to)
        if pressed is not None and not placed:
            status = Confirmation(pressed, answer_to.message_id)
        try:
            await place(context, new, status)
        except OutOfStock as exc:
            log.info("chat=%s checkout refused: %s ran out", chat_id, exc.sku)
            ran_out = QuoteProblem("sold_out", exc.sku, left=0)
            await answer_to.reply_html(problem_text(ran_out, products, lang))
            return placed or None
        order = await context.services.run(context.services.store.by_source, new.source)
        if order is None:
            return placed or None  # not placed (the shop is closed, say): the chat was told
        placed.append(order.id)
    return placed


PAY, CASH_BUTTON = "pay", "cash"


def offered(methods: tuple[str, ...]) -> set[str]:
    """The checkout buttons the shop offers now (core.cart.views.checkout_buttons)."""
    if not methods:
        return {""}
    return ({PAY} if takes_invoices(methods) else set()) | (
        {CASH_BUTTON} if CASH in methods else set()
    )


def _new_order(
    context: BotContext,
    answer_to: Message,
    user_id: int,
    lang: str,
    found: Quote,
    source: str,
    how: str,
) -> NewPricedOrder:
    args = (answer_to.chat_id, user_id, answer_to.message_id, lang, found.text())
    if how == PAY:
        method = invoice_method(found.currency)
        return NewInvoicedOrder(
            *args, quote=found, source=source, payment_method=method, bot=context.bot
        )
    return NewPricedOrder(*args, quote=found, source=source, payment_method=CASH if how else "")
