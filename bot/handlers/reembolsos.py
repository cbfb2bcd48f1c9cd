"""/reembolsos (alias /refunds): the card refunds due at the provider, for staff only, and
`/reembolsos P-7K2Q4F` to mark that order's refund as done once it was made there (the Bot
API cannot refund a provider payment, so the staff do it in the provider's dashboard)."""

from __future__ import annotations

from bot.context import BotContext, Incoming, on_message
from bot.handlers.common import command_argument
from bot.handlers.staff_access import staff_or_refuse
from core import money, texts
from core.orders.model import normalize_order_id

SHOWN = 20


@on_message
async def reembolsos(incoming: Incoming, context: BotContext) -> None:
    if not await staff_or_refuse(incoming, context):
        return
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
