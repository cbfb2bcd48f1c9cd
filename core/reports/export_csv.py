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
from datetime import datetime
from decimal import Decimal
from typing import TextIO
from zoneinfo import ZoneInfo

from core.csvsafe import safe_row
from core.money import currency
from core.reports.export_rows import ExportLine, ExportOrder

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
        unit = self._units.get(code)
        if unit is None:
            unit = self._units[code] = Decimal(1).scaleb(-currency(code).exponent)
        return minor * unit  # exact: 1250 * Decimal("0.01") == Decimal("12.50")


class ExportWriter:
    """Writes pages of orders to the lines file and the orders file (both open, UTF-8 with
    a BOM, newline="")."""

    def __init__(self, lines_out: TextIO, orders_out: TextIO, zone: str, language: str) -> None:
        # Plain csv writers: every cell handed to them below has been through safe_row.
        self._lines = csv.writer(lines_out)
        self._orders = csv.writer(orders_out)
        self._zone = ZoneInfo(zone)
        self._english = language == "en"
        self._amount = Amounts()
        self.orders = 0
        self.line_rows = 0
        self._lines.writerow(LINE_COLUMNS)
        self._orders.writerow(ORDER_COLUMNS)

    def add(self, orders: list[ExportOrder]) -> None:
        """One page's rows in both files."""
        for order in orders:
            self._add(order)
        self.orders += len(orders)

    def _add(self, order: ExportOrder) -> None:
        amount, code = self._amount, order.currency
        when = datetime.fromtimestamp(order.created_at, self._zone).isoformat(timespec="seconds")
        who = safe_row([order.id, when, order.state, order.user_id, order.customer])
        money = [
            amount(order.delivery_fee, code),
            amount(order.total, code),
            code,
            amount(order.paid, code),
            amount(order.refunded, code),
            amount(order.refund_due, code),
        ]
        payment = safe_row(
            [
                order.payment_method,
                " ".join(order.telegram_charge_ids),
                " ".join(order.provider_charge_ids),
            ]
        )
        tail = safe_row(money) + payment
        subtotal = amount(order.subtotal, code)
        text = safe_row([order.text])
        self._orders.writerow([*who, *text, len(order.lines), subtotal, *tail])
        if not order.lines:
            self._lines.writerow([*who, "", "", *text, "", "", "", *tail])
            self.line_rows += 1
            return
        for line in order.lines:
            self._lines.writerow([*who, *self._line_cells(line, code), *tail])
        self.line_rows += len(order.lines)

    def _line_cells(self, line: ExportLine, code: str) -> list[object]:
        name = (line.name_en or line.name_es) if self._english else line.name_es
        return safe_row(
            [
                line.position + 1,
                line.sku,
                name,
                line.quantity,
                self._amount(line.unit_price, code),
                self._amount(line.line_total, code),
            ]
        )
