"""The two CSV files of an export, written a page at a time: one row per order line
(`pedidos-lineas-…csv`) and one row per order (`pedidos-…csv`).

- Every text cell passes core.csvsafe: a customer's `=HYPERLINK(…)` is shown, never run.
- Amounts are Decimals in major units made from the integer minor units and the currency's
  exponent (1250 EUR cents → 12.50, 5 Stars → 5): a spreadsheet reads them as numbers, and
  csvsafe, which quotes text only, leaves them alone. No float ever holds one.
- Refunds are positive amounts in their own columns (`refunded`, `refund_due`), never a
  negative: the net is `paid - refunded`, and no cell needs a minus sign at all.
- Times are ISO 8601 with the offset of the shop's time zone (2026-11-03T10:15:00+01:00).
- In the lines file the order's own amounts (delivery fee, total, paid, refunds) repeat on
  each of its lines, so every row stands alone in a filter or a pivot table: sum `line_total`
  there, and the order amounts in the orders file. An order without lines (a free-text
  order) has one row there, its text as the product.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import TextIO
from zoneinfo import ZoneInfo

from core.csvsafe import safe_row
from core.money import currency
from core.reports.export_rows import ExportLine, ExportOrder

# Rows end as csv.writer ends them (RFC 4180).
EOL = "\r\n"
# Lines (product, price, quantity) whose CSV text is kept while writing; then it starts over.
PRODUCTS_KEPT = 10_000
_WHO = ("order_id", "created_at", "state", "customer_id", "customer")
_PAYMENT = ("payment_method", "telegram_charge_ids", "provider_charge_ids")
LINE_COLUMNS = (
    *_WHO,
    "line",
    "sku",
    "product",
    "quantity",
    "unit_price",
    "line_total",
    "delivery_fee",
    "order_total",
    "currency",
    "paid",
    "refunded",
    "refund_due",
    *_PAYMENT,
)
ORDER_COLUMNS = (
    *_WHO,
    "text",
    "lines",
    "subtotal",
    "delivery_fee",
    "order_total",
    "currency",
    "paid",
    "refunded",
    "refund_due",
    *_PAYMENT,
)


class Amounts:
    """Minor units → major units as a Decimal, each currency's unit looked up once."""

    def __init__(self) -> None:
        self._units: dict[str, Decimal] = {}

    def __call__(self, minor: int, code: str) -> Decimal | str:
        if not code:
            return ""  # a free-text order of a shop without a catalogue: no money
        return minor * self.unit(code)  # exact: 1250 * Decimal("0.01") == Decimal("12.50")

    def unit(self, code: str) -> Decimal:
        """One minor unit of `code` in major units: Decimal("0.01") for EUR, 1 for XTR."""
        unit = self._units.get(code)
        if unit is None:
            unit = self._units[code] = Decimal(1).scaleb(-currency(code).exponent)
        return unit


class _LastRow:
    """The file csv.writer writes a row to: it keeps the row (one write call per row)."""

    text = ""

    def write(self, text: str) -> None:
        self.text = text


class CsvCells:
    """Cells as csv.writer writes them (its quoting), each text cell through csvsafe, with no
    line end: an order's cells are made once and joined to each of its lines' cells, so a
    line costs the formatting of its own cells, not of the twenty of its row."""

    def __init__(self) -> None:
        self._row = _LastRow()
        # The line end stays csv's own: it also decides which cells need quotes (a text
        # with a newline does), and is cut off each time.
        self._writer = csv.writer(self._row, lineterminator=EOL)

    def __call__(self, cells: Sequence[object]) -> str:
        # csv writes a row of one empty cell as `""`: every call here has several cells.
        self._writer.writerow(safe_row(cells))
        return self._row.text[: -len(EOL)]


class ExportWriter:
    """Writes pages of orders to the lines file and the orders file (both open, UTF-8 with
    a BOM, newline="")."""

    def __init__(self, lines_out: TextIO, orders_out: TextIO, zone: str, language: str) -> None:
        self._lines_out = lines_out
        self._orders_out = orders_out
        self._cells = CsvCells()
        self._zone = ZoneInfo(zone)
        self._english = language == "en"
        self._amount = Amounts()
        self._lines: dict[tuple[str, tuple[object, ...]], str] = {}
        self.orders = 0
        self.line_rows = 0
        lines_out.write(self._cells(LINE_COLUMNS) + EOL)
        orders_out.write(self._cells(ORDER_COLUMNS) + EOL)

    def add(self, orders: list[ExportOrder]) -> None:
        """One page's rows in both files (each file written once per page)."""
        line_rows: list[str] = []
        order_rows: list[str] = []
        for order in orders:
            self._add(order, line_rows, order_rows)
        self._lines_out.write("".join(line_rows))
        self._orders_out.write("".join(order_rows))
        self.orders += len(orders)
        self.line_rows += len(line_rows)

    def _add(self, order: ExportOrder, line_rows: list[str], order_rows: list[str]) -> None:
        cells, amount, code = self._cells, self._amount, order.currency
        when = datetime.fromtimestamp(order.created_at, self._zone).isoformat(timespec="seconds")
        head = cells([order.id, when, order.state, order.user_id, order.customer])
        money: list[object] = ["", "", "", "", "", ""]  # a free-text order: no money
        if code:
            unit = amount.unit(code)
            money = [
                order.delivery_fee * unit,
                order.total * unit,
                code,
                order.paid * unit,
                order.refunded * unit,
                order.refund_due * unit,
            ]
        charges = [" ".join(order.telegram_charge_ids), " ".join(order.provider_charge_ids)]
        tail = cells([*money, order.payment_method, *charges])
        own = cells([order.text, len(order.lines), amount(order.subtotal, code)])
        order_rows.append(f"{head},{own},{tail}{EOL}")
        if not order.lines:
            line_rows.append(f"{head},{cells(['', '', order.text, '', '', ''])},{tail}{EOL}")
            return
        line_rows.extend(
            f"{head},{line[1] + 1},{self._line(code, line)},{tail}{EOL}" for line in order.lines
        )

    def _line(self, code: str, line: ExportLine) -> str:
        """A line's cells after its number, as CSV text: made once for each product, price
        and quantity (a shop sells the same few often), kept for PRODUCTS_KEPT of them."""
        key = (code, line[2:])
        known = self._lines.get(key)
        if known is None:
            if len(self._lines) >= PRODUCTS_KEPT:
                self._lines.clear()
            _, _, sku, name_es, name_en, unit_price, quantity, total = line
            name = (name_en or name_es) if self._english else name_es
            amount = self._amount
            cells = [sku, name, quantity, amount(unit_price, code), amount(total, code)]
            known = self._lines[key] = self._cells(cells)
        return known
