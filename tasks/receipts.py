"""Receipts' worker side (queue `reports`, so a PDF or a slow mail server never holds up an
order): `enviar_factura` sends a receipt to the customer's chat as a PDF document, once (the
courier's key is the receipt's number); `enviar_correo` mails it when the customer gave an
email (RECEIPT_EMAIL), retried with exponential backoff; `generar_facturas` sends the staff
the previous month's statement on day 1 (beat); and the sweep issues the receipts of cash
orders once they are completed, and queues any receipt its issuer never queued."""

from __future__ import annotations

import smtplib
import tempfile
import time
from pathlib import Path

from celery import Task
from celery.utils.log import get_task_logger

from core import money, texts
from core.receipts.book import ReceiptBook
from core.receipts.mail import MailSettingsError, receipt_message, send_mail
from core.receipts.model import Receipt
from core.receipts.shop import Shop, receipt_book, shop_of
from core.receipts.statement import Month, statement_csv, statement_of, statement_text
from core.recovery.starts import PendingStarts
from core.watcher.watch import ADMIN_LANGUAGE
from tasks import app, clients, delivery
from tasks.forksafe import per_process
from tasks.recovery import RecoverableTask, every_sweep, starter
from tasks.telegram import TELEGRAM_RETRY, TelegramTask

log = get_task_logger(__name__)

# How often the sweep looks for completed cash orders without a receipt, and how far back.
CASH_INTERVAL = 5.0
CASH_LOOKBACK = 7 * 24 * 3600.0
CASH_BATCH = 50


class MailTask(RecoverableTask):
    """A mail that failed (server down, refused for now, connection dropped) is tried again:
    waits doubling from 2 s up to SMTP_RETRY_MAX (1 h), each drawn between 0 and that (full
    jitter), 40 tries in all (about a day); each wait is an entry of the Redis schedule
    (RecoverableTask), never a broker countdown."""

    abstract = True
    retry_backoff = 2
    retry_jitter = True

    @property
    def retry_backoff_max(self) -> int:
        """SMTP_RETRY_MAX, read when Celery builds the task (at the app's first use)."""
        return int(clients.settings().smtp_retry_max)


@per_process
def book() -> ReceiptBook | None:
    return receipt_book(clients.settings(), clients.database())


def dispatch(receipt_id: int, starts: PendingStarts) -> None:
    """Queue the sending of a receipt just issued (chat, and mail when on), then take it off
    the pending starts (core.recovery.starts: the sweep queues it if this never ran)."""
    enviar_factura.delay(receipt_id)
    if clients.settings().email_enabled:
        enviar_correo.delay(receipt_id)
    starts.done("receipt", str(receipt_id))


def _caption(receipt: Receipt) -> str:
    total = money.format_amount(receipt.total, receipt.currency, receipt.language)
    key = "receipt.caption_corrective" if receipt.is_corrective else "receipt.caption"
    return texts.text(
        receipt.language,
        key,
        number=receipt.number,
        id=receipt.order_id,
        total=total,
        original=receipt.corrects,
    )


def render_pdf(receipt: Receipt, shop: Shop) -> bytes:
    """The receipt as a PDF. reportlab is loaded on the first receipt, not with this module:
    the bot imports it only to queue the tasks."""
    from core.receipts.pdf import render

    return render(receipt, shop)


@app.task(base=TelegramTask, name="enviar_factura", **TELEGRAM_RETRY)
def enviar_factura(receipt_id: int) -> str:
    """The receipt as a PDF document in the customer's chat, once; its number."""
    found = book()
    receipt = found.get(receipt_id) if found else None
    if found is None or receipt is None or receipt.sent_at:
        return ""
    pdf = render_pdf(receipt, shop_of(clients.settings()))
    with tempfile.TemporaryDirectory(prefix="receipt-") as tmp:
        path = Path(tmp) / receipt.file_name
        path.write_bytes(pdf)
        delivery.courier().send_file(
            receipt.chat_id,
            "sendDocument",
            path,
            key=f"receipt:{receipt.number}",
            caption=_caption(receipt),
            mime_type="application/pdf",
        )
    found.mark(receipt_id, "sent_at")
    log.info("order=%s receipt %s sent", receipt.order_id, receipt.number)
    return receipt.number


@app.task(
    bind=True,
    base=MailTask,
    name="enviar_correo",
    autoretry_for=(smtplib.SMTPException, OSError),
    max_retries=40,
)
def enviar_correo(self: Task, receipt_id: int) -> str:
    """The receipt by email to the address the customer gave, once it is taken by the
    server; "" when there is nothing to send."""
    config, found = clients.settings(), book()
    receipt = found.get(receipt_id) if found else None
    if found is None or receipt is None or not receipt.email or receipt.emailed_at:
        return ""
    shop = shop_of(config)
    message = receipt_message(receipt, render_pdf(receipt, shop), shop, config.smtp_from)
    try:
        send_mail(config.smtp_url.get_secret_value(), message, config.smtp_timeout)
    except (smtplib.SMTPRecipientsRefused, MailSettingsError) as exc:
        # Trying again changes nothing: the address or the settings are wrong.
        log.error("order=%s receipt %s not mailed: %s", receipt.order_id, receipt.number, exc)
        return ""
    found.mark(receipt_id, "emailed_at")
    log.info("order=%s receipt %s mailed", receipt.order_id, receipt.number)
    return str(message["Message-ID"])


@app.task(bind=True, base=TelegramTask, name="generar_facturas", **TELEGRAM_RETRY)
def generar_facturas(self: Task, now: float | None = None) -> int:
    """The previous month's statement to every admin chat, once per month (beat sends it
    hourly on day 1 from 06:00, so a beat that was down at six still sends it that day)."""
    config, found = clients.settings(), book()
    if found is None:
        return 0
    month = Month.before(time.time() if now is None else now, found.policy.zone)
    statement = statement_of(found, month)
    caption = statement_text(statement, ADMIN_LANGUAGE)
    with tempfile.TemporaryDirectory(prefix="statement-") as tmp:
        path = Path(tmp) / f"facturas-{month.label}.csv"
        path.write_bytes(statement_csv(statement))
        for chat_id in config.admin_chat_ids:
            key = f"statement:{month.label}:{chat_id}"
            if not statement.receipts:
                delivery.courier().send(chat_id, caption, key=key)
                continue
            delivery.courier().send_file(
                chat_id, "sendDocument", path, key=key, caption=caption, mime_type="text/csv"
            )
    log.info("statement %s: %s receipts", month.label, len(statement.receipts))
    return len(statement.receipts)


@starter("receipt")
def start_unqueued_receipt(receipt_id: str) -> None:
    """A receipt issued and never queued (its issuer died first): queued now, unless sent."""
    found = book()
    receipt = found.get(int(receipt_id)) if found else None
    if receipt is not None and not receipt.sent_at:
        log.warning(
            "order=%s receipt %s was never queued: queued now", receipt.order_id, receipt.number
        )
        dispatch(receipt.id, clients.starts())


@every_sweep(CASH_INTERVAL)
def receipt_cash_orders() -> int:
    """Issue the receipts of cash orders completed since the last look; how many."""
    found = book()
    if found is None:
        return 0
    issued = 0
    for order_id in found.cash_awaiting_receipt(time.time() - CASH_LOOKBACK, CASH_BATCH):
        receipt_id = found.for_cash(order_id)
        if receipt_id:
            clients.starts().add("receipt", str(receipt_id))
            dispatch(receipt_id, clients.starts())
            issued += 1
    return issued
