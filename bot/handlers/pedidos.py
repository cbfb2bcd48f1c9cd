"""/pedidos (alias /orders): the chat's orders with state and age, a page at a time."""

from __future__ import annotations

import time

from bot.context import BotContext, Incoming, on_message
from bot.handlers.common import sender_chat_id
from bot.handlers.presses import Answer, Press, edit_pressed
from bot.markup import inline
from core import texts
from core.admins import is_person
from core.keyboards import list_keyboard
from core.orders.listing import page_of, page_text


@on_message
async def pedidos(incoming: Incoming, context: BotContext) -> None:
    """The first page of the chat's orders, newest first, with ◀ ▶ when there are more."""
    svc, chat, lang = context.services, incoming.chat, incoming.lang
    page = await svc.run(page_of, svc.store, chat.id, 1)
    # Whoever asked turns the pages; an anonymous sender is nobody in particular, so anyone.
    user_id = incoming.user.id
    owner = user_id if is_person(user_id, sender_chat_id(incoming.message)) else 0
    await incoming.message.reply_html(
        page_text(page, time.time(), lang),
        reply_markup=inline(list_keyboard(lang, chat.id, owner, page.number, page.pages)),
    )


async def on_button(press: Press, context: BotContext) -> Answer:
    """◀ or ▶: show that page in the same message, for whoever asked for the list."""
    number, owner = press.pressed.fields
    if owner not in ("0", str(press.user.id)) or not number.isdigit():
        return Answer(texts.plain(press.lang, "callback.not_yours"), alert=True)
    svc = context.services
    page = await svc.run(page_of, svc.store, press.chat.id, int(number))
    await edit_pressed(
        press.query,
        page_text(page, time.time(), press.lang),
        list_keyboard(press.lang, press.chat.id, int(owner), page.number, page.pages),
    )
    return Answer()
