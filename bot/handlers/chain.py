"""Starting an order's chain once the bot has answered, or taking the order back whole."""

from __future__ import annotations

import asyncio
import logging

from bot.context import BotContext
from core import texts
from core.admission import discard_order, out_of_memory
from core.orders.model import Order

log = logging.getLogger(__name__)

# Waits between tries while Redis is unreachable (a restart or a failover takes seconds):
# about 15 s in all, inside core.recovery.starts' grace, so this bot normally queues its own orders
# and the recovery sweep only those of a bot that died.
RETRY_DELAYS = (0.5, 1.0, 2.0, 4.0, 8.0)


async def start_chain(
    context: BotContext,
    order: Order,
    source_message_id: int,
    status_id: int,
    lang: str,
) -> None:
    """Record the status message and start the order's chain; or, when Redis refuses the
    writes (full memory), take the whole order back and say "try again later"."""
    for delay in (*RETRY_DELAYS, None):
        try:
            await _record_and_queue(context, order, status_id)
            return
        except Exception as exc:
            if out_of_memory(exc):
                await _take_back(context, order, source_message_id, status_id, lang)
                return
            if delay is None:
                # Still down: the order is stored and waits in core.recovery.starts, so the recovery
                # sweep queues it once Redis is back.
                log.warning("order=%s not queued, the recovery sweep will: %r", order.id, exc)
                return
            log.info("order=%s not queued (%r): trying again in %s s", order.id, exc, delay)
            await asyncio.sleep(delay)


async def _record_and_queue(context: BotContext, order: Order, status_id: int) -> None:
    svc = context.services
    if status_id:
        await svc.run(svc.store.set_fields, order.id, status_message_id=status_id)
    if not order.task_id:
        # Enqueued, recorded, and on a replica (with Sentinel) before this returns.
        await svc.start_order(order.id)


async def _take_back(
    context: BotContext,
    order: Order,
    source_message_id: int,
    status_id: int,
    lang: str,
) -> None:
    """Redis is full: the chain never started (its first write was refused), so nothing of
    the order remains and the customer is told to try again later."""
    svc = context.services
    log.warning("order=%s refused: Redis is out of memory", order.id)
    await svc.run(discard_order, svc.store, order, source_message_id)
    refusal = texts.text(lang, "order.error.store_unavailable")
    if status_id:
        # The status message said "pendiente": it ends saying the order was not made.
        await context.bot.edit_message_text(
            refusal, chat_id=order.chat_id, message_id=status_id, parse_mode="HTML"
        )
    else:
        await context.bot.send_message(order.chat_id, refusal, parse_mode="HTML")
