"""Messages both ways through an order (STAFF_CHAT_ID set; README, "Messages, quotes and
order photos").

- A staff member replies, in the staff chat, to a bot message about one order (its card, or
  any message of the bot's naming one order id): the customer receives "🏪 La tienda: …",
  text or photo, and the staff reply gets a short ✓ under it.
- The customer replies to their order's status message (or to a message of the bot's naming
  one order of theirs), or writes `/mensaje P-XXXXXX texto`: the staff chat receives it under
  the order's card (core.shopfloor.board), or naming the order when it has none.

Every relayed message is logged first (core.relay.messages: its own row and a line in the
order's history, keyed by the Telegram message it came from), then sent once under that
log's key, so a re-delivered update never reaches the other side twice. A reply that is
none of this goes on to the guided order's answer (bot.handlers.conversation), as before.
"""

from __future__ import annotations

import logging

from telegram import Message

from bot.context import BotContext, Incoming, on_message
from bot.handlers import conversation, cotizar
from bot.handlers.common import command_argument
from bot.handlers.staff_chat import bot_message_replied, is_staff_sender, photo_id, staff_chat
from core import texts
from core.orders.model import Order, normalize_order_id
from core.orders.queries import OrderNotFound
from core.orders.rows import customer, staff
from core.relay.messages import (
    TO_CUSTOMER,
    TO_STAFF,
    MessageLog,
    Relayed,
    message_source,
    status_message_order,
)
from core.relay.rules import conversation_order, customer_problem, order_named_in
from core.relay.sending import send_photo, send_text
from core.shopfloor import board
from core.telegram.client import BotApiError
from core.telegram.reachability import unreachable_key

log = logging.getLogger(__name__)

# Room left for our own words around a relayed text (Telegram: 4096 a text, 1024 a caption).
MAX_TEXT = 3500
MAX_CAPTION = 800


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


@on_message
async def on_text(incoming: Incoming, context: BotContext) -> None:
    """A plain text: a relayed reply when it is one, else the guided order's answer."""
    if staff_chat(context) is not None and await relayed_reply(incoming, context):
        return
    await conversation.answer(incoming.update, context)


async def relayed_reply(incoming: Incoming, context: BotContext) -> bool:
    """Relay a reply to a bot message about an order (text or photo); False when the message
    is not one, for the caller's own handling."""
    replied = bot_message_replied(incoming.message, context.bot.id)
    if replied is None:
        return False
    if incoming.chat.id == staff_chat(context):
        await staff_reply(incoming, context, replied)
        return True
    order = await _customer_order(incoming, context, replied)
    if order is None:
        return False
    if customer_problem(order, incoming.user.id) is not None:
        # Someone else's order (a group): said plainly, nothing relayed.
        await incoming.message.reply_html(
            texts.text(incoming.lang, "relay.unknown_order", id=order.id)
        )
        return True
    text = incoming.message.text or incoming.message.caption or ""
    await to_staff(incoming, context, order, text, photo_id(incoming.message))
    return True


async def staff_reply(incoming: Incoming, context: BotContext, replied: Message) -> None:
    """A reply in the staff chat to the bot: a quote's amount, or a message to a customer."""
    if not await is_staff_sender(incoming, context):
        await incoming.message.reply_html(texts.text(incoming.lang, "relay.staff_only"))
        return
    if await cotizar.answered_amount(incoming, context, replied):
        return
    svc = context.services
    order_id = await svc.run(
        board.order_of_card, svc.store.db, incoming.chat.id, replied.message_id
    )
    order_id = order_id or conversation_order(replied.text or replied.caption or "")
    order = await _order(context, order_id)
    if order is None:
        await incoming.message.reply_html(texts.text(incoming.lang, "relay.no_order"))
        return
    text = incoming.message.text or incoming.message.caption or ""
    await to_customer(incoming, context, order, text, photo_id(incoming.message))


async def _order(context: BotContext, order_id: str | None) -> Order | None:
    if order_id is None:
        return None
    svc = context.services
    try:
        return await svc.run(svc.store.get, order_id)
    except OrderNotFound:
        return None


async def _customer_order(
    incoming: Incoming, context: BotContext, replied: Message
) -> Order | None:
    """The order a customer's reply is about: the one whose status message it answers, or the
    one order the replied-to message names. None when it is about no order."""
    svc, chat = context.services, incoming.chat.id
    order = await svc.run(status_message_order, svc.store.db, chat, replied.message_id)
    if order is None:
        named = order_named_in(replied.text or replied.caption or "")
        order = await svc.run(svc.store.find, named, chat) if named else None
    return order


async def _record(
    context: BotContext, incoming: Incoming, order: Order, direction: str, text: str, file: str
) -> Relayed:
    svc, user = context.services, incoming.user.id
    author = staff(user) if direction == TO_CUSTOMER else customer(user)
    source = message_source(incoming.chat.id, incoming.message.message_id)
    relayed, new = await svc.run(
        MessageLog(svc.store.db).record, order.id, direction, author, text, file, source
    )
    log.info("order=%s message=%s %s new=%s", order.id, relayed.id, direction, new)
    return relayed


async def to_customer(
    incoming: Incoming, context: BotContext, order: Order, text: str, file_id: str
) -> None:
    """A staff member's message to the order's customer, in the customer's language."""
    svc, lang = context.services, order.language
    relayed = await _record(context, incoming, order, TO_CUSTOMER, text, file_id)
    footer = texts.text(lang, "relay.footer", id=order.id)
    courier = svc.fulfilment().courier
    try:
        if file_id:
            said = (
                texts.text(lang, "relay.from_shop", text=_clip(text, MAX_CAPTION))
                if text
                else texts.text(lang, "relay.from_shop_photo")
            )
            await svc.run(
                send_photo, courier, order.chat_id, file_id, f"{said}\n{footer}", relayed.key
            )
        else:
            said = texts.text(lang, "relay.from_shop", text=_clip(text, MAX_TEXT))
            await svc.run(send_text, courier, order.chat_id, f"{said}\n\n{footer}", relayed.key)
    except BotApiError as exc:
        log.warning("order=%s message=%s not sent: %s", order.id, relayed.id, exc)
        await incoming.message.reply_html(texts.text(incoming.lang, "relay.failed", id=order.id))
        return
    blocked = await svc.run(svc.redis.exists, unreachable_key(order.chat_id))
    key = "relay.not_delivered" if blocked else "relay.delivered"
    await incoming.message.reply_html(texts.text(incoming.lang, key, id=order.id))


async def to_staff(
    incoming: Incoming, context: BotContext, order: Order, text: str, file_id: str
) -> None:
    """A customer's message about their order, to the staff chat under the order's card."""
    svc, staff_chat_id = context.services, staff_chat(context)
    assert staff_chat_id is not None
    relayed = await _record(context, incoming, order, TO_STAFF, text, file_id)
    reply_to = await cotizar.card_of(context, order.id)
    name = incoming.user.full_name
    courier = svc.fulfilment().courier
    try:
        if file_id:
            said = texts.text("es", "relay.to_staff_photo", name=name, id=order.id)
            caption = f"{said}\n{texts.Html(_clip(text, MAX_CAPTION))}" if text else said
            await svc.run(
                send_photo, courier, staff_chat_id, file_id, caption, relayed.key, reply_to
            )
        else:
            said = texts.text(
                "es", "relay.to_staff", name=name, id=order.id, text=_clip(text, MAX_TEXT)
            )
            await svc.run(send_text, courier, staff_chat_id, said, relayed.key, reply_to)
    except BotApiError as exc:
        log.warning("order=%s message=%s not sent: %s", order.id, relayed.id, exc)
        await incoming.message.reply_html(texts.text(incoming.lang, "relay.failed", id=order.id))
        return
    # The bot removed from the staff group: the customer must not believe the shop read it.
    lost = await svc.run(svc.redis.exists, unreachable_key(staff_chat_id))
    key = "relay.failed" if lost else "relay.sent_to_shop"
    await incoming.message.reply_html(texts.text(incoming.lang, key, id=order.id))


@on_message
async def mensaje(incoming: Incoming, context: BotContext) -> None:
    """/mensaje P-XXXXXX texto: the customer writes to the shop about their order (staff, in
    the staff chat, write to its customer)."""
    await by_command(incoming, context, command_argument(incoming.message), "")


async def by_command(incoming: Incoming, context: BotContext, argument: str, file_id: str) -> None:
    """/mensaje's work, for a text or a photo with it as caption."""
    lang = incoming.lang
    if staff_chat(context) is None:
        await incoming.message.reply_html(texts.text(lang, "relay.off"))
        return
    raw_id, _, text = argument.strip().partition(" ")
    order_id = normalize_order_id(raw_id) if raw_id else None
    text = text.strip()
    if order_id is None or not (text or file_id):
        await incoming.message.reply_html(texts.text(lang, "relay.usage"))
        return
    if incoming.chat.id == staff_chat(context) and await is_staff_sender(incoming, context):
        order = await _order(context, order_id)
        if order is not None:
            await to_customer(incoming, context, order, text, file_id)
            return
    svc = context.services
    order = await svc.run(svc.store.find, order_id, incoming.chat.id)
    if customer_problem(order, incoming.user.id) is not None or order is None:
        await incoming.message.reply_html(texts.text(lang, "relay.unknown_order", id=order_id))
        return
    await to_staff(incoming, context, order, text, file_id)
