"""Reading an import CSV from disk as a stream: UTF-8 with or without BOM, `,` or `;`.

Nothing holds the whole file: the rows are counted in one pass (for the progress bar) and
read in a second, one at a time.
"""

from __future__ import annotations

import contextlib
import csv
import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from core import csvsafe

# Column names (lower case) and what they mean; Spanish and English both work.
COLUMNS = {
    "chat_id": "chat_id",
    "chat": "chat_id",
    "texto": "text",
    "text": "text",
    "idioma": "language",
    "language": "language",
    "referencia": "reference",
    "reference": "reference",
    # `efectivo` (cash): placed as a cash order, the customer only told; empty: the customer
    # confirms (and pays) it.
    "pago": "payment",
    "payment": "payment",
    # The total the file expects: checked against the server's price, never charged.
    "total": "total",
}
REQUIRED = ("chat_id", "text")
# One field may not be longer than this (csv's own limit is 128 KiB): an order text is 500.
FIELD_LIMIT = 4096


class NotUtf8(ValueError):
    """The file is not UTF-8."""


class MissingColumn(ValueError):
    def __init__(self, column: str) -> None:
        super().__init__(column)
        self.column = column


@dataclass(frozen=True)
class Layout:
    """How the file is written: its delimiter and which column holds what."""

    delimiter: str
    positions: dict[str, int]
    width: int
    header: tuple[str, ...] = ()


@contextmanager
def _text(path: Path) -> Iterator[io.TextIOWrapper]:
    # utf-8-sig drops a BOM when there is one; newline='' lets csv see quoted newlines.
    with path.open("rb") as raw, io.TextIOWrapper(raw, encoding="utf-8-sig", newline="") as fh:
        yield fh


def layout_of(path: Path) -> Layout | None:
    """The delimiter (from the header line: `;` when it has more of them than `,`) and the
    columns; None for an empty file. Raises NotUtf8 or MissingColumn."""
    csv.field_size_limit(FIELD_LIMIT)
    try:
        with _text(path) as fh:
            first = fh.readline()
    except UnicodeDecodeError:
        raise NotUtf8() from None
    if not first.strip():
        return None
    delimiter = ";" if first.count(";") > first.count(",") else ","
    header = next(csv.reader([first], delimiter=delimiter))
    positions: dict[str, int] = {}
    for index, name in enumerate(header):
        meaning = COLUMNS.get(name.strip().lower())
        if meaning and meaning not in positions:
            positions[meaning] = index
    for column in REQUIRED:
        if column not in positions:
            raise MissingColumn(column)
    return Layout(delimiter, positions, len(header), tuple(header))


def _reader(fh: io.TextIOWrapper, layout: Layout) -> Iterator[list[str] | None]:
    """Each data row's cells; None for a row csv cannot read (e.g. a cell over FIELD_LIMIT),
    after which reading goes on with the next one."""
    reader = csv.reader(fh, delimiter=layout.delimiter)
    with contextlib.suppress(csv.Error):
        next(reader, None)  # the header
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error:
            yield None
            continue
        if row and any(cell.strip() for cell in row):  # blank lines are not rows
            yield row


def count_rows(path: Path, layout: Layout) -> int:
    """Data rows in the file (a first, streamed pass). Raises NotUtf8."""
    try:
        with _text(path) as fh:
            return sum(1 for _ in _reader(fh, layout))
    except UnicodeDecodeError:
        raise NotUtf8() from None


@dataclass(frozen=True)
class RawRow:
    """One data row: its number in the file (the header is row 1) and its cells by meaning."""

    number: int
    cells: dict[str, str]
    extra_cells: bool
    original: list[str]
    malformed: bool = False


def read_rows(path: Path, layout: Layout) -> Iterator[RawRow]:
    """Every data row, one at a time (a malformed one flagged, and reading goes on).

    Raises NotUtf8 when bytes further in are not UTF-8.
    """
    with _text(path) as fh:
        try:
            for number, row in enumerate(_reader(fh, layout), start=2):
                if row is None:
                    yield RawRow(number, {}, False, [], malformed=True)
                    continue
                # A cell neutralised by a file the bot sent (its rejected rows, fixed and sent
                # back) is read as it was written.
                cells = {
                    meaning: csvsafe.restore(row[index].strip()) if index < len(row) else ""
                    for meaning, index in layout.positions.items()
                }
                extra = len(row) > layout.width and any(c.strip() for c in row[layout.width :])
                yield RawRow(number, cells, extra, row)
        except UnicodeDecodeError:
            raise NotUtf8() from None
