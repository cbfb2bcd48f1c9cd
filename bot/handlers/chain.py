"""Starting an order's chain once the bot has answered, or taking the order back whole."""

from __future__ import annotations

import logging

from telegram.ext import ContextTypes

from bot.services import services
from core import texts
from core.admission import discard_order, out_of_memory
from core.orders import Order

log = logging.getLogger(__name__)


async def start_chain(
    context: ContextTypes.DEFAULT_TYPE,
    order: Order,
    source_message_id: int,
    status_id: int,
    lang: str,
) -> None:
    """Record the status message and start the order's chain; or, when Redis refuses the
    writes (full memory), take the whole order back and say "try again later"."""
    svc = services(context)
    try:
        if status_id:
            await svc.run(svc.store.set_fields, order.id, status_message_id=status_id)
        if not order.task_id:
            # Enqueued, recorded, and on a replica (with Sentinel) before this returns.
            await svc.start_order(order.id)
    except Exception as exc:
        if not out_of_memory(exc):
            raise
        log.warning("order=%s refused: Redis is out of memory", order.id)
        # The chain never started (its first write was refused): nothing of it remains.
        await svc.run(discard_order, svc.store, order, source_message_id)
        refusal = texts.text(lang, "order.error.store_unavailable")
        if status_id:
            # The status message said "pendiente": it ends saying the order was not made.
            await context.bot.edit_message_text(
                refusal, chat_id=order.chat_id, message_id=status_id, parse_mode="HTML"
            )
        else:
            await context.bot.send_message(order.chat_id, refusal, parse_mode="HTML")
