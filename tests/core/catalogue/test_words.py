"""Order text as words: folding, plural forms, quantities and items."""

from __future__ import annotations

import pytest

from core.catalogue.words import (
    fold,
    forms,
    leading_quantity,
    split_items,
    strip_fillers,
    words,
)


def test_folding_drops_case_accents_and_punctuation() -> None:
    assert fold("2 Cafés-con Leche!") == "2 cafes con leche"
    assert fold("3x Empanada") == "3 x empanada"
    assert fold("2×pizza") == "2 x pizza"
    assert fold("Jalapeño 🌶️") == "jalapeno"


@pytest.mark.parametrize(
    ("plural", "singular"),
    [
        ("pizzas", "pizza"),
        ("empanadas", "empanada"),
        ("panes", "pan"),
        ("limones", "limon"),
        ("nueces", "nuez"),
        ("tomatoes", "tomato"),
        ("berries", "berry"),
        ("sandwiches", "sandwich"),
        ("cakes", "cake"),
    ],
)
def test_a_plural_meets_its_singular(plural: str, singular: str) -> None:
    assert forms(plural) & forms(singular)


@pytest.mark.parametrize(("one", "other"), [("pan", "pizza"), ("glass", "glas"), ("te", "tes")])
def test_different_words_stay_apart(one: str, other: str) -> None:
    assert not forms(one) & forms(other)


@pytest.mark.parametrize(
    ("text", "quantity", "rest", "as_word"),
    [
        ("2 pizzas", 2, ["pizzas"], False),
        ("3 x empanada", 3, ["empanada"], False),
        ("x 3 empanada", 3, ["empanada"], False),
        ("empanada x 3", 3, ["empanada"], False),
        ("dos cafes", 2, ["cafes"], True),
        ("a coffee", 1, ["coffee"], True),
        ("ten coffees", 10, ["coffees"], True),
        ("pizza", None, ["pizza"], False),
        ("7", None, ["7"], False),
    ],
)
def test_quantities_as_people_write_them(
    text: str, quantity: int | None, rest: list[str], as_word: bool
) -> None:
    assert leading_quantity(text.split()) == (quantity, rest, as_word)


def test_polite_words_are_not_part_of_an_item() -> None:
    assert strip_fillers(words("Quiero 2 pizzas, por favor")) == ["2", "pizzas"]
    assert strip_fillers(words("I'd like a coffee, please")) == ["a", "coffee"]


def never(_before: str, _after: str) -> bool:
    return False


def test_items_split_at_lines_commas_and_conjunctions_unless_a_name_has_them() -> None:
    def fish_and_chips(before: str, after: str) -> bool:
        return (before, after) == ("fish", "chips")

    text = "2 pizzas\n1 coca cola, un café y un croissant;\n\n 3 fish and chips + 1 té"
    assert split_items(text, never, never) == [
        "2 pizzas",
        "1 coca cola",
        "un café",
        "un croissant",
        "3 fish",
        "chips",
        "1 té",
    ]
    assert split_items(text, fish_and_chips, never)[-2] == "3 fish and chips"


def test_a_number_inside_a_line_starts_an_item_unless_a_name_has_it() -> None:
    def can(number: str, after: str) -> bool:
        return (number, after) == ("33", "cl")

    assert split_items("2 pizzas margarita 1 coca cola 33 cl 3x brownie", never, can) == [
        "2 pizzas margarita",
        "1 coca cola 33 cl",
        "3x brownie",
    ]
    assert split_items("pizza 2", never, never) == ["pizza 2"]
