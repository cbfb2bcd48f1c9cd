"""The catalogue as a CSV file: read all or nothing, written back in the same form.

Header `sku,name_es,name_en,price,currency,category,stock,fulfilment` (any order; `;` works as
the separator too, as Excel writes it in Spanish), optionally `description`, `photo`, `active`.
Prices are in major units with `.` (`12.50`); a blank currency is the shop's; a blank stock is
unlimited; a blank fulfilment is `manual`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from core import csvsafe
from core.catalogue.product import Product
from core.catalogue.rows import COLUMNS, RowError, read_row
from core.money import to_major

HEADER = ("sku", "name_es", "name_en", "price", "currency", "category", "stock", "fulfilment")
# Columns written only when some product has something in them (so a file with the plain
# header comes back byte for byte).
EXTRA = ("description", "photo", "active")
REQUIRED = ("sku", "name_es", "price")
# 2 MB holds well over 10,000 products; a larger file is more likely a mistake than a menu.
MAX_BYTES = 2 * 1024 * 1024
MAX_PRODUCTS = 20_000
# Every code a CatalogueFileError may give (texts under catalogue.file in core/locales).
FILE_ERRORS = (
    "too_large",
    "not_utf8",
    "empty",
    "missing_column",
    "unknown_column",
    "duplicate_column",
    "too_many_rows",
)


class CatalogueFileError(ValueError):
    """The file as a whole cannot be read: `code` is too_large, not_utf8, empty,
    missing_column, unknown_column, duplicate_column or too_many_rows; `detail` the column."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(code if not detail else f"{code}: {detail}")
        self.code = code
        self.detail = detail


class CatalogueRejected(ValueError):
    """Some rows are bad: every problem with its line, and nothing of the file is to be used."""

    def __init__(self, errors: list[RowError]) -> None:
        super().__init__(f"{len(errors)} bad rows")
        self.errors = errors


@dataclass(frozen=True)
class _Layout:
    delimiter: str
    positions: dict[str, int]
    width: int


def _decode(data: bytes, max_bytes: int) -> str:
    if len(data) > max_bytes:
        raise CatalogueFileError("too_large", str(max_bytes))
    try:
        return data.decode("utf-8-sig")  # a BOM, as Excel writes, is dropped
    except UnicodeDecodeError:
        raise CatalogueFileError("not_utf8") from None


def _layout(header_line: str) -> _Layout:
    delimiter = ";" if header_line.count(";") > header_line.count(",") else ","
    header = next(csv.reader([header_line], delimiter=delimiter))
    positions: dict[str, int] = {}
    for index, cell in enumerate(header):
        name = cell.strip().lower()
        if not name:
            continue
        if name not in COLUMNS:
            raise CatalogueFileError("unknown_column", cell.strip())
        if name in positions:
            raise CatalogueFileError("duplicate_column", name)
        positions[name] = index
    for column in REQUIRED:
        if column not in positions:
            raise CatalogueFileError("missing_column", column)
    return _Layout(delimiter, positions, len(header))


def _records(text: str, layout: _Layout) -> Iterator[tuple[int, list[str] | None]]:
    """(line number of the row's start, its cells) for every non-blank data row; None for a
    row csv cannot read."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=layout.delimiter)
    next(reader)  # the header
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error:
            yield start, None
            continue
        if any(cell.strip() for cell in row):  # blank lines are not rows
            yield start, row


def _by_column(cells: list[str], layout: _Layout) -> dict[str, str]:
    return {name: cells[i] if i < len(cells) else "" for name, i in layout.positions.items()}


def parse_catalogue(
    data: bytes, *, default_currency: str, max_bytes: int = MAX_BYTES
) -> list[Product]:
    """Every product of a catalogue file, or nothing: raises CatalogueFileError for the file,
    CatalogueRejected with every bad row (line number, column, reason) for its rows."""
    text = _decode(data, max_bytes)
    header_line = text.split("\n", 1)[0].rstrip("\r")
    if not header_line.strip():
        raise CatalogueFileError("empty")
    layout = _layout(header_line)
    products: list[Product] = []
    errors: list[RowError] = []
    lines_of: dict[str, int] = {}
    for line, cells in _records(text, layout):
        if len(products) + len(errors) >= MAX_PRODUCTS:
            raise CatalogueFileError("too_many_rows", str(MAX_PRODUCTS))
        if cells is None or any(cell.strip() for cell in cells[layout.width :]):
            errors.append(RowError(line, "", "malformed" if cells is None else "columns"))
            continue
        product, row_errors = read_row(line, _by_column(cells, layout), default_currency)
        if product is not None:
            first = lines_of.setdefault(product.sku, line)
            if first != line:
                row_errors.append(RowError(line, "sku", "duplicate_sku", str(first)))
        errors.extend(row_errors)
        if product is not None and not row_errors:
            products.append(product)
    if errors:
        raise CatalogueRejected(errors)
    return products


def _extra_values(product: Product) -> dict[str, str]:
    return {
        "description": product.description,
        "photo": product.photo,
        "active": "" if product.active else "no",
    }


def _cells(product: Product, extra: tuple[str, ...]) -> list[object]:
    values = _extra_values(product)
    return [
        product.sku,
        product.name_es,
        product.name_en,
        to_major(product.price, product.currency),
        product.currency,
        product.category,
        "" if product.stock is None else product.stock,
        product.fulfilment.value,
        *(values[column] for column in extra),
    ]


def write_catalogue(products: Iterable[Product]) -> str:
    """The catalogue as the CSV `parse_catalogue` reads back, text cells safe to open in a
    spreadsheet (see core.csvsafe)."""
    products = list(products)
    used = [_extra_values(p) for p in products]
    extra = tuple(column for column in EXTRA if any(values[column] for values in used))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER + extra)
    for product in products:
        writer.writerow(csvsafe.safe_row(_cells(product, extra)))
    return out.getvalue()
