"""The chat-side findings of the security review, each played as the attack or fault itself:
an edited /pedido, admin commands from people who are not admins, anonymous senders owning
orders, a status edit Telegram refuses, and a group upgraded to a supergroup mid-order."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from core.orders.states import OrderState
from core.orders.store import OrderStore
from core.telegram.dead_letters import DeadLetters
from core.telegram.handover import Outgoing
from sandbox import RunningSandbox
from sandbox.client import Chat, Message
from tests.support.chat import (
    chat_system,
    containing,
    count_containing,
    is_status,
    order_id_of,
    place_order,
    text_of,
)
from tests.support.processes import wait_until
from tests.support.system import System

ADMIN = 7_700_001
ADMIN_GROUP = -100_770_077
CHANNEL = -100_990_099
REFUSED = "solo para administradores"
ANONYMOUS = "escribe con tu propia cuenta"
COMPLETED = "está completado"


@pytest.fixture(scope="module")
def system(
    tmp_path_factory: pytest.TempPathFactory, sandbox_server: RunningSandbox
) -> Iterator[System]:
    with chat_system(
        tmp_path_factory,
        sandbox_server,
        STEP_SECONDS="1",
        ADMIN_CHAT_IDS=str(ADMIN_GROUP),
        ADMIN_USER_IDS=str(ADMIN),
    ) as running:
        yield running


@pytest.fixture(scope="module")
def store(system: System) -> OrderStore:
    return system.store


def all_updates_taken(system: System) -> None:
    wait_until(lambda: not system.sandbox.pending_updates(), 10, "the bot to take every update")


# --- 4. edited messages -------------------------------------------------------------------


def test_an_edited_pedido_places_nothing(system: System, store: OrderStore) -> None:
    chat = system.private_chat()
    sent = chat.send("/pedido 1 pizza")
    chat.wait_for(lambda m: is_status(m) and "1 pizza" in text_of(m))
    chat.wait_for(containing(COMPLETED), timeout=30)
    # The customer edits the old command: an edit is not a new order (nor a guided one).
    chat.edit(sent.message_id, "/pedido 2 pizzas")
    chat.edit(sent.message_id, "/pedido")  # nor does it start a guided order
    barrier = chat.send("/estado")
    chat.wait_for(containing("1 pizza", after=barrier.message_id))
    all_updates_taken(system)

    assert store.count(chat.chat_id) == 1
    assert [o.text for o in store.recent(chat.chat_id)] == ["1 pizza"]
    assert not any(
        "2 pizzas" in text_of(m) or "Dime qué" in text_of(m) for m in chat.bot_messages()
    )


def answered(chat: Chat, sent: Message, text: str) -> None:
    """Wait for the bot's reply to `sent` containing `text`."""
    chat.wait(
        lambda ms: any(m.reply_to_message_id == sent.message_id and text in text_of(m) for m in ms),
        what=f"a reply to #{sent.message_id} saying {text!r}",
    )


# --- 2. admins ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def letter(system: System) -> str:
    """A failed delivery holding a customer's words."""
    letters = DeadLetters(redis.Redis.from_url(system.redis.url, decode_responses=True))
    message = Outgoing(chat_id=555, text="dirección secreta: calle Mayor 5", key="k-secret")
    return letters.add_send(message, "HTTP 502", attempts=5).id


def test_anonymous_admins_channel_posts_and_members_cannot_list_dead_letters(
    system: System, letter: str
) -> None:
    group = system.sandbox.group_chat(ADMIN_GROUP, title="Operaciones", user_id=ADMIN)
    member = group.as_user(7_700_002, first_name="Eva")

    attempts = [
        group.anonymous_admin_send("/entregas", title="Operaciones"),
        group.channel_send("/entregas", channel_id=CHANNEL, title="Avisos"),
        group.channel_send("/entregas", channel_id=CHANNEL, automatic_forward=True),
        member.send("/entregas"),
        member.send("/atrasados"),
    ]

    for sent in attempts:
        answered(group, sent, REFUSED)
    assert sum(1 for m in group.messages() if REFUSED in text_of(m)) == len(attempts)
    assert not any(letter in text_of(m) for m in group.bot_messages())


def test_an_admin_lists_dead_letters_with_customer_text_only_in_private(
    system: System, letter: str
) -> None:
    group = system.sandbox.group_chat(ADMIN_GROUP, title="Operaciones", user_id=ADMIN)
    sent = group.send("/entregas")
    in_group = group.wait_for(containing(letter, after=sent.message_id))
    assert "calle Mayor" not in text_of(in_group)
    assert "texto oculto" in text_of(in_group)

    private = system.sandbox.private_chat(user_id=ADMIN, first_name="Admin")
    sent = private.send("/entregas")
    listing = private.wait_for(containing(letter, after=sent.message_id))
    assert "calle Mayor 5" in text_of(listing)


def test_an_admin_in_a_chat_that_is_not_an_admin_chat_is_refused(system: System) -> None:
    other = system.sandbox.group_chat(-system.new_chat_id(), title="Clientes", user_id=ADMIN)
    sent = other.send("/entregas")
    other.wait_for(containing(REFUSED, after=sent.message_id))


STAFF_COMMANDS = (
    "/informe",
    "/exportar",
    "/importar",
    "/catalogo",
    "/precio PZ-MARG 1",
    "/stock PZ-MARG 0",
    "/agotado PZ-MARG",
    "/reembolsos",
    "/reembolsar P-AAAAAA motivo",
    "/borrar_datos 12345",
)


def test_every_staff_command_refuses_a_customer_and_an_anonymous_admin(system: System) -> None:
    """The staff commands share one check (bot.app's staff_only): each one, from a customer
    in private or from the admin group's anonymous admin, gets the refusal and nothing else."""
    customer = system.private_chat()
    group = system.sandbox.group_chat(ADMIN_GROUP, title="Operaciones", user_id=ADMIN)
    for command in STAFF_COMMANDS:
        sent = customer.send(command)
        customer.wait_for(containing("solo para el equipo", after=sent.message_id))
        sent = group.anonymous_admin_send(command, title="Operaciones")
        group.wait_for(containing("solo para el equipo", after=sent.message_id))
    all_updates_taken(system)
    refusals = [m for m in customer.bot_messages() if "solo para el equipo" in text_of(m)]
    assert len(refusals) == len(customer.bot_messages()) == len(STAFF_COMMANDS)


# --- 3. shared ids in groups ------------------------------------------------------------------


def test_anonymous_admins_and_channels_cannot_own_orders(system: System, store: OrderStore) -> None:
    group_id = -system.new_chat_id()
    ana = system.sandbox.group_chat(group_id, title="Tienda", user_id=-group_id + 1)
    order_id, _ = place_order(ana, "es", "pizza de Ana")

    attempts = [
        ana.anonymous_admin_send("/pedido 2 pizzas", title="Tienda"),
        ana.anonymous_admin_send("/pedido", title="Tienda"),
        ana.anonymous_admin_send(f"/cancelar {order_id}", title="Tienda"),
        ana.channel_send("/pedido 3 pizzas", channel_id=CHANNEL),
        ana.channel_send("/cancelar", channel_id=CHANNEL),
    ]

    for sent in attempts:
        answered(ana, sent, ANONYMOUS)
    assert [o.id for o in store.recent(group_id, 10)] == [order_id]
    assert store.get(order_id).state is not OrderState.CANCELADO


# --- 5. progress edits and upgraded groups -----------------------------------------------------


def test_a_status_edit_telegram_refuses_does_not_fail_a_paid_order(
    system: System, store: OrderStore
) -> None:
    chat = system.private_chat()
    system.sandbox.fail(
        "editMessageText",
        status=400,
        times=None,
        description="Bad Request: can't parse entities: unsupported start tag",
    )
    try:
        order_id, _ = place_order(chat, "es", "pizza con etiqueta rara")
        chat.wait_for(containing(COMPLETED), timeout=30)
    finally:
        system.sandbox.clear_faults()
    assert store.get(order_id).state is OrderState.COMPLETADO
    assert count_containing(chat, "no pudimos") == 0  # no failure told to the customer


def supergroup_id(group_id: int) -> int:
    return int(f"-100{-group_id:010d}")


def test_a_group_upgraded_mid_order_gets_its_order_completed_in_the_supergroup(
    system: System, store: OrderStore
) -> None:
    group_id = -system.new_chat_id()
    ana = system.sandbox.group_chat(group_id, title="Amigos", user_id=-group_id + 1)
    luis = ana.as_user(-group_id + 2, first_name="Luis")
    order_id, status = place_order(ana, "es", "paella para todos")
    ana.wait_for(lambda m: m.message_id == status.message_id and "1/3" in text_of(m))
    sent = luis.send("/pedido")  # Luis is in the middle of a guided order
    luis.wait_for(containing("Dime qué quieres pedir", after=sent.message_id))

    supergroup: Chat = ana.migrate_to_supergroup(supergroup_id(group_id))

    # The order finishes in the supergroup, with a status message there.
    supergroup.wait_for(containing(COMPLETED), timeout=30)
    moved = supergroup.wait_for(lambda m: is_status(m) and order_id in text_of(m))
    supergroup.wait_for(
        lambda m: m.message_id == moved.message_id and "Estado: completado" in text_of(m)
    )
    order = store.get(order_id)
    assert order.chat_id == supergroup.chat_id and order.state is OrderState.COMPLETADO
    assert order.status_message_id == moved.message_id
    # It is the supergroup's order now: /estado and /pedidos find it there.
    sent = supergroup.send(f"/estado {order_id}")
    supergroup.wait_for(containing("paella", after=sent.message_id))
    assert store.find(order_id, group_id) is None

    # Luis's guided order followed too: he answers in the supergroup.
    luis_there = supergroup.as_user(luis.user["id"], first_name="Luis")
    bot = system.sandbox.bot_username
    sent = luis_there.send(f"@{bot} tortilla")
    confirmation = luis_there.wait_for(containing("¿Confirmas", after=sent.message_id))
    luis_there.callback_answer(luis_there.press("Confirmar", message_id=confirmation.message_id))
    placed = luis_there.wait_for(lambda m: m.message_id == confirmation.message_id and is_status(m))
    luis_order = order_id_of(placed)
    wait_until(
        lambda: store.get(luis_order).state is OrderState.COMPLETADO, 30, "Luis's order done"
    )
    assert store.get(luis_order).chat_id == supergroup.chat_id
