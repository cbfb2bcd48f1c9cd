"""Inline keyboards and their callback data, list pages and button texts, with no network."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from core import texts
from core.keyboards import (
    MAX_CALLBACK_BYTES,
    conversation_keyboard,
    list_keyboard,
    parse,
    sign,
    status_keyboard,
)
from core.orders.listing import pages_for
from core.orders.model import Order
from core.orders.states import FINAL_STATES, STEPS, OrderState


def make_order(**fields: object) -> Order:
    base: dict[str, object] = {"id": "P-7K2Q4F", "chat_id": -100123, "user_id": 7, "text": "x"}
    base.update(fields)
    return Order(**base)  # type: ignore[arg-type]


def labels(keyboard: dict[str, Any] | None) -> list[str]:
    return [b["text"] for row in (keyboard or {}).get("inline_keyboard", []) for b in row]


def all_data(keyboard: dict[str, Any] | None) -> list[str]:
    return [b["callback_data"] for row in (keyboard or {}).get("inline_keyboard", []) for b in row]


def bodies(keyboard: dict[str, Any] | None) -> list[str]:
    """The callback data without its MAC."""
    return [data.rpartition(":")[0] for data in all_data(keyboard)]


CHAT = -100123


@pytest.mark.parametrize("state", [OrderState.PENDIENTE, *STEPS])
def test_unfinished_order_can_be_refreshed_and_cancelled(state: OrderState) -> None:
    keyboard = status_keyboard(make_order(state=state))
    assert labels(keyboard) == ["Actualizar", "Cancelar"]
    assert bodies(keyboard) == ["o:r:P-7K2Q4F", "o:c:P-7K2Q4F"]
    assert all_data(keyboard) == [sign(CHAT, "o:r:P-7K2Q4F"), sign(CHAT, "o:c:P-7K2Q4F")]


@pytest.mark.parametrize("state", sorted(FINAL_STATES))
def test_finished_order_can_only_be_refreshed(state: OrderState) -> None:
    assert labels(status_keyboard(make_order(state=state, language="en"))) == ["Refresh"]


def test_conversation_buttons_in_both_languages() -> None:
    asking = conversation_keyboard("es", CHAT, 7, "ab12cd34", confirm=False)
    assert labels(asking) == ["Cancelar"]
    confirming = conversation_keyboard("en", CHAT, 7, "ab12cd34", confirm=True)
    assert labels(confirming) == ["Confirm", "Change", "Cancel"]
    assert bodies(confirming) == ["g:ok:7:ab12cd34", "g:edit:7:ab12cd34", "g:no:7:ab12cd34"]


def test_list_pager_shows_only_the_ways_that_exist() -> None:
    assert list_keyboard("es", CHAT, 7, 1, 1) is None
    assert bodies(list_keyboard("es", CHAT, 7, 1, 3)) == ["l:2:7"]
    assert bodies(list_keyboard("es", CHAT, 7, 2, 3)) == ["l:1:7", "l:3:7"]
    assert labels(list_keyboard("en", CHAT, 7, 3, 3)) == ["◀"]


def test_callback_data_fits_telegrams_64_bytes_with_the_largest_ids() -> None:
    user = -(10**15)  # longer than any Telegram user id
    chat = -(10**15)
    data = [
        *all_data(status_keyboard(make_order(id="P-ZZZZZZZZZZ", chat_id=chat))),
        *all_data(conversation_keyboard("es", chat, user, "ffffffffffff", confirm=True)),
        *all_data(list_keyboard("es", chat, user, 99_999, 100_000)),
    ]
    assert all(len(d.encode()) <= MAX_CALLBACK_BYTES for d in data)


@pytest.mark.parametrize(
    ("body", "kind", "fields"),
    [
        ("o:c:P-7K2Q4F", "o", ("c", "P-7K2Q4F")),
        ("g:ok:7:ab12cd34", "g", ("ok", "7", "ab12cd34")),
        ("l:3:7", "l", ("3", "7")),
    ],
)
def test_our_callback_data_parses(body: str, kind: str, fields: tuple[str, ...]) -> None:
    pressed = parse(sign(CHAT, body), CHAT)
    assert pressed is not None and (pressed.kind, pressed.fields) == (kind, fields)


@pytest.mark.parametrize("data", [None, "", "cancel", "o:c", "o:c:", "x:1:2", "g:ok:7", "l:1:2:3"])
def test_data_we_never_sent_is_refused(data: str | None) -> None:
    assert parse(data, CHAT) is None
    if data:
        # Malformed even when signed.
        assert parse(sign(CHAT, data), CHAT) is None


@given(body=st.sampled_from(["o:c:P-7K2Q4F", "g:ok:7:ab12cd34", "l:3:7"]), mac=st.text(max_size=14))
def test_unsigned_or_forged_data_is_refused(body: str, mac: str) -> None:
    assume(f"{body}:{mac}" != sign(CHAT, body))
    assert parse(body, CHAT) is None  # the old, unsigned form
    assert parse(f"{body}:{mac}", CHAT) is None


def test_data_signed_for_one_chat_is_refused_in_another() -> None:
    data = sign(CHAT, "o:c:P-7K2Q4F")
    assert parse(data, CHAT) is not None
    assert parse(data, CHAT - 1) is None


@pytest.mark.parametrize(("total", "pages"), [(0, 1), (1, 1), (5, 1), (6, 2), (12, 3)])
def test_pages(total: int, pages: int) -> None:
    assert pages_for(total) == pages


def test_button_answers_are_plain_text_with_values() -> None:
    assert texts.plain("en", "cancel.toast", id="P-7K2Q4F") == "Order P-7K2Q4F cancelled"
    alert = texts.plain("es", "cancel.finished_alert", id="P-7K2Q4F", state="completado <b>")
    assert alert == "El pedido P-7K2Q4F ya está completado <b>: no se puede cancelar."
    for language in texts.languages():
        for key in ("callback.not_yours", "callback.stale", "callback.error"):
            assert len(texts.raw(language, key)) <= 200  # Telegram's limit for an answer
