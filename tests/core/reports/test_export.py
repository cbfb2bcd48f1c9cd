"""/exportar's files, on SQLite and PostgreSQL: what a spreadsheet user opens — formulas shown
as text, times in the shop's zone, a BOM, and money that adds up to the database's."""

from __future__ import annotations

import csv
import io
import itertools
import zipfile
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from core.catalogue.product import Product
from core.catalogue.store import CatalogueStore
from core.csvsafe import safe_row
from core.db.engine import Database
from core.db.payments import PaymentRow, RefundRow
from core.orders.priced import place_priced
from core.orders.pricing import price
from core.orders.store import OrderStore
from core.payments.payload import make_payload
from core.payments.store import Paid, PaymentStore
from core.reports.export import Exporter, ExportRequest, file_names, parse_range
from core.reports.export_csv import EOL, LINE_COLUMNS, ORDER_COLUMNS, CsvCells
from core.reports.period import Period, PeriodError

MADRID = "Europe/Madrid"
FORMULA = '=HYPERLINK("http://x","y")'
DAY = date(2026, 11, 4)


def at(text: str) -> float:
    """A UTC time of 2026 as a timestamp."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


@dataclass
class FakeCourier:
    """The courier's three calls, recorded; files read before the export deletes them."""

    edits: list[str] = field(default_factory=list)
    sent: dict[str, str] = field(default_factory=dict)
    files: dict[str, tuple[str, str, bytes]] = field(default_factory=dict)

    def send(self, chat_id: int, text: str, *, key: str) -> int:
        self.sent.setdefault(key, text)
        return 77

    def edit(self, chat_id: int, message_id: int, text: str, **_: Any) -> int:
        self.edits.append(text)
        return message_id

    def send_file(self, chat_id: int, method: str, path: Path, **options: Any) -> int:
        self.files[options["key"]] = (options["file_name"], options["mime_type"], path.read_bytes())
        return 78

    def already_sent(self, key: str) -> int | None:
        return 78 if key in self.files or key in self.sent else None


@dataclass
class Shop:
    db: Database
    store: OrderStore
    payments: PaymentStore
    now: list[float]

    def free_text(self, when: str, text: str) -> str:
        self.now[0] = at(when)
        order, _ = self.store.create(5, 5, text, int(self.now[0]))
        return order.id

    def priced(self, when: str, wanted: list[tuple[str, int]], currency: str) -> str:
        self.now[0] = at(when)
        catalogue = CatalogueStore(self.db)
        [quote] = price(wanted, catalogue.get_many([s for s, _ in wanted]), shop_currency=currency)
        method = "stars" if currency == "XTR" else "telegram"
        order, _ = place_priced(self.store, 6, 6, quote, f"t{self.now[0]}", "es", method, True)
        return order.id

    def pay(self, order_id: str, charge: str, name: str = "") -> None:
        order = self.store.get(order_id)
        provider = "" if order.currency == "XTR" else f"ch_{charge}"
        paid = Paid(
            order_id, 6, order.currency, order.total, make_payload(order_id, 6), charge, provider
        )
        self.payments.record(paid.__class__(**{**paid.__dict__, "name": name}))

    def refund(self, order_id: str, status: str) -> None:
        payment = self.payments.payment_of(order_id)
        assert payment is not None
        assert self.payments.record_refund(payment, status, "test")


@pytest.fixture
def shop(database_url: str) -> Any:
    db = Database(database_url)
    CatalogueStore(db).replace_all(
        [
            Product("PIZ", "Pizza margarita", "Margherita pizza", 1250, "EUR", stock=50),
            Product("CAF", "Café", "Coffee", 150, "EUR", stock=50),
            Product("STA", "Pegatina", "Sticker", 50, "XTR", stock=50),
        ]
    )
    now = [0.0]
    store = OrderStore(db, clock=lambda: now[0])
    yield Shop(db, store, PaymentStore(store), now)
    db.dispose()


def export(
    shop: Shop, first: date, last: date, courier: FakeCourier | None = None, **options: Any
) -> FakeCourier:
    courier = courier or FakeCourier()
    exporter = Exporter(shop.db, courier, **options)
    exporter.run(ExportRequest(-100, 55, Period(first, last, MADRID), "es", key="export:t"))
    return courier


def rows(data: bytes) -> list[dict[str, str]]:
    assert data.startswith(b"\xef\xbb\xbf"), "no BOM: Excel would read it as ANSI"
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def test_the_export_shows_formulas_as_text_in_the_shops_time(shop: Shop) -> None:
    # 23:30 UTC on the 3rd is 00:30 on the 4th in Madrid: the 4th's order.
    formula = shop.free_text("2026-11-03T23:30:00", FORMULA)
    paid = shop.priced("2026-11-04T09:15:00", [("PIZ", 2), ("CAF", 1)], "EUR")
    shop.pay(paid, "card-1", name="+1-2")
    shop.free_text("2026-11-03T22:59:00", "the 3rd in Madrid too")  # not exported

    # A page an order, and a clock that moves 5 s between looks: each page shows progress.
    courier = export(shop, DAY, DAY, page=1, clock=itertools.count(0, 5).__next__)

    lines_name, orders_name = file_names(Period(DAY, DAY, MADRID))
    assert lines_name == "pedidos-lineas-2026-11-04-2026-11-04.csv"
    name, mime, data = courier.files["export:t:lines"]
    assert (name, mime) == (lines_name, "text/csv")
    lines = rows(data)
    assert tuple(lines[0]) == LINE_COLUMNS
    assert [(r["order_id"], r["line"], r["product"]) for r in lines] == [
        (formula, "", "'" + FORMULA),
        (paid, "1", "Pizza margarita"),
        (paid, "2", "Café"),
    ]
    assert lines[0]["created_at"] == "2026-11-04T00:30:00+01:00"
    assert lines[1]["created_at"] == "2026-11-04T10:15:00+01:00"
    assert lines[1]["customer"] == "'+1-2"
    assert [(r["quantity"], r["unit_price"], r["line_total"]) for r in lines[1:]] == [
        ("2", "12.50", "25.00"),
        ("1", "1.50", "1.50"),
    ]
    assert lines[1]["order_total"] == "26.50" and lines[1]["paid"] == "26.50"
    assert lines[1]["provider_charge_ids"] == "ch_card-1"

    name, _, data = courier.files["export:t:orders"]
    orders = {r["order_id"]: r for r in rows(data)}
    assert name == orders_name and list(orders) == [formula, paid]
    assert tuple(orders[formula]) == ORDER_COLUMNS
    assert orders[formula]["text"] == "'" + FORMULA
    assert (orders[formula]["lines"], orders[formula]["order_total"]) == ("0", "")
    assert (orders[paid]["lines"], orders[paid]["subtotal"]) == ("2", "26.50")
    assert (orders[paid]["state"], orders[paid]["currency"]) == ("pendiente", "EUR")
    assert orders[paid]["text"] == shop.store.get(paid).text  # several lines, quoted whole

    bars = [edit.split("\n")[1] for edit in courier.edits[:-1]]
    assert bars == ["▱▱▱▱▱▱▱▱▱▱ 0%", "▰▰▰▰▰▱▱▱▱▱ 50%", "▰▰▰▰▰▰▰▰▰▰ 100%"]
    assert "pedidos: 2 · filas de líneas: 3" in courier.edits[-1]


def test_the_files_money_adds_up_to_the_payments_less_the_refunds(shop: Shop) -> None:
    for n in range(6):
        order = shop.priced(f"2026-11-04T1{n}:00:00", [("PIZ", n + 1)], "EUR")
        shop.pay(order, f"card-{n}")
        if n % 3 == 1:
            shop.refund(order, "due")  # owed at the provider
        elif n % 3 == 2:
            shop.refund(order, "done")
        stars = shop.priced(f"2026-11-04T1{n}:30:00", [("STA", n + 1)], "XTR")
        shop.pay(stars, f"stars-{n}")
        if n % 2:
            shop.refund(stars, "done")
    shop.priced("2026-11-04T18:00:00", [("CAF", 3)], "EUR")  # never paid
    shop.free_text("2026-11-04T19:00:00", "2 empanadas")

    orders = rows(export(shop, DAY, DAY, page=4).files["export:t:orders"][2])

    in_file: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for row in orders:
        for column in ("paid", "refunded", "refund_due"):
            if row["currency"]:
                in_file[row["currency"]][column] += Decimal(row[column])
    with shop.db.reading() as session:
        paid = dict(
            session.execute(
                select(PaymentRow.currency, func.sum(PaymentRow.total_amount)).group_by(
                    PaymentRow.currency
                )
            ).all()
        )
        refunded = dict(
            session.execute(
                select(RefundRow.currency, func.sum(RefundRow.amount)).group_by(RefundRow.currency)
            ).all()
        )
    assert len(orders) == 14
    unit = {"EUR": Decimal("0.01"), "XTR": Decimal(1)}
    for code in ("EUR", "XTR"):
        net = in_file[code]["paid"] - in_file[code]["refunded"] - in_file[code]["refund_due"]
        assert net == (paid[code] - refunded[code]) * unit[code]
        assert net > 0
    assert in_file["EUR"]["refund_due"] == (2 + 5) * Decimal("12.50")
    assert in_file["EUR"]["refunded"] == (3 + 6) * Decimal("12.50")
    assert in_file["XTR"]["refunded"] == 50 * (2 + 4 + 6)


def test_pages_do_not_lose_or_repeat_orders_created_at_the_same_time(shop: Shop) -> None:
    made = {shop.free_text("2026-11-04T12:00:00", f"pedido {n}") for n in range(7)}
    lines = rows(export(shop, DAY, DAY, page=2).files["export:t:lines"][2])
    assert sorted(r["order_id"] for r in lines) == sorted(made)


def test_a_file_too_big_for_telegram_goes_zipped_and_one_too_big_even_so_is_named(
    shop: Shop,
) -> None:
    for n in range(40):
        shop.free_text(f"2026-11-04T12:{n:02d}:00", f"pedido número {n} " * 10)
    courier = export(shop, DAY, DAY, send_limit=9_000)
    name, mime, data = courier.files["export:t:lines"]
    assert (name, mime) == ("pedidos-lineas-2026-11-04-2026-11-04.csv.zip", "application/zip")
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert len(rows(zf.read("pedidos-lineas-2026-11-04-2026-11-04.csv"))) == 40

    courier = export(shop, DAY, DAY, send_limit=500)
    assert not courier.files
    assert "pasa de 50 MB aun comprimido" in courier.sent["export:t:lines:too_big"]


def test_a_run_again_after_the_chat_got_both_files_redoes_nothing(shop: Shop) -> None:
    shop.free_text("2026-11-04T12:00:00", "2 empanadas")
    courier = export(shop, DAY, DAY)
    sent, edits = dict(courier.files), list(courier.edits)
    export(shop, DAY, DAY, courier)  # the same export key: a retry, a recovered task
    assert courier.files == sent and courier.edits == edits


def test_an_empty_period_says_so(shop: Shop) -> None:
    courier = export(shop, DAY, DAY)
    assert not courier.files
    assert courier.edits == [
        "📤 No hay pedidos del 2026-11-04 al 2026-11-04 (Europe/Madrid): nada que exportar."
    ]


def test_cells_are_quoted_as_the_csv_module_quotes_them() -> None:
    tricky = ['a,"b"', "line\nbreak", "cr\rhere", "=1+1", "", " x ", 7, Decimal("-1.50")]
    line = CsvCells()(tricky) + EOL
    assert line == CsvCells()(tricky) + EOL  # the buffer is reused, nothing left over
    assert next(csv.reader(io.StringIO(line, newline=""))) == [str(c) for c in safe_row(tricky)]


@pytest.mark.parametrize(
    ("words", "key"),
    [
        ([], "usage"),
        (["2026-13-01"], "bad_date"),
        (["2026-11-30", "2026-11-01"], "bad_order"),
        (["2026-01-01", "2027-01-02"], "too_long"),
    ],
)
def test_bad_ranges_are_refused_with_their_reason(words: list[str], key: str) -> None:
    with pytest.raises(PeriodError) as refused:
        parse_range(words, MADRID)
    assert refused.value.key == key


def test_one_date_is_that_day_and_a_year_is_allowed() -> None:
    assert parse_range(["2026-11-04"], MADRID) == Period(DAY, DAY, MADRID)
    year = parse_range(["2028-01-01", "2028-12-31"], MADRID)  # a leap year: 366 days
    assert len(year.days) == 366
