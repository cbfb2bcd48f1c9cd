"""/pedidos end to end: the chat's orders with state and age, five a page, ◀ ▶ in place."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from functools import partial

import pytest

from core.orders.states import OrderState
from core.orders.store import OrderStore
from sandbox import RunningSandbox
from sandbox.client import Chat, Message
from tests.support.chat import WORDS, chat_system, containing, place_order, text_of
from tests.support.system import System

LINE = re.compile(r"^(P-[0-9A-Z]{6}) · ", re.MULTILINE)


@pytest.fixture(scope="module")
def system(
    tmp_path_factory: pytest.TempPathFactory, sandbox_server: RunningSandbox
) -> Iterator[System]:
    with chat_system(tmp_path_factory, sandbox_server) as running:
        yield running


def seed_orders(system: System, chat_id: int, user_id: int, n: int) -> list[str]:
    """`n` older orders of the chat, as if placed over the last hours (newest last)."""
    ids = []
    for i in range(n):
        placed_at = time.time() - (n - i) * 3600.0
        store = OrderStore(system.db, clock=partial(float, placed_at))
        order, _ = store.create(chat_id, user_id, f"pedido antiguo {i}", 900_000 + i)
        store.move(order.id, OrderState.CANCELADO)
        ids.append(order.id)
    return ids


def ids_in(message: Message) -> list[str]:
    return LINE.findall(text_of(message))


def press_page(chat: Chat, label: str, listing: Message, page: str) -> Message:
    answer = chat.callback_answer(chat.press(label, message_id=listing.message_id))
    assert answer["text"] in ("", None) and not answer["show_alert"]
    return chat.wait_for(lambda m: m.message_id == listing.message_id and page in text_of(m))


@pytest.mark.parametrize("lang", ["es", "en"])
def test_a_long_list_pages_with_buttons_in_the_same_message(system: System, lang: str) -> None:
    words = WORDS[lang]
    chat = system.private_chat(language=lang)
    older = seed_orders(system, chat.chat_id, chat.chat_id, 11)
    newest, _ = place_order(chat, lang, "la pizza de hoy")
    chat.wait_for(containing(words["completed"]), timeout=20)
    page = {"es": "página {}/3", "en": "page {}/3"}[lang]

    sent = chat.send(words["orders"])
    first = chat.wait_for(containing(page.format(1), after=sent.message_id))

    assert ids_in(first) == [newest, *reversed(older[-4:])]
    assert ("12" in text_of(first)) and first.buttons == [["▶"]]
    assert {"es": "completado ✅ · 100% · hace", "en": "completed ✅ · 100% · "}[lang] in text_of(
        first
    )
    assert {"es": "cancelado · 0% · hace 1 h", "en": "cancelled · 0% · 1 h ago"}[lang] in text_of(
        first
    )
    second = press_page(chat, "▶", first, page.format(2))
    assert ids_in(second) == list(reversed(older[2:7])) and second.buttons == [["◀", "▶"]]
    third = press_page(chat, "▶", second, page.format(3))
    assert ids_in(third) == list(reversed(older[:2])) and third.buttons == [["◀"]]
    back = press_page(chat, "◀", third, page.format(2))
    assert ids_in(back) == ids_in(second)
    assert len([m for m in chat.bot_messages() if page.format(1)[:4] in text_of(m)]) == 1


@pytest.mark.parametrize("lang", ["es", "en"])
def test_short_and_empty_lists(system: System, lang: str) -> None:
    words = WORDS[lang]
    chat = system.private_chat(language=lang)
    sent = chat.send(words["orders"])
    empty = chat.wait_for(containing("/", after=sent.message_id))
    assert (
        empty.text
        == {
            "es": "Aún no hay pedidos en este chat. Haz uno con /pedido.",
            "en": "No orders in this chat yet. Place one with /order.",
        }[lang]
    )
    order_id, _ = place_order(chat, lang, "un bocadillo")
    sent = chat.send(words["orders"])
    listing = chat.wait_for(containing(order_id, after=sent.message_id))
    assert listing.buttons == []


def test_in_a_group_the_list_is_the_groups_and_pages_for_whoever_asked(system: System) -> None:
    group_id = -system.new_chat_id()
    ana = system.sandbox.group_chat(
        group_id, title="Oficina", user_id=-group_id + 1, first_name="Ana"
    )
    luis = ana.as_user(user_id=-group_id + 2, first_name="Luis", language_code="en")
    seed_orders(system, group_id, -group_id + 1, 7)

    sent = luis.send("/orders")
    listing = luis.wait_for(containing("page 1/2", after=sent.message_id))
    alert = ana.callback_answer(ana.press("▶", message_id=listing.message_id))

    assert alert["show_alert"] and alert["text"] == "Estos botones son de otra persona."
    press_page(luis, "▶", listing, "page 2/2")
