"""`/pedido` text as customers write it, matched against the demo catalogue: the lines a
customer would see in the priced summary, and what the bot would ask about."""

from __future__ import annotations

import pytest

from core.catalogue.matching import MAX_LINES, CatalogueIndex, MatchResult, NaiveScan
from core.catalogue.product import Product

# (text, [(sku, quantity)…] the summary lists, [(reason, first suggestions)…] it asks about)
PHRASINGS: list[tuple[str, list[tuple[str, int]], list[tuple[str, list[str]]]]] = [
    # Spanish
    ("2 pizzas margarita", [("PZ-MARG", 2)], []),
    ("una coca cola", [("BEB-COLA", 1)], []),
    ("3x empanada", [("EMP-CARNE", 3)], []),
    ("3 x empanadas de carne", [("EMP-CARNE", 3)], []),
    ("x3 brownies", [("POS-BROW", 3)], []),
    ("brownie x2", [("POS-BROW", 2)], []),
    ("2 pizzas margarita\n1 coca cola", [("PZ-MARG", 2), ("BEB-COLA", 1)], []),
    ("2 pizzas margarita 1 coca cola", [("PZ-MARG", 2), ("BEB-COLA", 1)], []),
    ("2 x pizza margarita + 1 coca", [("PZ-MARG", 2), ("BEB-COLA", 1)], []),
    # Several products on a line with no comma: each a line, none silently dropped.
    ("margarita coca cola", [("PZ-MARG", 1), ("BEB-COLA", 1)], []),
    ("coca cola margarita", [("BEB-COLA", 1), ("PZ-MARG", 1)], []),
    ("una pizza pepperoni grande con coca cola", [("PZ-PEPP", 1), ("BEB-COLA", 1)], []),
    ("croissant brownie tiramisu", [("POS-CROI", 1), ("POS-BROW", 1), ("POS-TIRA", 1)], []),
    ("dos cafés con leche y un croissant", [("CAF-LECHE", 2), ("POS-CROI", 1)], []),
    ("Pizza Margarita y Coca-Cola", [("PZ-MARG", 1), ("BEB-COLA", 1)], []),
    ("2 panes con tomate", [("PAN-TOM", 2)], []),  # panes → pan, and "con" is no split
    ("quiero 2 pizzas pepperoni por favor", [("PZ-PEPP", 2)], []),
    ("una pizza cuatro quesos", [("PZ-4QUE", 1)], []),
    ("cuatro quesos", [("PZ-4QUE", 1)], []),  # a name, not four cheeses
    ("cuatro pizzas margarita", [("PZ-MARG", 4)], []),  # four pizzas
    ("1 cafe", [("CAF-SOLO", 1)], []),  # no accent
    ("TIRAMISU", [("POS-TIRA", 1)], []),
    ("piza margarita", [("PZ-MARG", 1)], []),  # typo
    ("cafe con lehce", [("CAF-LECHE", 1)], []),  # typo
    ("2 croisants", [("POS-CROI", 2)], []),  # typo and plural
    ("2 aguas minerales", [("BEB-AGUA", 2)], []),
    (
        "una margarita, dos aguas y un tiramisú",
        [("PZ-MARG", 1), ("BEB-AGUA", 2), ("POS-TIRA", 1)],
        [],
    ),
    ("- 2 pizzas margarita\n- 1 ensalada de tomate\n", [("PZ-MARG", 2), ("ENS-TOM", 1)], []),
    ("pizza margarita, 2 pizzas margarita", [("PZ-MARG", 3)], []),  # one line
    ("1 tarjeta regalo", [("DIG-REGALO", 1)], []),
    ("2 cocacolas 🥤", [("BEB-COLA", 2)], []),
    # English
    ("a large coffee", [("CAF-SOLO", 1)], []),
    ("two tomato salads", [("ENS-TOM", 2)], []),
    ("one four cheese pizza", [("PZ-4QUE", 1)], []),
    ("three coffees and a brownie", [("CAF-SOLO", 3), ("POS-BROW", 1)], []),
    ("a coffe with milk", [("CAF-LECHE", 1)], []),  # typo; "with" is no split
    ("2 margherita pizzas\n1 mineral water", [("PZ-MARG", 2), ("BEB-AGUA", 1)], []),
    ("I'd like two pepperoni pizzas please", [("PZ-PEPP", 2)], []),
    ("pizza recipe book", [("DIG-RECETAS", 1)], []),
    ("2 beef empanadas, 2 breads with tomato", [("EMP-CARNE", 2), ("PAN-TOM", 2)], []),
    # What the bot asks about
    ("2 pizzas\n1 coca cola", [("BEB-COLA", 1)], [("ambiguous", ["PZ-MARG", "PZ-PEPP"])]),
    ("sushi", [], [("unknown", [])]),
    ("two pepperoni pizzas and a coke", [("PZ-PEPP", 2)], [("unknown", [])]),
    ("100 pizzas margarita", [], [("bad_quantity", ["PZ-MARG"])]),
    ("0 brownies", [], [("bad_quantity", ["POS-BROW"])]),
    ("un agua con gas", [], [("unknown", ["BEB-AGUA"])]),  # not on the menu: the closest
]


def summary(result: MatchResult) -> tuple[list[tuple[str, int]], list[tuple[str, list[str]]]]:
    lines = [(line.product.sku, line.quantity) for line in result.lines]
    asked = [(u.reason, [p.sku for p in u.suggestions][:2]) for u in result.unmatched]
    return lines, asked


@pytest.fixture(scope="module")
def index(demo_products: list[Product]) -> CatalogueIndex:
    return CatalogueIndex(demo_products)


@pytest.mark.parametrize(("text", "lines", "asked"), PHRASINGS, ids=[p[0] for p in PHRASINGS])
def test_order_text_becomes_the_expected_lines(
    index: CatalogueIndex,
    text: str,
    lines: list[tuple[str, int]],
    asked: list[tuple[str, list[str]]],
) -> None:
    assert summary(index.match(text)) == (lines, asked)


def test_there_are_enough_real_phrasings() -> None:
    assert len(PHRASINGS) >= 30


def test_the_naive_scan_agrees_on_every_phrasing(
    index: CatalogueIndex, demo_products: list[Product]
) -> None:
    naive = NaiveScan(demo_products)
    for text, _, _ in PHRASINGS:
        assert summary(naive.match(text)) == summary(index.match(text)), text


def test_an_ambiguous_item_offers_every_close_product(index: CatalogueIndex) -> None:
    (item,) = index.match("2 pizzas").unmatched
    assert item.reason == "ambiguous" and item.quantity == 2
    assert {"PZ-MARG", "PZ-PEPP", "PZ-4QUE"} <= {p.sku for p in item.suggestions}


def test_an_unknown_item_with_a_near_word_gets_suggestions(index: CatalogueIndex) -> None:
    (item,) = index.match("2 cervezas y 2 aguas con gas").unmatched[1:]
    assert (item.reason, item.quantity, item.text) == ("unknown", 2, "2 aguas con gas")
    assert [p.sku for p in item.suggestions] == ["BEB-AGUA"]


def test_the_unmatched_text_is_shown_as_written(index: CatalogueIndex) -> None:
    (item,) = index.match("1 coca cola\n¡2 Sushis Grandes!").unmatched
    assert item.text == "¡2 Sushis Grandes!"


def test_a_name_with_y_is_one_item() -> None:
    products = [
        Product("FC", "Fish and chips", "Fish and chips", 900, "EUR"),
        Product("PT", "Pan y tomate", "Bread and tomato", 300, "EUR"),
        Product("FI", "Fish", "Fish", 700, "EUR"),
    ]
    result = CatalogueIndex(products).match("2 fish and chips y un pan y tomate")
    assert summary(result) == ([("FC", 2), ("PT", 1)], [])


def test_a_number_in_a_name_does_not_start_an_item() -> None:
    products = [
        Product("C33", "Coca-Cola 33 cl", "Coca-Cola 33 cl", 200, "EUR"),
        Product("C1L", "Coca-Cola 1 l", "Coca-Cola 1 l", 300, "EUR"),
        Product("PZ", "Pizza", "Pizza", 900, "EUR"),
    ]
    result = CatalogueIndex(products).match("2 coca cola 33 cl 1 pizza")
    assert summary(result) == ([("C33", 2), ("PZ", 1)], [])


def test_more_than_fifty_items_are_flagged(index: CatalogueIndex) -> None:
    result = index.match("\n".join(["1 brownie", "1 coca cola"] * 30))
    assert result.truncated
    assert summary(result) == ([("POS-BROW", MAX_LINES // 2), ("BEB-COLA", MAX_LINES // 2)], [])


def test_an_empty_catalogue_matches_nothing() -> None:
    result = CatalogueIndex([]).match("2 pizzas margarita")
    assert summary(result) == ([], [("unknown", [])])


def test_withdrawn_products_are_not_matched_but_sold_out_ones_are() -> None:
    products = [
        Product("OLD", "Pizza Hawaiana", "Hawaiian Pizza", 900, "EUR", active=False),
        Product("OUT", "Pizza Barbacoa", "BBQ Pizza", 900, "EUR", stock=0),
    ]
    index = CatalogueIndex(products)
    assert summary(index.match("1 pizza hawaiana")) == ([], [("unknown", ["OUT"])])
    assert summary(index.match("1 pizza barbacoa")) == ([("OUT", 1)], [])
