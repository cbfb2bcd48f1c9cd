"""The staff's commands on the shop floor: /cola (open orders by state, oldest first),
/buscar (by id, customer name or phone) and /pedido P-XXXXXX (the whole card and history).
Staff only, in the staff chat or in private: they show customers' names, phones and
addresses."""

from __future__ import annotations

import re
import time

from telegram import Update
from telegram.ext import CommandHandler, filters

from bot.chataction import while_replying
from bot.context import BotContext, Incoming, on_message
from bot.handlers import pedido as customer_pedido
from bot.handlers.common import sender_chat_id
from bot.handlers.shopfloor_access import is_floor_staff, where_staff_work
from bot.markup import inline
from core import texts
from core.orders.model import Order, normalize_order_id
from core.shopfloor import board
from core.shopfloor.cards import open_keyboard
from tasks import context as worker

# How many orders /cola and /buscar list (each with its button).
QUEUE_LIMIT = 20
SEARCH_LIMIT = 10
# `/pedido P-XXXXXX` alone: a staff member asking for an order, not a customer ordering.
ORDER_ID_ONLY = re.compile(r"^\s*P-[0-9A-Z]{6}\s*$", re.IGNORECASE)


async def _staff_here(incoming: Incoming, context: BotContext, refuse: bool = True) -> bool:
    if not context.services.settings.staff_chat_id:
        return False
    user_ok = await is_floor_staff(context, incoming.user, sender_chat_id(incoming.message))
    if user_ok and where_staff_work(context, incoming.chat):
        return True
    if refuse:
        await incoming.message.reply_html(texts.text(incoming.lang, "floor.staff_only"))
    return False


def _line(order: Order, now: float, lang: str, name: str) -> str:
    age = texts.format_age(now - order.created_at, lang)
    return texts.text(lang, "floor.queue_line", id=order.id, age=age, name=name or "—")


@on_message
async def cola(incoming: Incoming, context: BotContext) -> None:
    """/cola: the open orders grouped by state, oldest first, a button each to open its card."""
    if not await _staff_here(incoming, context):
        return
    svc, lang, now = context.services, incoming.lang, time.time()
    orders = await svc.run(board.open_orders, svc.store.db, QUEUE_LIMIT)
    if not orders:
        await incoming.message.reply_html(texts.text(lang, "floor.queue_empty"))
        return
    lines: list[str] = [texts.text(lang, "floor.queue_title", n=len(orders))]
    for state in board.OPEN_STATES:
        here = [o for o in orders if o.state is state]
        if here:
            lines.append(texts.text(lang, "floor.queue_state", state=texts.state_name(lang, state)))
            for order in here:
                who = await svc.run(board.customer_of, svc.store.db, order.id)
                lines.append(_line(order, now, lang, who.name))
    keyboard = open_keyboard(orders, incoming.chat.id)
    await incoming.message.reply_html("\n".join(lines), reply_markup=inline(keyboard))


@on_message
async def buscar(incoming: Incoming, context: BotContext) -> None:
    """/buscar <id | nombre | teléfono>: matching orders, newest first, with their buttons."""
    if not await _staff_here(incoming, context):
        return
    svc, lang, now = context.services, incoming.lang, time.time()
    words = " ".join(context.args or [])
    if not words:
        await incoming.message.reply_html(texts.text(lang, "floor.search_usage"))
        return
    orders = await svc.run(board.search, svc.store.db, words, SEARCH_LIMIT)
    if not orders:
        await incoming.message.reply_html(texts.text(lang, "floor.search_none", words=words))
        return
    lines: list[str] = [texts.text(lang, "floor.search_title", words=words, n=len(orders))]
    for order in orders:
        who = await svc.run(board.customer_of, svc.store.db, order.id)
        state = texts.state_name(lang, order.state)
        lines.append(_line(order, now, lang, who.name) + f" · {state}")
    keyboard = open_keyboard(orders, incoming.chat.id)
    await incoming.message.reply_html("\n".join(lines), reply_markup=inline(keyboard))


async def pedido(update: Update, context: BotContext) -> None:
    """/pedido P-XXXXXX from staff: the order's whole card and history; from anyone else (or
    any other text) the customer's /pedido, which places orders."""
    incoming = Incoming.of(update)
    words = " ".join(context.args or [])
    if (
        incoming is not None
        and ORDER_ID_ONLY.match(words)
        and await _staff_here(incoming, context, refuse=False)
    ):
        await _show_order(incoming, context, normalize_order_id(words) or "")
        return
    await customer_pedido.pedido(update, context)


async def _show_order(incoming: Incoming, context: BotContext, order_id: str) -> None:
    svc, lang = context.services, incoming.lang
    try:
        order = await svc.run(svc.store.get, order_id)
    except KeyError:
        await incoming.message.reply_html(texts.text(lang, "floor.not_found", id=order_id))
        return
    floor = worker.shop_floor()
    text, _ = await svc.run(floor.view, order, incoming.chat.id)
    events = await svc.run(svc.store.history, order_id)
    lines = [text, texts.text(lang, "floor.history_title")]
    for event in events:
        lines.append(
            texts.text(
                lang,
                "floor.history_line",
                at=texts.format_time(event.at),
                to=event.to_state,
                who=event.note or event.actor if event.actor.startswith("staff:") else event.actor,
            )
        )
    keyboard = open_keyboard([order], incoming.chat.id)
    await incoming.message.reply_html("\n".join(lines), reply_markup=inline(keyboard))


def handlers(new: filters.BaseFilter) -> list[CommandHandler[BotContext, None]]:
    """/pedido (staff asking for an order, else the customer's), /cola and /buscar."""
    return [
        CommandHandler(["pedido", "order"], while_replying(pedido), filters=new),
        CommandHandler(["cola", "queue"], while_replying(cola), filters=new),
        CommandHandler(["buscar", "search"], while_replying(buscar), filters=new),
    ]
