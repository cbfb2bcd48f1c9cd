"""/reembolsos (alias /refunds): the card refunds due at the provider, for staff only, and
`/reembolsos P-7K2Q4F` to mark that order's refund as done once it was made there (the Bot
API cannot refund a provider payment, so the staff do it in the provider's dashboard).
/reembolsar P-7K2Q4F motivo (alias /refund): give an order's payment back without cancelling
it (a goodwill refund), through the same `reembolsar` as every other refund."""

from __future__ import annotations

from bot.context import BotContext, Incoming, on_message
from bot.handlers.common import command_argument
from core import money, texts
from core.orders.model import normalize_order_id
from tasks import payments as payment_tasks

SHOWN = 20


@on_message
async def reembolsos(incoming: Incoming, context: BotContext) -> None:
    svc, lang = context.services, incoming.lang
    argument = command_argument(incoming.message).strip()
    if argument:
        order_id = normalize_order_id(argument.split()[0])
        done = order_id is not None and await svc.run(svc.payments.mark_refunded, order_id)
        key = "pay.refund_marked" if done else "pay.refund_not_due"
        await incoming.message.reply_html(texts.text(lang, key, id=order_id or argument[:20]))
        return
    due = await svc.run(svc.payments.due_refunds, SHOWN)
    if not due:
        await incoming.message.reply_html(texts.text(lang, "pay.refunds_none"))
        return
    lines = [texts.text(lang, "pay.refunds_title")]
    for refund in due:
        amount = money.format_amount(refund.amount, refund.currency, lang)
        charge = refund.provider_payment_charge_id
        lines.append(
            texts.text(lang, "pay.refunds_line", id=refund.order_id, amount=amount, charge=charge)
        )
    await incoming.message.reply_html("\n".join(lines))


@on_message
async def reembolsar(incoming: Incoming, context: BotContext) -> None:
    svc, lang = context.services, incoming.lang
    words = command_argument(incoming.message).split(maxsplit=1)
    order_id = normalize_order_id(words[0]) if words else None
    if order_id is None:
        await incoming.message.reply_html(texts.text(lang, "pay.refund_usage"))
        return
    payment = await svc.run(svc.payments.payment_of, order_id)
    if payment is None:
        await incoming.message.reply_html(texts.text(lang, "pay.refund_no_payment", id=order_id))
        return
    if await svc.run(svc.payments.is_refunded, payment.id):
        await incoming.message.reply_html(texts.text(lang, "pay.refund_already", id=order_id))
        return
    reason = words[1][:200] if len(words) > 1 else "reembolso de la tienda"
    await svc.run(
        payment_tasks.reembolsar.delay, order_id, reason, payment.telegram_payment_charge_id
    )
    amount = money.format_amount(payment.total_amount, payment.currency, lang)
    await incoming.message.reply_html(
        texts.text(lang, "pay.refund_started", id=order_id, amount=amount, reason=reason)
    )
