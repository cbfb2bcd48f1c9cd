"""The catalogue CSV: read all or nothing, every bad row told by line, written back the same."""

from __future__ import annotations

import dataclasses

import pytest

from core.catalogue.csvfile import (
    HEADER,
    CatalogueFileError,
    CatalogueRejected,
    parse_catalogue,
    write_catalogue,
)
from core.catalogue.product import Fulfilment, Product
from tests.core.catalogue.conftest import DEMO

HEAD = ",".join(HEADER) + "\n"


def parse(text: str, currency: str = "EUR") -> list[Product]:
    return parse_catalogue(text.encode(), default_currency=currency)


def problems(text: str) -> list[tuple[int, str, str]]:
    with pytest.raises(CatalogueRejected) as err:
        parse(text)
    return [(e.line, e.column, e.reason) for e in err.value.errors]


def test_the_demo_catalogue_reads_as_a_shop(demo_products: list[Product]) -> None:
    by_sku = {p.sku: p for p in demo_products}
    assert len(demo_products) == 15
    assert {p.category for p in demo_products} == {
        "Pizzas",
        "Entrantes",
        "Bebidas",
        "Postres",
        "Digital",
    }
    assert by_sku["PZ-MARG"] == Product(
        "PZ-MARG", "Pizza Margarita", "Margherita Pizza", 950, "EUR", "Pizzas"
    )
    assert by_sku["EMP-CARNE"].stock == 40 and by_sku["PZ-MARG"].stock is None
    gift = by_sku["DIG-REGALO"]
    assert (gift.price, gift.currency, gift.fulfilment) == (250, "XTR", Fulfilment.AUTOMATIC)


def test_the_catalogue_comes_back_byte_for_byte() -> None:
    original = (DEMO / "catalogue.csv").read_text(encoding="utf-8")
    assert write_catalogue(parse(original)) == original


def test_extra_columns_survive_a_round_trip() -> None:
    products = [
        Product(
            "A1",
            '=HYPERLINK("x")',
            "-menos",
            5,
            "EUR",
            "@cat",
            "línea 1\nlínea 2",
            "a1.jpg",
            3,
            False,
            Fulfilment.AUTOMATIC,
        ),
        Product("B2", "Bizcocho", "", 1250, "CLP"),
    ]
    written = write_catalogue(products)
    assert written.splitlines()[0] == HEAD.strip() + ",description,photo,active"
    assert "'=HYPERLINK" in written and "'-menos" in written and "'@cat" in written
    assert parse(written) == products


def test_bom_semicolons_blank_lines_and_any_column_order_are_read() -> None:
    text = "\ufeffprice;sku;name_es\r\n12.50;pz-1;Pizza\r\n\r\n3;B;Bebida\r\n"
    products = parse(text)
    assert [(p.sku, p.price, p.currency, p.stock) for p in products] == [
        ("PZ-1", 1250, "EUR", None),
        ("B", 300, "EUR", None),
    ]


def test_a_blank_currency_is_the_shops() -> None:
    (product,) = parse(HEAD + "X,Empanada,,1500,,,,\n", currency="CLP")
    assert (product.price, product.currency) == (1500, "CLP")


def test_every_bad_row_is_reported_by_line_and_nothing_is_returned() -> None:
    text = (
        HEAD
        + "PZ-1,Pizza,Pizza,9.50,EUR,Pizzas,,manual\n"  # line 2: good
        + "PZ-2,Pizza,Pizza,12.5.0,EUR,Pizzas,,manual\n"
        + "PZ-3,Pizza,Pizza,-1,EUR,Pizzas,,manual\n"
        + "PZ-4,Pizza,Pizza,9.505,EUR,Pizzas,,manual\n"
        + "PZ-5,Pizza,Pizza,9.50,EURO,Pizzas,,manual\n"
        + "pz-1,Pizza,Pizza,9.50,EUR,Pizzas,,manual\n"
        + "PZ-6,,Pizza,9.50,EUR,Pizzas,,manual\n"
        + "PZ-7,Pizza,Pizza,9.50,EUR,Pizzas,-2,manual\n"
        + "PZ-8,Pizza,Pizza,9.50,EUR,Pizzas,,a mano\n"
        + "PZ-9,Pizza,Pizza,9.5,CLP,Pizzas,many,manual\n"
        + "PZ 10,Pizza\u202e,Pizza,9.50,EUR,Pizzas,,manual,extra\n"
        + "PZ-11,Pizza\u202e,Pizza,9.50,EUR,Pizzas,,manual\n"
    )
    assert problems(text) == [
        (3, "price", "bad_price"),
        (4, "price", "negative"),
        (5, "price", "too_many_decimals"),
        (6, "currency", "unknown_currency"),
        (7, "sku", "duplicate_sku"),
        (8, "name_es", "missing_name"),
        (9, "stock", "bad_stock"),
        (10, "fulfilment", "bad_fulfilment"),
        (11, "price", "too_many_decimals"),
        (11, "stock", "bad_stock"),
        (12, "", "columns"),
        (13, "name_es", "bad_text"),
    ]


def test_line_numbers_count_lines_inside_quoted_cells() -> None:
    text = HEAD + 'A,"Pizza\nde dos líneas",,1,EUR,,,\nB,Pizza,,x,EUR,,,\n'
    assert problems(text) == [(4, "price", "bad_price")]


def test_a_duplicate_names_the_first_line() -> None:
    with pytest.raises(CatalogueRejected) as err:
        parse(HEAD + "A,Uno,,1,EUR,,,\nB,Dos,,1,EUR,,,\na,Tres,,1,EUR,,,\n")
    (dup,) = err.value.errors
    assert (dup.line, dup.reason, dup.detail) == (4, "duplicate_sku", "2")


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "empty"),
        (b"\n\n", "empty"),
        ("sku,name_es,price\nA,Caf\u00e9,1\n".encode("latin-1"), "not_utf8"),
        (b"sku,name_es\nA,B\n", "missing_column"),
        (b"sku,name_es,price,colour\n", "unknown_column"),
        (b"sku,name_es,price,SKU\n", "duplicate_column"),
        (b"sku,name_es,price\n" + b"A,B,1\n" * 400_000, "too_large"),
        (b"sku,name_es,price\n" + b"A,B,1\n" * 20_001, "too_many_rows"),
    ],
)
def test_a_file_that_cannot_be_a_catalogue_says_why(data: bytes, code: str) -> None:
    with pytest.raises(CatalogueFileError) as err:
        parse_catalogue(data, default_currency="EUR")
    assert err.value.code == code


def test_the_size_limit_can_be_set() -> None:
    data = (HEAD + "A,B,,1,EUR,,,\n").encode()
    with pytest.raises(CatalogueFileError):
        parse_catalogue(data, default_currency="EUR", max_bytes=len(data) - 1)
    assert parse_catalogue(data, default_currency="EUR", max_bytes=len(data))


def test_stock_and_active_and_fulfilment_defaults() -> None:
    (product,) = parse("sku,name_es,price,stock,active,fulfilment\nA,B,1,0,no,\n")
    assert dataclasses.astuple(product)[-3:] == (0, False, Fulfilment.MANUAL)
    assert product.sold_out and not product.can_sell(1)
