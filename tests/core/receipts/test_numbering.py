"""Receipt numbers: one gapless sequence per year, taken in the payment's transaction; a refund's
corrective receipt in the same sequence; 50 payments recorded at once on PostgreSQL leave no
number skipped or used twice; VAT included, split in integer minor units."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from core.db.engine import Database
from core.orders.model import Order
from core.orders.states import OrderState
from core.receipts.vat import split_vat
from tests.support.receipts import MADRID, Clock, awaiting, paid_for, shop

# 31 December 2026, 23:59:59 in Madrid, and a second later (the new year).
NEW_YEARS_EVE = datetime(2026, 12, 31, 23, 59, 59, tzinfo=ZoneInfo(MADRID)).timestamp()


def test_vat_included_splits_into_base_and_vat_that_add_up() -> None:
    assert split_vat(1900, Decimal(21)) == (1570, 330)  # 1900 / 1.21 = 1570.25
    assert split_vat(1210, Decimal(21)) == (1000, 210)
    assert split_vat(-1900, Decimal(21)) == (-1570, -330)
    assert split_vat(1, Decimal(21)) == (1, 0)
    assert split_vat(500, Decimal(0)) == (500, 0)
    assert split_vat(105, Decimal("10.5")) == (95, 10)  # 95.02
    for total in range(0, 3000, 7):
        base, vat = split_vat(total, Decimal(21))
        assert base + vat == total and vat >= 0


def test_payments_get_consecutive_numbers_and_a_refund_its_corrective(database_url: str) -> None:
    db = Database(database_url)
    orders, payments = shop(db)
    first, second = awaiting(orders, 2), awaiting(orders, 1, user=8)

    recorded = payments.record(paid_for(first, "tg-1", email="ana@example.com"))
    assert recorded.new and recorded.moved and recorded.receipt_id
    assert payments.record(paid_for(first, "tg-1")) == replace(
        recorded, new=False, moved=False, receipt_id=0
    )
    payments.record(paid_for(second, "tg-2"))

    book = payments.receipts
    assert book is not None
    receipt = book.get(recorded.receipt_id)
    assert receipt is not None
    year = datetime.now(ZoneInfo(MADRID)).year
    assert receipt.number == f"{year}-000001" and receipt.kind == "factura"
    assert (receipt.total, receipt.base, receipt.vat, receipt.vat_rate) == (1900, 1570, 330, "21")
    assert [(ln.name, ln.quantity, ln.total) for ln in receipt.lines] == [
        ("Pizza margarita", 2, 1900)
    ]
    assert (receipt.email, receipt.customer_name, receipt.method) == (
        "ana@example.com",
        "Ana Pérez",
        "telegram",
    )

    # The first order is cancelled and refunded: a corrective receipt, next in the sequence.
    orders.move(first.id, OrderState.CANCELADO)
    payment = payments.payment_of(first.id)
    assert payment is not None
    assert payments.record_refund(payment, "due", "cancelado")
    assert not payments.record_refund(payment, "due", "cancelado")
    corrective = book.corrective_of(payment.id)
    assert corrective is not None
    assert corrective.number == f"{year}-000003" and corrective.kind == "rectificativa"
    assert corrective.corrects == receipt.number
    assert (corrective.total, corrective.base, corrective.vat) == (-1900, -1570, -330)
    assert [(ln.quantity, ln.total) for ln in corrective.lines] == [(-2, -1900)]
    numbers = [r.number for r in book.issued_between(0, 2e10)]
    assert numbers == [f"{year}-{n:06d}" for n in (1, 2, 3)]
    db.dispose()


def test_a_payment_that_does_not_pay_its_order_gets_no_number(sqlite_db: Database) -> None:
    orders, payments = shop(sqlite_db)
    order = awaiting(orders, 1)
    orders.move(order.id, OrderState.CANCELADO)  # expired at that very moment
    assert payments.record(paid_for(order, "late")).receipt_id == 0
    assert payments.receipts is not None and payments.receipts.issued_between(0, 2e10) == []


def test_the_year_is_the_shops_and_each_year_starts_again(sqlite_db: Database) -> None:
    clock = Clock(NEW_YEARS_EVE)
    orders, payments = shop(sqlite_db, clock)
    book = payments.receipts
    assert book is not None
    last_of_2026 = payments.record(paid_for(awaiting(orders, 1), "a")).receipt_id
    clock.now += 1  # 00:00:00 in Madrid, still 23:00 UTC
    first_of_2027 = payments.record(paid_for(awaiting(orders, 2), "b")).receipt_id
    second_of_2027 = payments.record(paid_for(awaiting(orders, 3), "c")).receipt_id
    numbers = [book.get(i).number for i in (last_of_2026, first_of_2027, second_of_2027)]  # type: ignore[union-attr]
    assert numbers == ["2026-000001", "2027-000001", "2027-000002"]


PAYERS = 50


def test_fifty_payments_at_once_on_postgresql_take_fifty_consecutive_numbers(
    postgres_server: object,
) -> None:
    from core.db.schema import migrate

    url = postgres_server.new_database()  # type: ignore[attr-defined]
    db = Database(url, pool_size=PAYERS, max_overflow=0)
    migrate(db)
    orders, payments = shop(db)
    waiting = [awaiting(orders, 1, user=1000 + i) for i in range(PAYERS)]
    start = threading.Barrier(PAYERS)

    def pay(order: Order) -> int:
        start.wait(timeout=30)  # every transaction starts together
        first = payments.record(paid_for(order, f"tg-{order.id}"))
        # The same payment delivered twice, racing the first: recorded and numbered once.
        again = payments.record(paid_for(order, f"tg-{order.id}"))
        assert not again.new
        return first.receipt_id

    with ThreadPoolExecutor(PAYERS) as pool:
        ids = list(pool.map(pay, waiting))

    book = payments.receipts
    assert book is not None
    receipts = book.issued_between(0, 2e10)
    assert sorted(r.id for r in receipts) == sorted(ids) and len(set(ids)) == PAYERS
    assert sorted(r.seq for r in receipts) == list(range(1, PAYERS + 1))
    assert len({r.order_id for r in receipts}) == PAYERS
    # Numbered in the order they were issued: the sequence follows the clock.
    by_seq = sorted(receipts, key=lambda r: r.seq)
    assert [r.issued_at for r in by_seq] == sorted(r.issued_at for r in receipts)
    db.dispose()


def test_erasing_a_customer_keeps_the_receipt_but_not_the_email(sqlite_db: Database) -> None:
    from core.customers.erasure import erase_customer

    orders, payments = shop(sqlite_db)
    recorded = payments.record(paid_for(awaiting(orders, 1), "tg-9", email="ana@example.com"))
    erase_customer(sqlite_db, 7, "customer:7")
    assert payments.receipts is not None
    receipt = payments.receipts.get(recorded.receipt_id)
    assert receipt is not None and receipt.email == "" and receipt.total == 950


def test_invoices_ask_for_an_email_only_when_receipts_are_mailed(sqlite_db: Database) -> None:
    from core.payments.invoice import invoice_for

    orders, _ = shop(sqlite_db)
    order = awaiting(orders, 1)
    assert invoice_for(order, orders.lines(order.id), "es", "TOKEN", need_email=True).need_email
    assert not invoice_for(order, orders.lines(order.id), "es", "TOKEN").need_email
    # Telegram asks nothing of a Stars payment.
    stars = replace(order, currency="XTR")
    assert not invoice_for(stars, [], "es", "", need_email=True).need_email
