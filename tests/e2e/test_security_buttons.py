"""Forged button presses: a modified client can send any callback_data on any message it sees.

Every callback_data the bot has ever shown in a group (status messages, a guided order's
questions and confirmations, /pedidos pages), pressed by another member on someone's status
message or list, is refused and changes nothing: no order, no cancellation, no edit, no new
message, no conversation step. Each step takes a minute, so the orders stay cancellable.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from functools import partial
from typing import Any

import pytest

from core.conversation.store import ConversationStore
from core.keyboards import sign
from core.orders.states import OrderState
from core.orders.store import OrderStore
from sandbox import RunningSandbox
from sandbox.client import Chat, Message
from tests.support.chat import chat_system, containing, is_status, place_order, text_of
from tests.support.system import System

STALE = "Este mensaje ya no está al día: usa el más reciente."
NOT_YOURS = "Estos botones son de otra persona."


@pytest.fixture(scope="module")
def system(
    tmp_path_factory: pytest.TempPathFactory, sandbox_server: RunningSandbox
) -> Iterator[System]:
    with chat_system(tmp_path_factory, sandbox_server, STEP_SECONDS="60") as running:
        yield running


def seed_orders(system: System, chat_id: int, user_id: int, n: int) -> None:
    """`n` older orders of the user in the chat (cancelled), so /pedidos has pages."""
    for i in range(n):
        store = OrderStore(system.db, clock=partial(float, time.time() - (n - i) * 3600.0))
        order, _ = store.create(chat_id, user_id, f"pedido antiguo {i}", 900_000 + i)
        store.move(order.id, OrderState.CANCELADO)


def every_callback_data(chat: Chat) -> set[str]:
    """Every callback_data any bot message in the chat has carried, in any of its edits."""
    found = set()
    for message in chat.bot_messages(include_deleted=True):
        for state in message.history:
            for row in (state.get("reply_markup") or {}).get("inline_keyboard", []):
                found |= {b["callback_data"] for b in row if "callback_data" in b}
    return found


def shown(chat: Chat) -> list[tuple[Any, ...]]:
    """What the chat shows: every message, its text, keyboard and number of edits."""
    return [
        (m.message_id, m.from_bot, m.text, m.reply_markup, len(m.edits), m.deleted)
        for m in chat.messages()
    ]


def test_every_button_pressed_by_another_member_on_someones_message_changes_nothing(
    system: System,
) -> None:
    store = system.store
    conversations = ConversationStore(system.client)
    group_id = -system.new_chat_id()
    ana = system.sandbox.group_chat(group_id, title="Tienda", user_id=-group_id + 1)
    luis = ana.as_user(-group_id + 2, first_name="Luis")
    luis_id = luis.user["id"]

    # Ana's order, under way and cancellable, and her /pedidos.
    ana_order, ana_status = place_order(ana, "es", "pizza de Ana")
    ana.wait_for(lambda m: m.message_id == ana_status.message_id and "1/3" in text_of(m))
    seed_orders(system, group_id, luis_id, 6)
    sent = ana.send("/pedidos")
    ana_list = ana.wait_for(containing("1/2", after=sent.message_id))
    assert ana_list.button_texts == ["▶"]
    # Luis: his own order, his /pedidos turned to page 2 (◀ too), and a guided order that
    # went through Cambiar and waits at its second confirmation.
    luis_order, luis_status = place_order(luis, "es", "tacos de Luis")
    # (Under way too before the snapshot below: its first step's edit must not land in it.)
    luis.wait_for(lambda m: m.message_id == luis_status.message_id and "1/3" in text_of(m))
    sent = luis.send("/pedidos")
    luis_list = luis.wait_for(containing("1/2", after=sent.message_id))
    luis.callback_answer(luis.press("▶", message_id=luis_list.message_id))
    luis.wait_for(lambda m: m.message_id == luis_list.message_id and "2/2" in text_of(m))
    sent = luis.send("/pedido")
    question = luis.wait_for(containing("Dime qué quieres pedir", after=sent.message_id))
    reply = luis.send("sushi", reply_to=question.message_id)
    first = luis.wait_for(containing("¿Confirmas", after=reply.message_id))
    luis.callback_answer(luis.press("Cambiar", message_id=first.message_id))
    luis.wait_for(lambda m: m.message_id == first.message_id and "de nuevo" in text_of(m))
    reply = luis.send("ramen", reply_to=first.message_id)
    second = luis.wait_for(containing("¿Confirmas", after=reply.message_id))
    # (The question before it loses its Cancelar once the confirmation is out.)
    luis.wait_for(lambda m: m.message_id == first.message_id and not m.buttons)
    live = conversations.get(group_id, luis_id)
    assert live is not None and live.message_id == second.message_id

    datas = every_callback_data(ana)
    # Status (2 orders × 2), lists (3 pages' arrows), conversation (2 × 3 + Cancelar while
    # asking again): everything the bot ever showed, plus data it never made.
    assert len(datas) >= 12, datas
    made_up = {
        f"o:c:{ana_order}",
        f"o:c:{ana_order}:AAAAAAAAAAAA",
        sign(group_id + 1, f"o:c:{ana_order}"),  # signed, for another chat
        f"l:1:{luis_id}",
        f"g:ok:{luis_id}:{live.token}",
    }
    before = shown(ana)
    orders_before = {o.id: (o.state, o.status_message_id) for o in store.recent(group_id, 50)}

    # When Luis's modified client presses each on Ana's status message and on her list
    answers = []
    for target in (ana_status.message_id, ana_list.message_id):
        for data in sorted(datas | made_up):
            query = luis.press(data=data, message_id=target, forged=True)
            answers.append((data, luis.callback_answer(query)))

    # Then every press gets an alert and nothing at all changed
    for data, answer in answers:
        assert answer["show_alert"], (data, answer)
        assert answer["text"] in (STALE, NOT_YOURS), (data, answer)
    assert shown(ana) == before
    assert {o.id: (o.state, o.status_message_id) for o in store.recent(group_id, 50)} == (
        orders_before
    )
    assert store.get(ana_order).state is OrderState.VALIDANDO_PAGO
    assert store.get(luis_order).state is OrderState.VALIDANDO_PAGO
    assert conversations.get(group_id, luis_id) == live

    # And the real buttons still work for their owners, where they are.
    assert ana.callback_answer(ana.press("Actualizar", message_id=ana_status.message_id))[
        "text"
    ] == ("Actualizado")
    luis.callback_answer(luis.press("Confirmar", message_id=second.message_id))
    placed = luis.wait_for(
        lambda m: m.message_id == second.message_id and is_status(m) and "ramen" in text_of(m)
    )
    assert placed.button_texts == ["Actualizar", "Cancelar"]
    assert [o.text for o in store.recent(group_id, 1)] == ["ramen"]


def test_a_press_on_a_message_without_that_button_is_refused_even_for_the_owner(
    system: System,
) -> None:
    """The owner's own data, pressed on another of the bot's messages, acts nowhere."""
    store = system.store
    chat = system.private_chat()
    first, first_status = place_order(chat, "es", "primer pedido")
    _, second_status = place_order(chat, "es", "segundo pedido")
    cancel_first = next(
        b["callback_data"]
        for row in (first_status.reply_markup or {})["inline_keyboard"]
        for b in row
        if b["text"] == "Cancelar"
    )
    before: Message = chat.wait_for(lambda m: m.message_id == second_status.message_id)

    answer = chat.callback_answer(
        chat.press(data=cancel_first, message_id=second_status.message_id, forged=True)
    )

    assert answer["show_alert"] and answer["text"] == STALE
    assert store.get(first).state is not OrderState.CANCELADO
    after = chat.wait_for(lambda m: m.message_id == second_status.message_id)
    assert (after.text, after.reply_markup) == (before.text, before.reply_markup)
