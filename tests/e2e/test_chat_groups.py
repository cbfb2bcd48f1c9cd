"""The bot in a group end to end: /cmd@bot, chatter ignored, a guided order by reply (privacy
mode on), orders that belong to the group, and a stale-order alert that goes there."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from core.orders.store import OrderStore
from sandbox import RunningSandbox
from sandbox.client import Chat
from tests.support.chat import (
    buttons_of,
    chat_system,
    containing,
    order_id_of,
    place_order,
    text_of,
)
from tests.support.system import System


@pytest.fixture(scope="module")
def system(
    tmp_path_factory: pytest.TempPathFactory, sandbox_server: RunningSandbox
) -> Iterator[System]:
    # The watcher looks every second for orders unfinished after 5 s.
    with chat_system(
        tmp_path_factory, sandbox_server, WATCH_INTERVAL="1s", STALE_AFTER="5s"
    ) as running:
        running.start_beat()
        yield running


@pytest.fixture(scope="module")
def store(system: System) -> OrderStore:
    return system.store


@dataclass
class Group:
    ana: Chat  # speaks Spanish
    luis: Chat  # speaks English


@pytest.fixture
def group(system: System) -> Group:
    group_id = -system.new_chat_id()
    ana = system.sandbox.group_chat(
        group_id, title="Tienda", user_id=-group_id + 1, first_name="Ana", language_code="es"
    )
    return Group(ana, ana.as_user(user_id=-group_id + 2, first_name="Luis", language_code="en"))


def round_trip(chat: Chat) -> None:
    """A command the bot answers: whatever it did with earlier messages is done by then."""
    sent = chat.send("/ayuda")
    chat.wait_for(containing("/pedidos", after=sent.message_id))


def test_commands_addressed_to_this_bot_work_and_others_are_ignored(
    system: System, store: OrderStore, group: Group
) -> None:
    bot = system.sandbox.bot_username
    group.ana.send("/pedido@otro_bot 1 pizza para otro bot")
    group.ana.send("hola a todos, ¿pedimos?")
    group.luis.send(f"pizza for everyone, thanks @{bot}!")  # no guided order: not an answer
    round_trip(group.ana)
    assert len(group.ana.bot_messages()) == 1  # only the help

    sent = group.ana.send(f"/pedido@{bot} 2 pizzas")
    order_id = order_id_of(group.ana.wait_for(containing("🧾", after=sent.message_id)))
    sent = group.luis.send(f"/status@{bot} {order_id}")
    group.luis.wait_for(containing("Created:", after=sent.message_id))
    group.ana.wait_for(containing("está completado"), timeout=20)

    order = store.get(order_id)
    assert order.chat_id == group.ana.chat_id and order.user_id == group.ana.user["id"]


def test_a_guided_order_by_reply_with_privacy_mode_on(
    system: System, store: OrderStore, group: Group
) -> None:
    system.sandbox.set_privacy_mode(True)
    try:
        bot = system.sandbox.bot_username
        sent = group.ana.send(f"/pedido@{bot}")
        question = group.ana.wait_for(containing("Dime qué quieres pedir", after=sent.message_id))
        assert question.reply_to_message_id == sent.message_id
        assert question.reply_markup == {
            "force_reply": True,
            "selective": True,
            "input_field_placeholder": "2 pizzas margarita",
        }
        # Someone else's reply, and Ana's own chatter, are not her answer.
        group.luis.send("I want a burger", reply_to=question.message_id)
        group.ana.send("un momento, que miro la carta")
        round_trip(group.luis)
        assert not any("Confirm" in text_of(m) for m in group.ana.bot_messages())

        reply = group.ana.send("2 pizzas cuatro quesos", reply_to=question.message_id)
        confirmation = group.ana.wait_for(containing("¿Confirmas", after=reply.message_id))
        assert buttons_of(confirmation) == ["Confirmar", "Cambiar", "Cancelar"]
        not_his = group.luis.callback_answer(
            group.luis.press("Confirmar", message_id=confirmation.message_id)
        )
        assert not_his == {**not_his, "show_alert": True}
        assert not_his["text"] == "These buttons belong to someone else."

        group.ana.callback_answer(group.ana.press("Confirmar", message_id=confirmation.message_id))
        done = group.ana.wait_for(containing("está completado"), timeout=20)
    finally:
        system.sandbox.set_privacy_mode(False)
    order = store.get(order_id_of(done))
    assert order.chat_id == group.ana.chat_id and order.text == "2 pizzas cuatro quesos"


def test_the_groups_orders_are_listed_for_all_and_cancelled_by_their_owner(
    store: OrderStore, group: Group
) -> None:
    order_id, _ = place_order(group.ana, "es", "tarta para la oficina")
    group.ana.wait_for(containing("está completado"), timeout=20)

    sent = group.luis.send("/orders")
    listing = group.luis.wait_for(containing("This chat's orders", after=sent.message_id))
    assert order_id in text_of(listing)
    sent = group.luis.send(f"/cancel {order_id}")
    refusal = group.luis.wait_for(containing(order_id, after=sent.message_id))
    assert refusal.text == f"🙅 Only whoever placed order {order_id} can cancel it."


def test_a_stale_order_is_alerted_in_its_group(store: OrderStore, group: Group) -> None:
    # An order stuck for a minute (placed, but its chain never ran).
    stuck = OrderStore(store.db, clock=lambda: time.time() - 60)
    order, _ = stuck.create(group.ana.chat_id, group.ana.user["id"], "pedido atascado", 999_999)
    # Stored without a pending start: as far as the sweep knows, it was queued.

    alert = group.ana.wait_for(lambda m: order.id in text_of(m) and "⏳" in text_of(m), timeout=20)

    assert alert.chat_id == group.ana.chat_id
