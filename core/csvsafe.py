"""CSV cells a spreadsheet will not run: every CSV the bot sends passes its text cells here.

A cell starting with `=`, `+`, `-`, `@` (or tab / carriage return, which some spreadsheets skip
before reading a formula) is taken for a formula when the file is opened, so a product name or
an order text could run one on a staff member's machine (OWASP "CSV Injection"). A leading `'`
makes the spreadsheet show the cell as text. Full-width forms count too: some spreadsheets fold
`＝` to `=` before parsing.
"""

from __future__ import annotations

from collections.abc import Iterable

FORMULA_STARTS = frozenset("=+-@\t\r＝＋－＠")
QUOTE = "'"


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
