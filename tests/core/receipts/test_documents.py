"""What a receipt looks like to the people who get it: the PDF's text (pdftotext) with the
number, the seller, the lines, base + VAT = total and the payment method, in the customer's
language; a corrective one pointing at its original; the month's statement as a CSV a
spreadsheet opens, every number in it, no gap; and the receipt by email through a real SMTP
server (aiosmtpd) with STARTTLS or TLS, the PDF attached, the same Message-ID on a retry."""

from __future__ import annotations

import csv
import io
import subprocess
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from core.db.engine import Database
from core.orders.states import OrderState
from core.receipts.mail import receipt_message, send_mail
from core.receipts.model import Receipt
from core.receipts.pdf import render
from core.receipts.shop import Shop
from core.receipts.statement import Month, statement_csv, statement_of, statement_text
from tests.support.receipts import MADRID, Clock, awaiting, paid_for, shop
from tests.support.smtp import mail_server

SHOP = Shop("Pizzería Ñandú", "B12345678", "Calle Añil 3, 28005 Madrid", MADRID)
# 15 November 2026, 12:00 in Madrid.
NOVEMBER = datetime(2026, 11, 15, 12, 0, tzinfo=ZoneInfo(MADRID)).timestamp()


def pdf_text(pdf: bytes) -> str:
    assert pdf.startswith(b"%PDF-")
    done = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True
    )
    return " ".join(done.stdout.decode().split())  # one space between words


def issued(db: Database, language: str = "es") -> tuple[Receipt, Receipt]:
    """A receipt of 2 pizzas (19,00 €) paid in November, and its corrective one."""
    orders, payments = shop(db, Clock(NOVEMBER))
    order = awaiting(orders, 2)
    if language == "en":
        orders.set_fields(order.id, language="en")
    recording = payments.record(paid_for(order, "tg-1", email="ana@example.com"))
    orders.move(order.id, OrderState.CANCELADO)
    payment = payments.payment_of(order.id)
    assert payment is not None and payments.record_refund(payment, "due", "cancelado")
    book = payments.receipts
    assert book is not None
    receipt, corrective = book.get(recording.receipt_id), book.corrective_of(payment.id)
    assert receipt is not None and corrective is not None
    return receipt, corrective


def test_the_pdf_shows_number_seller_lines_vat_breakdown_and_total(sqlite_db: Database) -> None:
    receipt, corrective = issued(sqlite_db)
    text = pdf_text(render(receipt, SHOP))
    assert "Factura simplificada" in text and "Nº 2026-000001" in text
    assert "Pizzería Ñandú NIF: B12345678 Calle Añil 3, 28005 Madrid" in text
    assert "15 nov 2026, 12:00:00 (Europe/Madrid)" in text
    assert f"Pedido: {receipt.order_id}" in text
    assert "Pizza margarita 2 9,50 € 19,00 €" in text
    assert "Base imponible 15,70 € IVA 21 % 3,30 € Total 19,00 €" in text
    assert "Forma de pago: Tarjeta (Telegram)" in text
    assert "Cliente Ana Pérez ana@example.com" in text

    text = pdf_text(render(corrective, SHOP))
    assert "Factura rectificativa" in text and "Nº 2026-000002" in text
    assert "Rectifica la factura 2026-000001" in text
    assert "Base imponible -15,70 € IVA 21 % -3,30 € Total -19,00 €" in text


def test_the_pdf_speaks_the_customers_language(sqlite_db: Database) -> None:
    receipt, _ = issued(sqlite_db, "en")
    text = pdf_text(render(receipt, SHOP))
    assert "Simplified invoice" in text and "No. 2026-000001" in text
    assert "Margherita pizza 2 €9.50 €19.00" in text
    assert "Taxable base €15.70 VAT 21% €3.30 Total €19.00" in text
    assert "Payment method: Card (Telegram)" in text


def test_the_months_statement_lists_every_number_and_the_sums(sqlite_db: Database) -> None:
    clock = Clock(NOVEMBER)
    orders, payments = shop(sqlite_db, clock)
    for n in (1, 2, 3):
        payments.record(paid_for(awaiting(orders, n, user=n), f"nov-{n}"))
    clock.now = datetime(2026, 12, 1, 0, 30, tzinfo=ZoneInfo(MADRID)).timestamp()  # December
    payments.record(paid_for(awaiting(orders, 4, user=4), "dec-1"))
    book = payments.receipts
    assert book is not None

    month = Month.before(datetime(2026, 12, 1, 6, tzinfo=ZoneInfo(MADRID)).timestamp(), MADRID)
    statement = statement_of(book, month)
    raw = statement_csv(statement)
    assert raw.startswith("\ufeff".encode())  # a BOM: spreadsheets read it as UTF-8
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert [r["numero"] for r in rows] == ["2026-000001", "2026-000002", "2026-000003", "TOTAL"]
    assert [r["total"] for r in rows] == ["9.50", "19.00", "28.50", "57.00"]
    # The sums are of the receipts as issued (7,85 + 15,70 + 23,55), not re-split from 57,00.
    assert [r["base"] for r in rows] == ["7.85", "15.70", "23.55", "47.10"]
    assert [r["iva"] for r in rows] == ["1.65", "3.30", "4.95", "9.90"]
    assert rows[0]["fecha"] == "2026-11-15T12:00:00+01:00"
    assert statement.missing == []
    caption = statement_text(statement, "es")
    assert "2026-11" in caption and "3, de la 2026-000001 a la 2026-000003" in caption
    assert "57,00" in caption


@pytest.mark.parametrize("implicit_tls", [False, True], ids=["starttls", "smtps"])
# aiosmtpd warns of AUTH without STARTTLS, not knowing that smtps is TLS from the first byte.
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_the_receipt_is_mailed_with_its_pdf_and_a_stable_message_id(
    sqlite_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, implicit_tls: bool
) -> None:
    receipt, _ = issued(sqlite_db)
    with mail_server(tmp_path, implicit_tls) as server:
        # The server's self-signed certificate is the one the client trusts (and checks).
        monkeypatch.setenv("SSL_CERT_FILE", str(server.cert))
        for _attempt in range(2):  # a retry after the server took it: the same message again
            message = receipt_message(receipt, render(receipt, SHOP), SHOP, "facturas@nandu.es")
            send_mail(server.url, message, timeout=10)
        first, again = server.inbox.messages
        assert server.inbox.logins and all(login.endswith(":True") for login in server.inbox.logins)
    assert first["Message-ID"] == again["Message-ID"] == "<factura-2026-000001.1@nandu.es>"
    assert first["To"] == "ana@example.com" and "Pizzería Ñandú" in first["From"]
    assert first["Subject"] == "Factura 2026-000001 · Pizzería Ñandú"
    body = first.get_body(("plain",))
    assert body is not None and "factura 2026-000001" in body.get_content()
    [attachment] = list(first.iter_attachments())
    assert attachment.get_filename() == "factura-2026-000001.pdf"
    text = pdf_text(attachment.get_content())
    assert "Nº 2026-000001" in text and "Total 19,00 €" in text


def test_no_password_goes_to_a_server_without_starttls(sqlite_db: Database) -> None:
    import smtplib

    from aiosmtpd.controller import Controller

    from tests.support.processes import free_port
    from tests.support.smtp import Inbox

    receipt, _ = issued(sqlite_db)
    port = free_port()
    inbox = Inbox()
    plain = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        authenticator=inbox.authenticate,
        auth_require_tls=False,
    )
    plain.start()
    try:
        message = receipt_message(receipt, b"%PDF-", SHOP, "facturas@nandu.es")
        with pytest.raises(smtplib.SMTPNotSupportedError):
            send_mail(f"smtp://tienda:clave@127.0.0.1:{port}", message, timeout=10)
    finally:
        plain.stop()
    assert inbox.logins == [] and inbox.messages == []


def test_january_reports_december_and_a_gap_would_be_named(sqlite_db: Database) -> None:
    from sqlalchemy import delete

    from core.db.receipts import ReceiptRow

    january = datetime(2027, 1, 1, 6, tzinfo=ZoneInfo(MADRID)).timestamp()
    assert Month.before(january, MADRID) == Month(2026, 12, MADRID)
    clock = Clock(datetime(2026, 12, 10, 9, tzinfo=ZoneInfo(MADRID)).timestamp())
    orders, payments = shop(sqlite_db, clock)
    for n in (1, 2, 3):
        payments.record(paid_for(awaiting(orders, n, user=n), f"dic-{n}"))
    with sqlite_db.transaction() as session:  # what the numbering never does: lose one
        session.execute(delete(ReceiptRow).where(ReceiptRow.seq == 2))
    assert payments.receipts is not None
    statement = statement_of(payments.receipts, Month(2026, 12, MADRID))
    assert statement.missing == ["2026-000002"]
    assert "Faltan números en la serie: 2026-000002" in statement_text(statement, "es")
