"""One catalogue CSV row checked as a product: every bad cell found, with its reason."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from core import csvsafe
from core.catalogue.product import (
    Product,
    ProductError,
    clean_category,
    clean_description,
    clean_name,
    clean_sku,
    parse_fulfilment,
    parse_stock,
)
from core.money import MoneyError, currency, parse_amount

COLUMNS = frozenset(
    {
        "sku",
        "name_es",
        "name_en",
        "price",
        "currency",
        "category",
        "stock",
        "fulfilment",
        "description",
        "photo",
        "active",
    }
)
# Every reason a RowError may give (each has a text under catalogue.reason in core/locales).
REASONS = (
    "malformed",
    "columns",
    "missing_sku",
    "bad_sku",
    "duplicate_sku",
    "missing_name",
    "name_too_long",
    "bad_text",
    "category_too_long",
    "description_too_long",
    "bad_photo",
    "bad_price",
    "negative",
    "too_many_decimals",
    "too_large",
    "unknown_currency",
    "bad_stock",
    "bad_fulfilment",
    "bad_active",
)
YES = frozenset({"", "si", "sí", "yes", "true", "1"})
NO = frozenset({"no", "false", "0"})
T = TypeVar("T")


@dataclass(frozen=True)
class RowError:
    """A bad cell (or row, when `column` is blank): its line in the file, counting the header
    as line 1, and a reason code (bad_price, negative, too_many_decimals, unknown_currency,
    duplicate_sku, missing_name, bad_stock, bad_fulfilment…). `detail` is the first line of
    the SKU for duplicate_sku, the allowed decimals for too_many_decimals."""

    line: int
    column: str
    reason: str
    detail: str = ""


def parse_active(raw: str) -> bool:
    """`sí`/`yes` (or blank) for a product on sale, `no` for one withdrawn."""
    text = raw.strip().lower()
    if text in YES:
        return True
    if text in NO:
        return False
    raise ProductError("bad_active")


class _Row:
    """Reads one row's cells, collecting a RowError per bad cell instead of stopping."""

    def __init__(self, line: int, cells: dict[str, str]) -> None:
        self.line = line
        self.cells = cells
        self.errors: list[RowError] = []

    def text(self, column: str) -> str:
        return csvsafe.restore(self.cells.get(column, "").strip())

    def get(self, column: str, read: Callable[[str], T], default: T) -> T:
        try:
            return read(self.text(column))
        except ProductError as exc:
            self.errors.append(RowError(self.line, column, exc.code))
        except MoneyError as exc:
            detail = str(exc.values.get("decimals", ""))
            self.errors.append(RowError(self.line, column, exc.code, detail))
        return default


def read_row(
    line: int, cells: dict[str, str], default_currency: str
) -> tuple[Product | None, list[RowError]]:
    """The row's product (None when its SKU is unreadable) and every problem found in it."""
    row = _Row(line, cells)
    sku = row.get("sku", clean_sku, "")
    code = row.get("currency", lambda raw: currency(raw or default_currency).code, "")
    price = row.get("price", lambda raw: parse_amount(raw, code), 0) if code else 0
    product = Product(
        sku=sku,
        name_es=row.get("name_es", lambda raw: clean_name(raw, required=True), ""),
        name_en=row.get("name_en", lambda raw: clean_name(raw, required=False), ""),
        price=price,
        currency=code,
        category=row.get("category", clean_category, ""),
        description=row.get("description", clean_description, ""),
        photo=row.get("photo", _clean_photo, ""),
        stock=row.get("stock", parse_stock, None),
        active=row.get("active", parse_active, True),
        fulfilment=row.get("fulfilment", parse_fulfilment, parse_fulfilment("")),
    )
    return (product if sku else None), row.errors


def _clean_photo(raw: str) -> str:
    # A file name under the shop's photo folder or a Telegram file_id: one token, no path tricks.
    if raw and (".." in raw or raw.startswith("/") or any(ch.isspace() for ch in raw)):
        raise ProductError("bad_photo")
    return raw
