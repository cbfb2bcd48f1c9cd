"""/carrito (alias /cart): the chat's cart priced now — lines, line totals, subtotal and
total — with − / + per line, Vaciar, and Confirmar pedido (bot.checkout). A product withdrawn
or sold out since it was added is flagged on its line, never silently dropped."""

from __future__ import annotations

import html

from telegram import Message

from bot.checkout import check_out, quote
from bot.context import BotContext, Incoming, on_message
from bot.handlers.presses import Answer, Press, edit_pressed
from bot.markup import inline
from core import texts
from core.cart.store import CartFull
from core.cart.views import cart_keyboard, problem_text, quotes_text
from core.keyboards import Keyboard
from core.texts import Html

# The cart's buttons that check out, and how each pays (bot.checkout).
HOW = {"buy": "", "pay": "pay", "cash": "cash"}


@on_message
async def carrito(incoming: Incoming, context: BotContext) -> None:
    text, keyboard = await cart_view(context, incoming.chat.id, incoming.lang)
    await incoming.message.reply_html(text, reply_markup=inline(keyboard))


async def cart_view(context: BotContext, chat_id: int, lang: str) -> tuple[str, Keyboard | None]:
    svc = context.services
    items = await svc.run(svc.carts.items, chat_id)
    if not items:
        return texts.text(lang, "shop.cart_empty"), None
    wanted = list(items.items())
    quotes, problem, products = await quote(context, wanted)
    names = [(sku, products[sku].name(lang) if sku in products else sku) for sku, _ in wanted]
    methods = svc.settings.payment_methods
    keyboard = cart_keyboard(chat_id, names, lang, methods)
    if problem is not None:
        lines: list[str] = [texts.text(lang, "shop.cart_title")]
        lines += [html.escape(f"{qty}× {dict(names)[sku]}", quote=False) for sku, qty in wanted]
        return Html("\n".join([*lines, "", problem_text(problem, products, lang)])), keyboard
    return quotes_text("shop.cart_title", quotes, lang, charged=bool(methods)), keyboard


async def on_button(press: Press, context: BotContext) -> Answer:
    """k:show, k:inc:{sku}, k:dec:{sku}, k:clear, k:buy (or k:pay, k:cash)."""
    action, sku, _ = press.pressed.fields
    svc, chat, lang = context.services, press.chat.id, press.lang
    if action == "show":
        text, keyboard = await cart_view(context, chat, lang)
        await press.message.reply_html(text, reply_markup=inline(keyboard), do_quote=False)
        return Answer()
    if action in ("inc", "dec"):
        try:
            await svc.run(svc.carts.add, chat, sku, 1 if action == "inc" else -1)
        except CartFull:
            return Answer(texts.plain(lang, "shop.cart_full"), alert=True)
    elif action == "clear":
        await svc.run(svc.carts.clear, chat)
    elif action in HOW:
        return await _buy(press, context, HOW[action])
    else:
        return Answer(texts.plain(lang, "callback.stale"), alert=True)
    text, keyboard = await cart_view(context, chat, lang)
    await edit_pressed(press.query, text, keyboard)
    return Answer(texts.plain(lang, "shop.emptied") if action == "clear" else "")


async def _buy(press: Press, context: BotContext, how: str) -> Answer:
    svc = context.services
    items = await svc.run(svc.carts.items, press.chat.id)
    if not items:
        return Answer(texts.plain(press.lang, "shop.refused_empty"), alert=True)
    message: Message = press.message
    # One checkout per cart message: a double tap finds the same orders (their source).
    source = f"cart:{press.chat.id}:{message.message_id}"
    wanted = list(items.items())
    placed = await check_out(
        context, message, press.user.id, press.lang, wanted, source, press.query, how
    )
    if placed:
        await svc.run(svc.carts.clear, press.chat.id)
        return Answer(texts.plain(press.lang, "shop.confirmed", ids=", ".join(placed)))
    return Answer()
