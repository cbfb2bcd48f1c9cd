"""A product's names, availability and field rules."""

from __future__ import annotations

import pytest

from core.catalogue.product import (
    Product,
    ProductError,
    clean_name,
    clean_sku,
    parse_fulfilment,
    parse_stock,
)


def test_a_product_without_an_english_name_shows_the_spanish_one() -> None:
    both = Product("A", "Tarta de queso", "Cheesecake", 450, "EUR")
    spanish_only = Product("B", "Churros", "", 300, "EUR")
    assert (both.name("es"), both.name("en")) == ("Tarta de queso", "Cheesecake")
    assert spanish_only.name("en") == "Churros"


def test_what_can_be_sold() -> None:
    assert Product("A", "A", "", 1, "EUR", stock=None).can_sell(99)
    assert Product("A", "A", "", 1, "EUR", stock=2).can_sell(2)
    assert not Product("A", "A", "", 1, "EUR", stock=2).can_sell(3)
    assert not Product("A", "A", "", 1, "EUR", active=False).can_sell(1)


@pytest.mark.parametrize(("raw", "sku"), [("pz-marg", "PZ-MARG"), (" A1.b_2 ", "A1.B_2")])
def test_skus_are_stored_upper_case(raw: str, sku: str) -> None:
    assert clean_sku(raw) == sku


@pytest.mark.parametrize(
    ("read", "raw", "code"),
    [
        (clean_sku, "", "missing_sku"),
        (clean_sku, "-A", "bad_sku"),
        (clean_sku, "A B", "bad_sku"),
        (clean_sku, "A" * 33, "bad_sku"),
        (clean_sku, "PIZZA<b>", "bad_sku"),
        (parse_stock, "-1", "bad_stock"),
        (parse_stock, "1.5", "bad_stock"),
        (parse_stock, "１０", "bad_stock"),  # full-width digits
        (parse_stock, "1000001", "bad_stock"),
        (parse_fulfilment, "auto", "bad_fulfilment"),
    ],
)
def test_bad_fields_say_why(read: object, raw: str, code: str) -> None:
    assert callable(read)
    with pytest.raises(ProductError) as err:
        read(raw)
    assert err.value.code == code


def test_names_are_one_line_and_free_of_hidden_characters() -> None:
    assert clean_name("  Pizza \n  Margarita ", required=True) == "Pizza Margarita"
    assert clean_name("", required=False) == ""
    for raw, code in [("", "missing_name"), ("x" * 81, "name_too_long"), ("a\u202eb", "bad_text")]:
        with pytest.raises(ProductError) as err:
            clean_name(raw, required=True)
        assert err.value.code == code
