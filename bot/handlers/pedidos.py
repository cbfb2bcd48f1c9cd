"""/pedidos (alias /orders): the chat's orders with state and age, a page at a time."""

from __future__ import annotations

import time

from telegram import Update
from telegram.ext import ContextTypes

from bot.handlers.common import language_of, sender_chat_id
from bot.handlers.presses import Answer, edit_pressed
from bot.markup import inline
from bot.services import services
from core import texts
from core.admins import is_person
from core.keyboards import Pressed, list_keyboard
from core.orders.listing import page_of, page_text


async def pedidos(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The first page of the chat's orders, newest first, with ◀ ▶ when there are more."""
    message, chat, user = update.effective_message, update.effective_chat, update.effective_user
    if message is None or chat is None or user is None:
        return
    lang = language_of(update)
    svc = services(context)
    page = await svc.run(page_of, svc.store, chat.id, 1)
    # Whoever asked turns the pages; an anonymous sender is nobody in particular, so anyone.
    owner = user.id if is_person(user.id, sender_chat_id(message)) else 0
    await message.reply_html(
        page_text(page, time.time(), lang),
        reply_markup=inline(list_keyboard(lang, chat.id, owner, page.number, page.pages)),
    )


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE, pressed: Pressed) -> Answer:
    """◀ or ▶: show that page in the same message, for whoever asked for the list."""
    query, chat = update.callback_query, update.effective_chat
    assert query is not None and chat is not None
    number, owner = pressed.fields
    lang = language_of(update)
    if owner not in ("0", str(query.from_user.id)) or not number.isdigit():
        return Answer(texts.plain(lang, "callback.not_yours"), alert=True)
    svc = services(context)
    page = await svc.run(page_of, svc.store, chat.id, int(number))
    await edit_pressed(
        query,
        page_text(page, time.time(), lang),
        list_keyboard(lang, chat.id, int(owner), page.number, page.pages),
    )
    return Answer()
