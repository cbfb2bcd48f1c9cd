"""CSV cells a spreadsheet will not run: every CSV the bot sends passes its text cells here.

A cell starting with `=`, `+`, `-`, `@` (or tab / carriage return, which some spreadsheets skip
before reading a formula) is taken for a formula when the file is opened, so a product name or
an order text could run one on a staff member's machine (OWASP "CSV Injection"). A leading `'`
makes the spreadsheet show the cell as text. Full-width forms count too: some spreadsheets fold
`＝` to `=` before parsing.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import Any, TextIO

FORMULA_STARTS = frozenset("=+-@\t\r＝＋－＠")
QUOTE = "'"
# How every CSV the bot sends is encoded: UTF-8 with a BOM, without which Excel reads UTF-8 as
# the machine's legacy code page (accents and emoji come out garbled). Readers drop it.
ENCODING = "utf-8-sig"


def neutralise(cell: str) -> str:
    """The cell as text a spreadsheet shows and does not evaluate."""
    return QUOTE + cell if cell[:1] in FORMULA_STARTS else cell


def restore(cell: str) -> str:
    """Inverse of `neutralise`, for a file the bot wrote coming back (an export edited and
    re-imported): only a quote that `neutralise` could have added is taken away."""
    if cell[:1] == QUOTE and cell[1:2] in FORMULA_STARTS:
        return cell[1:]
    return cell


def safe_row(cells: Iterable[object]) -> list[object]:
    """A row for `csv.writer` with every text cell neutralised; numbers pass unchanged (a
    negative number is a number, not a formula)."""
    return [neutralise(cell) if isinstance(cell, str) else cell for cell in cells]


class SafeWriter:
    """`csv.writer` whose every row goes through `safe_row`: a file written with it cannot
    carry a formula, whatever a customer or a product name says."""

    def __init__(self, out: TextIO, **fmtparams: Any) -> None:
        self._writer = csv.writer(out, **fmtparams)

    def writerow(self, row: Iterable[object]) -> Any:
        return self._writer.writerow(safe_row(row))

    def writerows(self, rows: Iterable[Iterable[object]]) -> None:
        for row in rows:
            self.writerow(row)


def writer(out: TextIO, **fmtparams: Any) -> SafeWriter:
    """A CSV writer for a file the bot sends (open it with `ENCODING` and `newline=""`)."""
    return SafeWriter(out, **fmtparams)
