"""/cancelar (alias /cancel): cancel an unfinished order, or leave a guided /pedido."""

from __future__ import annotations

import logging

from bot.context import BotContext, Incoming, on_message
from bot.handlers.common import command_argument, person_or_refuse
from bot.services import Services
from core import texts
from core.conversation.store import Outcome
from core.orders.cancel import CancelOutcome, CancelResult, cancel_order, task_ids, tell_cancelled
from core.orders.model import normalize_order_id
from core.payments.methods import INVOICED
from core.payments.refunds import too_late_to_cancel
from tasks import context as worker
from tasks import orders as order_tasks
from tasks import payments as payment_tasks

log = logging.getLogger(__name__)


async def cancel(svc: Services, order_id: str, chat_id: int, user_id: int) -> CancelResult:
    """Cancel the order; when this request is the one that cancelled it, revoke its queued
    steps and tell the chat (the status message, and one message). A paid order is refunded
    (tasks.payments), and once the staff prepare it, it is theirs to cancel, not the customer's."""
    found = await svc.run(svc.store.find, order_id, chat_id)
    mine = found is not None and found.user_id == user_id
    if found is not None and mine and too_late_to_cancel(found.state, found.payment_method):
        return CancelResult(CancelOutcome.FINISHED, found)
    result = await svc.run(cancel_order, svc.store, order_id, chat_id, user_id)
    if result.outcome is not CancelOutcome.CANCELLED or result.order is None:
        return result
    if result.order.payment_method in INVOICED:
        await svc.run(payment_tasks.reembolsar.delay, order_id)
    try:
        await svc.revoke_order(task_ids(result.order))
    except Exception:
        # Not fatal: every step checks the order's state before doing anything.
        log.exception("order=%s: revoking its tasks failed", order_id)
    try:
        await svc.run(tell_cancelled, svc.fulfilment(), order_id)
        if svc.settings.staff_chat_id:
            # Its card in the staff chat shows it cancelled and loses its buttons.
            await svc.run(worker.shop_floor().refresh_card, result.order)
    except Exception:
        log.exception("order=%s: telling the cancellation failed, a worker retries it", order_id)
        await svc.run(order_tasks.avisar_cancelacion.delay, order_id)
    return result


@on_message
async def cancelar(incoming: Incoming, context: BotContext) -> None:
    """`/cancelar P-7K2Q4F` cancels that order; `/cancelar` alone leaves a guided order."""
    if not await person_or_refuse(incoming):
        return
    message, chat, user, lang = incoming.message, incoming.chat, incoming.user, incoming.lang
    svc = context.services
    argument = command_argument(message).strip()
    if not argument:
        left = await svc.run(svc.conversations.leave, chat.id, user.id)
        key = (
            "conversation.left"
            if left in (Outcome.DONE, Outcome.EXPIRED)
            else "conversation.nothing_to_leave"
        )
        await message.reply_html(texts.text(lang, key))
        return
    order_id = normalize_order_id(argument.split()[0])
    if order_id is None:
        await message.reply_html(texts.text(lang, "order.not_found"))
        return
    result = await cancel(svc, order_id, chat.id, user.id)
    if result.outcome is CancelOutcome.CANCELLED:
        return  # the chat was told, once, by the delivery path
    if result.outcome is CancelOutcome.NOT_FOUND or result.order is None:
        await message.reply_html(texts.text(lang, "order.not_found"))
    elif result.outcome is CancelOutcome.ALREADY_CANCELLED:
        await message.reply_html(texts.text(lang, "cancel.already", id=order_id))
    elif result.outcome is CancelOutcome.NOT_YOURS:
        await message.reply_html(texts.text(lang, "cancel.not_yours", id=order_id))
    else:
        state = texts.state_name(lang, result.order.state)
        await message.reply_html(texts.text(lang, "cancel.finished", id=order_id, state=state))
