"""Receipts end to end: a card payment in the sandbox → the receipt arrives in the customer's
chat as a PDF document (number, VAT breakdown, total) and by email through a local SMTP server
with STARTTLS; a cash order gets its receipt once completed; a Stars payment cancelled by the
customer gets its corrective receipt, next in the same sequence."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from core.catalogue import parse_catalogue
from core.catalogue.product import Product
from core.catalogue.store import CatalogueStore
from core.db.receipts import ReceiptRow
from core.orders.states import OrderState
from sandbox import RunningSandbox
from sandbox.client import Chat, Message
from sandbox.payments import DEFAULT_PROVIDER_TOKEN
from tests.e2e.test_payments import check_out, invoice_of, stop_workers, text_of
from tests.support.processes import ROOT, wait_until
from tests.support.smtp import MailServer, mail_server
from tests.support.system import System, running_system

DEMO = ROOT / "demo"
STICKERS = Product("STK-PACK", "Pegatinas", "Stickers", 50, "XTR", "Digital", stock=10)
ZONE = "Europe/Madrid"
ANA = {"name": "Ana Pérez", "phone_number": "+34600111222", "email": "ana@example.com"}


@pytest.fixture(scope="module")
def mail(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MailServer]:
    with mail_server(tmp_path_factory.mktemp("smtp")) as server:
        yield server


@pytest.fixture(scope="module")
def system(
    tmp_path_factory: pytest.TempPathFactory, sandbox_server: RunningSandbox, mail: MailServer
) -> Iterator[System]:
    tmp = tmp_path_factory.mktemp("receipts")
    with running_system(
        tmp,
        sandbox_server.url,
        sandbox_server.token,
        CATALOG_FILE=str(DEMO / "catalogue.csv"),
        PAYMENT_METHODS="telegram,stars,cash",
        PAYMENT_PROVIDER_TOKEN=DEFAULT_PROVIDER_TOKEN,
        SHOP_NAME="Pizzería Ñandú",
        SHOP_TAX_ID="B12345678",
        SHOP_ADDRESS="Calle Añil 3, 28005 Madrid",
        SHOP_TIMEZONE=ZONE,
        RECEIPT_EMAIL="1",
        SMTP_URL=mail.url,
        SMTP_FROM="facturas@nandu.example",
        # Tries of a mail a second apart at most, so the test sees the retry that succeeds.
        SMTP_RETRY_MAX="1s",
        # The workers trust the test server's self-signed certificate, and check it.
        SSL_CERT_FILE=str(mail.cert),
    ) as running:
        demo = parse_catalogue((DEMO / "catalogue.csv").read_bytes(), default_currency="EUR")
        CatalogueStore(running.db).replace_all([*demo, STICKERS])
        with running.starting():
            running.start_worker()
            running.start_bot()
        yield running


def pdf_text(pdf: bytes) -> str:
    done = subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True)
    return " ".join(done.stdout.decode().split())


def receipt_document(chat: Chat, number_prefix: str = "") -> Message:
    return chat.wait_for(
        lambda m: (
            bool(m.media)
            and m.media[0].type == "document"
            and "Factura" in text_of(m)
            and number_prefix in text_of(m)
        ),
        timeout=60,
    )


def receipts_of(system: System, order_id: str) -> list[ReceiptRow]:
    with system.db.reading() as session:
        query = select(ReceiptRow).where(ReceiptRow.order_id == order_id).order_by(ReceiptRow.seq)
        return list(session.scalars(query))


def worker_retries(system: System) -> str:
    """The workers' log lines of tasks retried."""
    logs = "\n".join(p.log() for p in system.processes if p.name.startswith("worker"))
    return "\n".join(line for line in logs.splitlines() if "retry" in line.lower())


def this_year() -> int:
    return datetime.now(ZoneInfo(ZONE)).year


def test_a_paid_invoice_brings_the_receipt_to_the_chat_and_the_inbox(
    system: System, mail: MailServer
) -> None:
    chat = system.private_chat()
    order_id = check_out(system, chat, {"PZ-MARG": 2}, "💳 Pagar")
    invoice = invoice_of(chat)
    assert invoice.invoice is not None and invoice.invoice["total_amount"] == 1900
    mail.stop()  # the mail server is down when the customer pays
    paid = chat.pay(order_info=ANA)
    assert paid["status"] == "paid", paid

    # The chat gets its receipt whatever the mail server does, queued by the bot itself (not
    # left to the recovery sweep).
    document = receipt_document(chat)
    assert "was never queued" not in system.all_logs()
    [receipt] = receipts_of(system, order_id)
    number = receipt.number
    assert number.startswith(f"{this_year()}-")
    assert f"🧾 Factura {number} del pedido {order_id}: 19,00\xa0€." in text_of(document)
    assert document.media[0].file_name == f"factura-{number}.pdf"
    text = pdf_text(system.sandbox.download(document.media[0].file_id))
    assert f"Nº {number}" in text and "Pizzería Ñandú NIF: B12345678" in text
    assert "Base imponible 15,70 € IVA 21 % 3,30 € Total 19,00 €" in text
    assert "Cliente Ana Pérez ana@example.com" in text

    # The mail is tried, fails and waits for its next try; the server comes back.
    wait_until(lambda: "enviar_correo" in worker_retries(system), 30, "a failed try of the mail")
    assert mail.inbox.messages == []
    mail.start()
    # The same receipt by email, its PDF attached; once.
    wait_until(lambda: mail.inbox.messages, 60, "the receipt by email")
    [message] = [m for m in mail.inbox.messages if number in str(m["Subject"])]
    assert message["To"] == "ana@example.com"
    [attachment] = list(message.iter_attachments())
    assert f"Nº {number}" in pdf_text(attachment.get_content())
    wait_until(lambda: receipts_of(system, order_id)[0].emailed_at > 0, 30, "recorded as mailed")
    assert [m.media[0].type for m in chat.bot_messages() if m.media] == ["document"]


def test_a_cash_order_gets_its_receipt_once_completed(system: System) -> None:
    chat = system.private_chat()
    order_id = check_out(system, chat, {"PZ-4QUE": 1}, "💵 Pagar al recibir")
    document = receipt_document(chat)
    assert system.store.get(order_id).state is OrderState.COMPLETADO
    [receipt] = receipts_of(system, order_id)
    assert (receipt.method, receipt.total) == ("cash", system.store.get(order_id).total)
    text = pdf_text(system.sandbox.download(document.media[0].file_id))
    assert f"Nº {receipt.number}" in text and "Forma de pago: Efectivo" in text


def test_a_cancelled_stars_payment_gets_a_corrective_receipt(system: System) -> None:
    chat = system.private_chat()
    stop_workers(system)  # the paid order stays where the customer may still cancel it
    order_id = check_out(system, chat, {"STK-PACK": 2}, "💳 Pagar")
    invoice_of(chat)
    assert chat.pay()["status"] == "paid"
    wait_until(lambda: receipts_of(system, order_id), 20, "the receipt issued with the payment")
    chat.send(f"/cancelar {order_id}")
    system.start_worker()

    corrective = receipt_document(chat, "rectificativa")
    original, correcting = receipts_of(system, order_id)
    assert (original.kind, correcting.kind) == ("factura", "rectificativa")
    assert correcting.seq > original.seq and correcting.total == -original.total == -100
    text = pdf_text(system.sandbox.download(corrective.media[0].file_id))
    assert f"Rectifica la factura {original.number}" in text and "Total -100" in text
