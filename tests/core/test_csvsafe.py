"""CSV cells a spreadsheet would take for formulas are neutralised, and restored on the way back."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest

from core import csvsafe
from core.csvsafe import neutralise, restore, safe_row


@pytest.mark.parametrize(
    "cell",
    [
        '=HYPERLINK("http://x","clic")',
        "+1+1",
        "-2+3",
        "@SUM(A1)",
        "\t=1+1",
        "\r=1+1",
        "＝1+1",
        "＋1",
        "－1",
        "＠SUM(A1)",
    ],
)
def test_formula_starts_are_shown_as_text(cell: str) -> None:
    assert neutralise(cell) == "'" + cell
    assert restore(neutralise(cell)) == cell


@pytest.mark.parametrize("cell", ["Pizza Margarita", "", "2 pizzas = 1", "'quoted'", "'", "12.50"])
def test_plain_cells_are_left_alone(cell: str) -> None:
    assert neutralise(cell) == cell
    assert restore(cell) == cell


def test_rows_neutralise_text_but_not_numbers() -> None:
    out = io.StringIO()
    csv.writer(out).writerow(safe_row(["=cmd|' /C calc'!A0", -5, 3, "ok"]))
    assert next(csv.reader([out.getvalue()])) == ["'=cmd|' /C calc'!A0", "-5", "3", "ok"]


def test_the_writer_neutralises_every_text_cell_of_every_row() -> None:
    out = io.StringIO()
    writer = csvsafe.writer(out)
    writer.writerow(["@SUM(A1)", -3, Decimal("-1.50")])
    writer.writerows([["＝1+1", "ok"]])
    assert list(csv.reader(io.StringIO(out.getvalue()))) == [
        ["'@SUM(A1)", "-3", "-1.50"],
        ["'＝1+1", "ok"],
    ]
