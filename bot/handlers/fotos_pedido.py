"""Photos for a print or repair shop (STAFF_CHAT_ID set): a photo a customer sends while an
order of theirs is open, or with `/pedido` as its caption, is attached to that order instead
of going to the renditions pipeline (bot.handlers.photos, unchanged when staff is off).

Decided here, in this order, for a photo addressed to the bot:
1. in the staff chat, or replying to a bot message about an order: a relayed message
   (bot.handlers.relay); `/mensaje P-XXXXXX` as caption too;
2. `/pedido …` as caption: attached to the customer's open order, or, with none, the caption
   opens a quote request (bot.handlers.cotizar) with the photo on it;
3. an open (not finished) order of theirs in this chat: attached to the newest one;
4. anything else: a photo job, as before.

An attached photo is recorded at once with its file id (shown under the order's card, or
its quote card, by file id) and its original is downloaded by a worker into the order's
folder (`guardar_foto_pedido`, core.relay.originals) and kept as long as the order is.
"""

from __future__ import annotations

import logging

from bot.context import BotContext, Incoming, on_message
from bot.handlers import cotizar, photos, relay
from bot.handlers.common import (
    addressed_to_bot,
    command_argument,
    person_or_refuse,
    within_quota,
)
from bot.handlers.staff_chat import photo_id, staff_chat
from core import texts
from core.orders.model import Order
from core.orders.rows import customer
from core.relay.messages import message_source
from core.relay.photos import OrderPhotos
from core.relay.sending import send_photo
from tasks import relay as relay_tasks

log = logging.getLogger(__name__)


def _command(incoming: Incoming) -> str:
    """The command a photo's caption starts with (`pedido`, `mensaje`…), without @bot."""
    caption = (incoming.message.caption or "").strip()
    if not caption.startswith("/"):
        return ""
    return caption[1:].split(maxsplit=1)[0].partition("@")[0].lower() if caption[1:] else ""


@on_message
async def foto(incoming: Incoming, context: BotContext) -> None:
    """A photo or image document: relayed, attached to an order, or a photo job (module doc)."""
    message = incoming.message
    if staff_chat(context) is None or not message.photo:
        await photos.foto(incoming.update, context)
        return
    if not addressed_to_bot(message, context.bot.id, context.bot.username):
        return
    command = _command(incoming)
    if command in ("mensaje", "message"):
        await relay.by_command(incoming, context, command_argument(message), photo_id(message))
        return
    if await relay.relayed_reply(incoming, context):
        return
    if incoming.chat.id == staff_chat(context):
        await photos.foto(incoming.update, context)
        return
    svc = context.services
    order = await svc.run(
        OrderPhotos(svc.store.db).open_order_of, incoming.chat.id, incoming.user.id
    )
    if command in ("pedido", "order"):
        if not await person_or_refuse(incoming):
            return
        if order is None:
            await _new_request(incoming, context)
            return
    if order is None:
        await photos.foto(incoming.update, context)
        return
    # Attached photos count against the same hourly quota as photo jobs: each is a download
    # and a message in the staff group.
    quota = svc.quotas.photos
    if await within_quota(
        incoming, svc, quota, "quota.photos", "quota.photo_unavailable", quote=True
    ):
        await attach(incoming, context, order, tell=True)


async def _new_request(incoming: Incoming, context: BotContext) -> None:
    """`/pedido texto` on a photo with no open order: a quote request carrying the photo."""
    text = command_argument(incoming.message).strip() or "📷"
    order = await cotizar.open_request(incoming, context, text[:500])
    await attach(incoming, context, order, tell=False)
    card = await cotizar.post_card(context, order, incoming.user.full_name)
    # Under its card; a card handed to the workers (a busy group) has no id yet: after it.
    await send_order_album(context, order.id, card or 0)


async def attach(incoming: Incoming, context: BotContext, order: Order, tell: bool) -> None:
    """Attach the message's photo to `order`, have a worker keep its original, and show it
    under the order's card when it has one already."""
    svc, message = context.services, incoming.message
    largest = message.photo[-1]
    source = message_source(incoming.chat.id, message.message_id)
    photo, new = await svc.run(
        OrderPhotos(svc.store.db).attach,
        order.id,
        largest.file_id,
        largest.file_unique_id,
        source,
        customer(incoming.user.id),
    )
    if new:
        await svc.run(relay_tasks.keep_photo, photo.id)
    log.info("order=%s photo=%s attached new=%s", order.id, photo.id, new)
    if tell:
        await message.reply_html(texts.text(incoming.lang, "order_photo.attached", id=order.id))
        card = await cotizar.card_of(context, order.id)
        chat = staff_chat(context)
        if card and chat is not None:
            caption = texts.text("es", "order_photo.album", id=order.id)
            courier = svc.fulfilment().courier
            key = f"order:{order.id}:photo:{photo.id}"
            await svc.run(send_photo, courier, chat, photo.file_id, caption, key, card)


async def send_order_album(context: BotContext, order_id: str, reply_to: int) -> None:
    """The order's photos as an album under `reply_to` in the staff chat."""
    svc, chat = context.services, staff_chat(context)
    if chat is not None:
        await svc.run(relay_tasks.post_album, order_id, chat, reply_to)
