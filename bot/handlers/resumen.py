"""/pedido with a catalogue: the text matched against the products (core.catalogue.matching)
and answered with the priced summary to confirm; what matched nothing gets the closest
products as buttons (each adds itself to the cart) and a link to /menu."""

from __future__ import annotations

import asyncio

from bot.checkout import check_out, quote
from bot.context import BotContext, Incoming
from bot.handlers import cotizar
from bot.handlers.presses import Answer, Press, edit_pressed
from bot.markup import inline
from core import texts
from core.cart.views import problem_text, quotes_text, suggestions_keyboard, summary_keyboard
from core.catalogue.matching import CatalogueIndex, MatchResult
from core.catalogue.product import Product
from core.keyboards import Keyboard

MAX_SUGGESTED = 6
# The summary's buttons that place its orders, and how each pays (bot.checkout).
HOW = {"ok": "", "pay": "pay", "cash": "cash"}


def _suggested(result: MatchResult) -> list[Product]:
    seen: dict[str, Product] = {}
    for item in result.unmatched:
        for product in item.suggestions:
            seen.setdefault(product.sku, product)
    return list(seen.values())[:MAX_SUGGESTED]


async def answer(incoming: Incoming, context: BotContext, index: CatalogueIndex, text: str) -> None:
    """Reply to `/pedido text` with its priced summary (or what could not be matched)."""
    svc, lang, chat = context.services, incoming.lang, incoming.chat.id
    result = await asyncio.to_thread(index.match, text)
    suggested = _suggested(result)
    wanted = [(line.product.sku, line.quantity) for line in result.lines]
    if not wanted and svc.settings.staff_chat_id is not None:
        # Not in the catalogue: the staff price it by hand (bot.handlers.cotizar).
        order = await cotizar.open_request(incoming, context, text)
        await cotizar.post_card(context, order, incoming.user.full_name)
        return
    if not wanted:
        choices = suggestions_keyboard(chat, suggested, lang)
        reply = texts.text(lang, "shop.summary_nothing")
        await incoming.message.reply_html(reply, reply_markup=inline(choices))
        return
    quotes, problem, products = await quote(context, wanted)
    if problem is not None:
        await incoming.message.reply_html(problem_text(problem, products, lang))
        return
    draft = await svc.run(svc.drafts.save, chat, incoming.user.id, wanted)
    methods = svc.settings.payment_methods
    parts = [quotes_text("shop.summary_title", quotes, lang, charged=bool(methods))]
    if result.unmatched:
        missing = ", ".join(item.text for item in result.unmatched)
        parts.append(texts.text(lang, "shop.summary_unmatched", items=missing))
    parts.append(texts.text(lang, "shop.summary_confirm"))
    keyboard: Keyboard = summary_keyboard(chat, draft, lang, methods)
    if suggested:
        extra = suggestions_keyboard(chat, suggested, lang)["inline_keyboard"][:-1]
        keyboard = {"inline_keyboard": [*extra, *keyboard["inline_keyboard"]]}
    await incoming.message.reply_html("\n\n".join(parts), reply_markup=inline(keyboard))


async def on_button(press: Press, context: BotContext) -> Answer:
    """q:ok:{draft} places the summary's orders (once, by whoever asked), q:pay:{draft} with
    an invoice each, q:cash:{draft} to be paid on delivery; q:no drops it."""
    action, draft, _ = press.pressed.fields
    svc, lang, chat = context.services, press.lang, press.chat.id
    found = await svc.run(svc.drafts.get, chat, draft)
    if found is None:
        await edit_pressed(press.query, texts.text(lang, "shop.summary_gone"), None)
        return Answer(texts.plain(lang, "callback.stale"), alert=True)
    asker, wanted = found
    if asker != press.user.id:
        return Answer(texts.plain(lang, "callback.not_yours"), alert=True)
    if action == "no":
        await svc.run(svc.drafts.drop, chat, draft)
        await edit_pressed(press.query, texts.text(lang, "shop.summary_dropped"), None)
        return Answer()
    if action not in HOW:
        return Answer(texts.plain(lang, "callback.stale"), alert=True)
    source = f"draft:{chat}:{draft}"
    placed = await check_out(
        context, press.message, asker, lang, wanted, source, press.query, HOW[action]
    )
    if placed:
        await svc.run(svc.drafts.drop, chat, draft)
        return Answer(texts.plain(lang, "shop.confirmed", ids=", ".join(placed)))
    return Answer()
