"""Payments' worker side: `reembolsar` gives a cancelled paid order's money back (Stars through
Telegram, a card payment recorded as due at the provider), and the sweep cancels orders whose
invoice expired unpaid (INVOICE_TTL), giving their stock back and telling the chat once."""

from __future__ import annotations

import contextlib
import time

from celery.utils.log import get_task_logger

from core import texts
from core.payments.checks import EXPIRED
from core.payments.refunds import Refunds
from core.payments.store import PaymentStore
from core.telegram.client import BotApiError
from tasks import app, clients, receipts
from tasks import context as ctx
from tasks.forksafe import per_process
from tasks.recovery import every_sweep
from tasks.telegram import TELEGRAM_RETRY, TelegramTask

log = get_task_logger(__name__)

# How often the sweep looks for expired invoices, and how many it cancels per look.
EXPIRY_INTERVAL = 5.0
EXPIRY_BATCH = 100
INVOICE_FIELD = "invoice_message_id"


@per_process
def payments() -> PaymentStore:
    return PaymentStore(ctx.store(), receipts.book())


def refunds() -> Refunds:
    return Refunds(
        payments(),
        clients.bot_api(),
        ctx.fulfilment().courier,
        clients.settings().admin_chat_ids,
        send_receipt=lambda receipt_id: receipts.dispatch(receipt_id, clients.starts()),
    )


@app.task(base=TelegramTask, name="reembolsar", **TELEGRAM_RETRY)
def reembolsar(order_id: str, reason: str = "cancelado", charge_id: str = "") -> str:
    """Refund a cancelled paid order (or one payment of it, `charge_id`), once; "done",
    "due" or "" (it had no payment)."""
    return refunds().refund(order_id, reason, charge_id)


@every_sweep(EXPIRY_INTERVAL)
def expire_invoices() -> int:
    """Cancel the orders whose invoice went unpaid past INVOICE_TTL; how many."""
    ttl = clients.settings().invoice_ttl
    expired = 0
    for order_id in payments().expired(time.time() - ttl, EXPIRY_BATCH):
        if payments().expire(order_id, EXPIRED):
            expired += 1
            log.info("order=%s: invoice expired unpaid, cancelled", order_id)
            avisar_factura_caducada.delay(order_id)
    return expired


@app.task(base=TelegramTask, name="avisar_factura_caducada", **TELEGRAM_RETRY)
def avisar_factura_caducada(order_id: str) -> None:
    """Show the expired order cancelled, take its invoice away and tell the chat, once."""
    fulfilment = ctx.fulfilment()
    order = fulfilment.store.get(order_id)
    fulfilment.show_status(order, best_effort=True)
    invoice = int(order.extra.get(INVOICE_FIELD, "0") or 0)
    if invoice:
        # Best effort: a late payment of it is refused at pre-checkout anyway.
        with contextlib.suppress(BotApiError):
            clients.bot_api().call(
                "deleteMessage", {"chat_id": order.chat_id, "message_id": invoice}
            )
    fulfilment.courier.send(
        order.chat_id,
        texts.text(order.language, "pay.expired", id=order.id),
        key=f"order:{order.id}:invoice_expired",
    )
