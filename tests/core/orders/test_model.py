"""The order state machine, text validation and ids, with no network."""

from __future__ import annotations

import itertools

import pytest

from core.orders.model import (
    MAX_ORDER_TEXT,
    OrderTextError,
    clean_order_text,
    new_order_id,
    normalize_order_id,
)
from core.orders.states import FINAL_STATES, STEPS, TRANSITIONS, OrderState


def test_happy_path_is_allowed_step_by_step() -> None:
    path = [OrderState.PENDIENTE, *STEPS, OrderState.COMPLETADO]
    for current, wanted in itertools.pairwise(path):
        assert wanted in TRANSITIONS[current]


def test_steps_cannot_be_skipped_or_reversed() -> None:
    assert OrderState.PREPARANDO_ENVIO not in TRANSITIONS[OrderState.PENDIENTE]
    assert OrderState.VALIDANDO_PAGO not in TRANSITIONS[OrderState.PREPARANDO_ENVIO]
    assert OrderState.COMPLETADO not in TRANSITIONS[OrderState.PENDIENTE]


@pytest.mark.parametrize("final", sorted(FINAL_STATES))
def test_final_states_never_change(final: OrderState) -> None:
    assert all(other not in TRANSITIONS[final] for other in OrderState)


@pytest.mark.parametrize("state", [OrderState.PENDIENTE, *STEPS])
def test_any_unfinished_order_can_fail_or_be_cancelled(state: OrderState) -> None:
    assert OrderState.FALLIDO in TRANSITIONS[state]
    assert OrderState.CANCELADO in TRANSITIONS[state]


def test_order_text_is_trimmed() -> None:
    assert clean_order_text("  2 pizzas margarita \n") == "2 pizzas margarita"


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("", "empty"),
        ("   \n\t ", "empty"),
        ("x" * (MAX_ORDER_TEXT + 1), "too_long"),
        ("2 pizzas\x00", "control_chars"),
        ("línea\x07", "control_chars"),
        ("2 pizzas\x1b[31m", "control_chars"),
        # Bidi overrides and isolates: the "Trojan Source" characters reorder what staff read.
        ("2 pizzas\u202e", "control_chars"),
        ("2 pizzas \u202a1 coca cola", "control_chars"),
        ("2 pizzas \u2066x\u2069", "control_chars"),
        ("2 pizzas \u2067x", "control_chars"),
        # Other invisible format characters: zero-width space, word joiner, BOM, LRM, soft hyphen.
        ("2 pi\u200bzzas", "control_chars"),
        ("2 pi\u2060zzas", "control_chars"),
        ("2 pizzas\ufeff", "control_chars"),
        ("2 pizzas\u200e", "control_chars"),
        ("2 pi\u00adzzas", "control_chars"),
        # Tag characters outside a flag spell hidden ASCII ("ASCII smuggling").
        ("2 pizzas \U000e0069\U000e0067\U000e006e", "control_chars"),
        ("2 pizzas \U0001f3f4\U000e0067\U000e0062", "control_chars"),  # no CANCEL TAG
        ("2 pizzas \ue000", "control_chars"),  # private use
        ("2 pizzas \U000e0000", "control_chars"),  # unassigned
    ],
)
def test_bad_order_text_says_why(raw: str, code: str) -> None:
    with pytest.raises(OrderTextError) as err:
        clean_order_text(raw)
    assert err.value.code == code


def test_longest_allowed_text_and_unicode_pass() -> None:
    assert clean_order_text("ñ" * MAX_ORDER_TEXT) == "ñ" * MAX_ORDER_TEXT
    assert clean_order_text("2 pizzas 🍕 <b>") == "2 pizzas 🍕 <b>"


@pytest.mark.parametrize(
    "text",
    [
        "2 pizzas\n1 coca cola",
        "2 pizzas margarita\n\n1 coca cola\n\t- sin hielo",
        "una pizza para el 🧑\u200d🍳, gracias",  # ZWJ sequence
        "❤\ufe0f y 👍🏽",  # variation selector, skin tone
        "👨\u200d👩\u200d👧\u200d👦 menú familiar",
        "🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f 2 pizzas",  # flag
        "🫨 2 pizzas",  # Unicode 15: newer than Python 3.11's database
        "خبز\u200cها",  # ZWNJ in Persian
    ],
)
def test_text_as_people_write_it_is_accepted(text: str) -> None:
    assert clean_order_text(text) == text


def test_line_ends_of_any_kind_become_newlines() -> None:
    assert clean_order_text("2 pizzas\r\n1 coca cola\r") == "2 pizzas\n1 coca cola"
    assert clean_order_text("2 pizzas\u20281 coca cola") == "2 pizzas\n1 coca cola"


def test_ids_look_like_the_design_and_normalize_back() -> None:
    order_id = new_order_id()
    assert normalize_order_id(order_id) == order_id
    assert normalize_order_id(order_id.lower()) == order_id
    assert normalize_order_id(order_id[2:]) == order_id


@pytest.mark.parametrize("raw", ["", "P-", "P-12345", "P-ABCDEFG", "P-ABC0EF", "X-ABCDEF", "🍕"])
def test_malformed_ids_are_rejected(raw: str) -> None:
    assert normalize_order_id(raw) is None
