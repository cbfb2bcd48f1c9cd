"""Staff quick edits: `/precio SKU 12.50`, `/stock SKU 10`, `/agotado SKU`."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from core.catalogue.edits import (
    EditError,
    PriceEdit,
    StockEdit,
    parse_price_edit,
    parse_sold_out,
    parse_stock_edit,
)
from core.money import MoneyError


def test_a_price_edit_reads_in_the_products_currency() -> None:
    edit = parse_price_edit("pz-marg 12.50")
    assert edit == PriceEdit("PZ-MARG", "12.50")
    assert edit.price("EUR") == 1250
    with pytest.raises(MoneyError) as err:
        edit.price("CLP")
    assert err.value.code == "too_many_decimals"


@pytest.mark.parametrize(
    ("args", "stock"),
    [("PZ-MARG 10", 10), ("PZ-MARG 0", 0), ("PZ-MARG ∞", None), ("PZ-MARG Ilimitado", None)],
)
def test_a_stock_edit_is_a_count_or_unlimited(args: str, stock: int | None) -> None:
    assert parse_stock_edit(args) == StockEdit("PZ-MARG", stock)


def test_sold_out_names_one_product() -> None:
    assert parse_sold_out("  pz-marg ") == "PZ-MARG"


@pytest.mark.parametrize(
    ("parse", "args", "code"),
    [
        (parse_price_edit, "", "usage"),
        (parse_price_edit, "PZ-MARG", "usage"),
        (parse_price_edit, "PZ-MARG 12 50", "usage"),
        (parse_price_edit, "PZ/MARG 12.50", "bad_sku"),
        (parse_stock_edit, "PZ-MARG", "usage"),  # a forgotten number changes nothing
        (parse_stock_edit, "PZ-MARG -3", "bad_stock"),
        (parse_stock_edit, "PZ-MARG diez", "bad_stock"),
        (parse_stock_edit, "PZ-MARG 2.5", "bad_stock"),
        (parse_sold_out, "", "usage"),
        (parse_sold_out, "A B", "usage"),
        (parse_sold_out, "<b>", "bad_sku"),
    ],
)
def test_bad_edits_say_why(parse: Callable[[str], object], args: str, code: str) -> None:
    with pytest.raises(EditError) as err:
        parse(args)
    assert err.value.code == code
