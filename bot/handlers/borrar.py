"""/borrar_mis_datos (alias /forget_me): a customer erases their personal data, after a
confirmation button; /borrar_datos USER_ID (alias /forget_customer): staff do the same for a
customer on request (core.customers.erasure says what goes and what stays)."""

from __future__ import annotations

import logging

from bot.context import BotContext, Incoming, on_message
from bot.handlers.common import command_argument, person_or_refuse
from bot.handlers.presses import Answer, Press, edit_pressed
from bot.markup import inline
from core import texts
from core.customers.erasure import Erasure, erase_customer
from core.keyboards import ERASE, button
from core.orders.store import customer, staff

log = logging.getLogger(__name__)


@on_message
async def borrar_mis_datos(incoming: Incoming, context: BotContext) -> None:
    if not await person_or_refuse(incoming):
        return
    chat, user, lang = incoming.chat.id, incoming.user.id, incoming.lang
    keyboard = {
        "inline_keyboard": [
            [
                button(texts.raw(lang, "erase.yes"), chat, f"{ERASE}:yes:{user}:-"),
                button(texts.raw(lang, "erase.no"), chat, f"{ERASE}:no:{user}:-"),
            ]
        ]
    }
    await incoming.message.reply_html(texts.text(lang, "erase.ask"), reply_markup=inline(keyboard))


async def on_button(press: Press, context: BotContext) -> Answer:
    action, user, _ = press.pressed.fields
    lang = press.lang
    if str(press.user.id) != user:
        return Answer(texts.plain(lang, "callback.not_yours"), alert=True)
    if action != "yes":
        await edit_pressed(press.query, texts.text(lang, "erase.kept"), None)
        return Answer()
    svc = context.services
    done = await svc.run(erase_customer, svc.store.db, press.user.id, customer(press.user.id))
    log.info("user=%s erased their data: %s orders", press.user.id, done.orders)
    await edit_pressed(press.query, _said(lang, done), None)
    return Answer()


@on_message
async def borrar_datos(incoming: Incoming, context: BotContext) -> None:
    argument = command_argument(incoming.message).strip()
    if not argument.lstrip("-").isdigit():
        await incoming.message.reply_html(texts.text(incoming.lang, "erase.usage"))
        return
    svc = context.services
    who = staff(incoming.user.id)
    done = await svc.run(erase_customer, svc.store.db, int(argument), who)
    log.info("staff user=%s erased user=%s: %s orders", incoming.user.id, argument, done.orders)
    await incoming.message.reply_html(_said(incoming.lang, done))


def _said(lang: str, done: Erasure) -> str:
    said = [texts.text(lang, "erase.done", orders=done.orders)]
    if done.open_orders:
        said.append(texts.text(lang, "erase.open", count=done.open_orders))
    return "\n".join(said)
