"""/pedido (alias /order): place an order, or start a guided one when no text is given."""

from __future__ import annotations

from bot.context import BotContext, Incoming, on_message
from bot.handlers import conversation, resumen
from bot.handlers.common import (
    command_argument,
    order_text_refusal,
    person_or_refuse,
    within_quota,
)
from bot.placing import NewOrder, Reply, place
from core import texts
from core.db.engine import is_outage
from core.orders.model import OrderTextError, clean_order_text


@on_message
async def pedido(incoming: Incoming, context: BotContext) -> None:
    """Check the sender, their quota and the text, then place the order (bot.placing)."""
    if not await person_or_refuse(incoming):
        return
    svc = context.services
    quota = svc.quotas.orders
    if not await within_quota(
        incoming, svc, quota, "quota.orders", "order.error.store_unavailable"
    ):
        return
    message = incoming.message
    raw_text = command_argument(message)
    if not raw_text.strip():
        # No text: ask for it, step by step.
        await conversation.start(incoming, context)
        return
    try:
        text = clean_order_text(raw_text)
    except OrderTextError as exc:
        await message.reply_html(order_text_refusal(incoming.lang, exc, raw_text))
        return
    try:
        index = await svc.shop_index()
    except Exception as exc:
        if not is_outage(exc):
            raise
        # The database is down: nothing can be priced or placed; the customer hears so.
        await message.reply_html(texts.text(incoming.lang, "order.error.store_unavailable"))
        return
    if index is not None:
        # A shop with a catalogue: the text is matched, priced and confirmed first.
        await resumen.answer(incoming, context, index, text)
        return
    new = NewOrder(incoming.chat.id, incoming.user.id, message.message_id, incoming.lang, text)
    await place(context, new, Reply(message))
