"""Staff cards end to end: every button, a double press, two admins racing, and /estado.

Orders get stuck the way they do in production: no worker consumes `orders`. Beat runs the
watcher every second and an order is stale after 2 s, so its card comes a few seconds after
/pedido. ESCALATE_AFTER is an hour here (no reminders get in the way); the reminders and the
escalation have their own module (test_staff_escalation.py).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
import redis

from core.orders.states import OrderState
from core.orders.store import OrderStore
from sandbox import RunningSandbox
from sandbox.client import Chat, Message
from tests.e2e.test_orders import completed, is_status, order_id_of
from tests.support.processes import wait_until
from tests.support.system import System, running_system

ANA, LUIS = 9_101, 9_102
ADMIN_GROUP = -100_910_910
SNOOZE = 3.0


@dataclass
class Staff:
    ana: Chat  # Ana in the admin group
    luis: Chat  # Luis in the same group
    ana_private: Chat


@pytest.fixture(scope="module")
def system(
    tmp_path_factory: pytest.TempPathFactory, sandbox_server: RunningSandbox
) -> Iterator[System]:
    tmp = tmp_path_factory.mktemp("staff")
    with running_system(
        tmp,
        sandbox_server.url,
        sandbox_server.token,
        WATCH_INTERVAL="1s",
        STALE_AFTER="2s",
        ESCALATE_AFTER="1h",
        SNOOZE_FOR=f"{SNOOZE:g}s",
        ADMIN_CHAT_IDS=f"{ANA},{ADMIN_GROUP}",
        # Ana is an admin by her private admin chat; Luis by his user id (core.admins: a
        # member of an admin group is not an admin by being there).
        ADMIN_USER_IDS=str(LUIS),
    ) as running:
        with running.starting():
            running.start_worker(queues="images,telegram,watcher,imports,reports")
            running.start_bot()
            running.start_beat()
        yield running


@pytest.fixture(scope="module")
def staff(system: System) -> Staff:
    group = system.sandbox.group_chat(
        ADMIN_GROUP, title="Operaciones", user_id=ANA, first_name="Ana"
    )
    return Staff(
        ana=group,
        luis=group.as_user(user_id=LUIS, first_name="Luis"),
        ana_private=system.sandbox.private_chat(user_id=ANA, first_name="Ana"),
    )


@pytest.fixture(scope="module")
def store(system: System) -> OrderStore:
    return system.store


def stuck_order(system: System) -> tuple[Chat, str]:
    chat = system.private_chat()
    chat.send("/pedido 3 empanadas")
    return chat, order_id_of(chat.wait_for(is_status, timeout=15))


def card_of(chat: Chat, order_id: str, after: int = 0) -> Message:
    """The order's card with its buttons in an admin chat."""
    return chat.wait_for(
        lambda m: order_id in (m.text or "") and "Atendido" in m.button_texts,
        timeout=30,
        after=after,
    )


def card_of_any(chat: Chat, order_id: str) -> Message:
    return chat.wait_for(
        lambda m: (
            f"Pedido atrasado</b> {order_id}" in (m.text or "")
            or (
                (m.text or "").startswith(("🛎", "🗂")) and order_id in (m.text or "").splitlines()[0]
            )
        ),
        timeout=30,
    )


def data_of(card: Message, label: str) -> str:
    """The (signed) callback data of the card's button with this label."""
    rows = (card.reply_markup or {}).get("inline_keyboard", [])
    return next(str(b["callback_data"]) for row in rows for b in row if b["text"] == label)


def closed(chat: Chat, card: Message, words: str) -> Message:
    """The card once answered: no buttons, who did what."""
    return chat.wait_for(
        lambda m: m.message_id == card.message_id and not m.buttons and words in (m.text or ""),
        timeout=15,
    )


@contextmanager
def slow_edits(system: System) -> Iterator[None]:
    """Edits take a second to land, so a second press reaches the card before its buttons go
    (Telegram takes a press only on a button the message still has)."""
    system.sandbox.set_latency(1.0, method="editMessageText")
    try:
        yield
    finally:
        system.sandbox.set_latency(0.0, method="editMessageText")


def test_card_has_the_four_buttons_in_every_admin_chat(system: System, staff: Staff) -> None:
    _, order_id = stuck_order(system)
    for chat in (staff.ana, staff.ana_private):
        card = card_of(chat, order_id)
        assert card.buttons == [["Atendido", "Posponer 3 s"], ["Reintentar", "Cancelar y avisar"]]
        assert "Pedido atrasado" in (card.text or "")
        # What the customer wrote only in Ana's own chat, not in the group (core.admins).
        assert ("3 empanadas" in (card.text or "")) is (chat is staff.ana_private)


def test_admin_groups_see_ids_and_states_not_what_customers_wrote(
    system: System, staff: Staff
) -> None:
    _customer, order_id = stuck_order(system)
    in_group = card_of(staff.ana, order_id)
    in_private = card_of(staff.ana_private, order_id)
    assert "empanadas" not in (in_group.text or "")
    assert "(texto del cliente oculto aquí" in (in_group.text or "")
    assert "3 empanadas" in (in_private.text or "")  # Ana's own chat: a staff member's

    staff.ana.send(f"/estado {order_id}")
    estado = staff.ana.wait_for(
        lambda m: (m.text or "").startswith(f"🧾 Pedido {order_id}") and "equipo" in (m.text or ""),
        timeout=10,
    )
    assert "empanadas" not in (estado.text or "") and "oculto" in (estado.text or "")
    closed_group = staff.ana.callback_answer(
        staff.ana.press("Atendido", message_id=in_group.message_id)
    )
    assert closed_group["text"] == "✅ Atendido: hecho."
    answered = closed(staff.ana, in_group, "✅ Atendido · Ana")
    assert "empanadas" not in (answered.text or "")
    assert "3 empanadas" in (closed(staff.ana_private, in_private, "✅ Atendido").text or "")


def test_atendido_once_then_a_double_press_is_told_who(
    system: System, staff: Staff, store: OrderStore
) -> None:
    _, order_id = stuck_order(system)
    card = card_of(staff.ana, order_id)
    private_card = card_of(staff.ana_private, order_id)

    with slow_edits(system):
        # A double tap: the second press reaches Telegram before the first one's edit.
        first_query = staff.ana.press("Atendido", message_id=card.message_id)
        first = staff.ana.callback_answer(first_query)
        again = staff.ana.callback_answer(staff.ana.press("Atendido", message_id=card.message_id))
    assert first["text"] == "✅ Atendido: hecho." and not first["show_alert"]
    closed(staff.ana, card, "✅ Atendido · Ana")
    closed(staff.ana_private, private_card, "✅ Atendido · Ana")  # every admin chat's card
    assert again["show_alert"] and again["text"].startswith("Ya lo atendió Ana: ✅ Atendido")
    log = system.client.lrange(f"pedidos:staff:log:{order_id}", 0, -1)
    assert len(log) == 1  # recorded once
    assert system.client.zscore("pedidos:staff:due", order_id) is None  # no more reminders

    staff.ana_private.send(f"/estado {order_id}")
    estado = staff.ana_private.wait_for(
        lambda m: "Acciones del equipo" in (m.text or "") and order_id in (m.text or ""),
        timeout=10,
    )
    assert "✅ Atendido · Ana (id 9101)" in (estado.text or "")


def test_two_admins_racing_one_acts_the_other_is_told(
    system: System, staff: Staff, store: OrderStore
) -> None:
    customer, order_id = stuck_order(system)
    card = card_of(staff.ana, order_id)
    queries: dict[str, str] = {}

    def press(name: str, chat: Chat, data: str) -> None:
        queries[name] = chat.press(data=data, message_id=card.message_id)

    threads = [
        threading.Thread(target=press, args=("ana", staff.ana, data_of(card, "Reintentar"))),
        threading.Thread(
            target=press, args=("luis", staff.luis, data_of(card, "Cancelar y avisar"))
        ),
    ]
    with slow_edits(system):
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    answers = {
        "ana": staff.ana.callback_answer(queries["ana"]),
        "luis": staff.luis.callback_answer(queries["luis"]),
    }
    winners = [name for name, answer in answers.items() if answer["text"].endswith(": hecho.")]
    assert len(winners) == 1, answers
    loser = "luis" if winners == ["ana"] else "ana"
    winner_name = "Ana" if winners == ["ana"] else "Luis"
    assert answers[loser]["show_alert"]
    assert answers[loser]["text"].startswith(f"Ya lo atendió {winner_name}:"), answers
    assert system.client.llen(f"pedidos:staff:log:{order_id}") == 1
    state = store.get(order_id).state
    if winners == ["luis"]:
        assert state is OrderState.CANCELADO
        customer.wait_for(lambda m: "Hemos cancelado tu pedido" in (m.text or ""), timeout=10)
    else:
        assert state is OrderState.PENDIENTE  # retried, and no worker takes orders here
        assert not any("cancelado" in (m.text or "") for m in customer.bot_messages())


def test_posponer_brings_the_card_back_after_the_snooze(
    system: System, staff: Staff, store: OrderStore
) -> None:
    _, order_id = stuck_order(system)
    card = card_of(staff.ana, order_id)
    answer = staff.ana.callback_answer(staff.ana.press("Posponer 3 s", message_id=card.message_id))
    assert answer["text"] == "💤 Pospuesto: hecho."
    closed(staff.ana, card, "💤 Pospuesto · Ana")
    again = card_of(staff.ana, order_id, after=card.message_id)
    assert again.date - card.date >= SNOOZE - 1
    # The new card is round 2: the old one's buttons no longer act.
    stale = staff.ana.callback_answer(
        staff.ana.press(data=data_of(again, "Cancelar y avisar"), message_id=again.message_id)
    )
    assert stale["text"] == "🚫 Cancelado y avisado: hecho."
    assert store.get(order_id).state is OrderState.CANCELADO


def test_cancelar_y_avisar_tells_the_customer_once(
    system: System, staff: Staff, store: OrderStore
) -> None:
    customer, order_id = stuck_order(system)
    card = card_of(staff.ana, order_id)
    answer = staff.ana.callback_answer(
        staff.ana.press("Cancelar y avisar", message_id=card.message_id)
    )
    assert answer["text"] == "🚫 Cancelado y avisado: hecho."
    closed(staff.ana, card, "🚫 Cancelado y avisado · Ana")
    customer.wait_for(lambda m: "Hemos cancelado tu pedido" in (m.text or ""), timeout=10)
    customer.wait_for(lambda m: is_status(m) and "cancelado" in (m.text or ""), timeout=10)
    assert store.get(order_id).state is OrderState.CANCELADO
    # The card in the other admin chat shows it too, and the customer was told once.
    closed(
        staff.ana_private, card_of_any(staff.ana_private, order_id), "🚫 Cancelado y avisado · Ana"
    )
    told = [m for m in customer.bot_messages() if "Hemos cancelado" in (m.text or "")]
    assert len(told) == 1


def test_reintentar_enqueues_the_stuck_step_again(
    system: System, staff: Staff, store: OrderStore
) -> None:
    """The order's queued step is lost (as if its message expired); Reintentar brings it
    back, and once a worker takes orders the customer hears "completado" once."""
    customer, order_id = stuck_order(system)
    card = card_of(staff.ana, order_id)
    broker = redis.Redis.from_url(system.redis.url)
    broker.delete("orders")  # every queued order step is gone: only a retry can finish it
    answer = staff.ana.callback_answer(staff.ana.press("Reintentar", message_id=card.message_id))
    assert answer["text"] == "🔁 Reintentado: hecho."
    closed(staff.ana, card, "🔁 Reintentado · Ana")
    wait_until(lambda: broker.llen("orders") > 0, 10, "the retried step queued")
    system.start_worker(queues="orders")
    customer.wait_for(completed, timeout=30)
    assert store.get(order_id).state is OrderState.COMPLETADO
    wait_until(lambda: store.get(order_id).state is OrderState.COMPLETADO, 10, "order completed")
    assert sum(1 for m in customer.bot_messages() if completed(m)) == 1
