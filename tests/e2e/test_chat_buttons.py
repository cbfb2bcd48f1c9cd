"""Inline buttons on status messages end to end: Actualizar and Cancelar, pressed by the right
person or the wrong one, twice, late, or on a message that is no longer the order's.

Each step takes STEP_SECONDS=1, so a button can be pressed while the order is under way.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

import pytest
import requests

from core.orders.store import OrderStore
from sandbox import RunningSandbox
from sandbox.client import Chat, SandboxError
from tests.support.chat import (
    WORDS,
    buttons_of,
    chat_system,
    containing,
    count_containing,
    place_order,
    status_of,
    text_of,
)
from tests.support.processes import wait_until
from tests.support.system import System


@pytest.fixture(scope="module")
def system(
    tmp_path_factory: pytest.TempPathFactory, sandbox_server: RunningSandbox
) -> Iterator[System]:
    with chat_system(tmp_path_factory, sandbox_server, STEP_SECONDS="1") as running:
        yield running


@pytest.fixture(scope="module")
def store(system: System) -> OrderStore:
    return system.store


def under_way(chat: Chat, order_id: str, step: str) -> int:
    """Wait until the status message shows `step` (e.g. "1/3"); its message id."""
    return chat.wait_for(lambda m: order_id in text_of(m) and step in text_of(m)).message_id


def press_together(chat: Chat, label: str, message_id: int, times: int = 2) -> list[str]:
    """Press the same button `times` times at once (a nervous double tap); the query ids. A
    tap the sandbox refuses because the bot had already taken the button away (its edit came
    first, as a client that got the edit would not send the tap) makes no query."""
    start = threading.Barrier(times)
    ids: list[str] = []

    def press() -> None:
        start.wait()
        with contextlib.suppress(SandboxError):
            ids.append(chat.press(label, message_id=message_id))

    threads = [threading.Thread(target=press) for _ in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return ids


@pytest.mark.parametrize("lang", ["es", "en"])
def test_refresh_shows_the_order_in_place_and_every_edit_keeps_the_buttons(
    system: System, lang: str
) -> None:
    words = WORDS[lang]
    chat = system.private_chat(language=lang)
    order_id, status = place_order(chat, lang, "2 pizzas")
    assert buttons_of(status) == [words["refresh"], words["cancel_button"]]
    under_way(chat, order_id, "1/3")
    messages_before = len(chat.bot_messages())

    answer = chat.callback_answer(chat.press(words["refresh"], message_id=status.message_id))

    assert answer["text"] == {"es": "Actualizado", "en": "Updated"}[lang]
    assert not answer["show_alert"]
    assert len(chat.bot_messages()) == messages_before  # in place, no new message
    done = chat.wait_for(containing(words["completed_state"]), timeout=20)
    assert done.message_id == status.message_id
    assert buttons_of(done) == [words["refresh"]]  # nothing left to cancel
    # Telegram drops the keyboard of an edit that does not repeat it: every edit did.
    assert all(state["reply_markup"] for state in done.history)


@pytest.mark.parametrize("lang", ["es", "en"])
def test_cancel_button_cancels_and_the_status_says_so(system: System, lang: str) -> None:
    words = WORDS[lang]
    chat = system.private_chat(language=lang)
    order_id, status = place_order(chat, lang, "1 empanada")
    under_way(chat, order_id, "1/3")

    answer = chat.callback_answer(chat.press(words["cancel_button"], message_id=status.message_id))

    toast = {"es": f"Pedido {order_id} cancelado", "en": f"Order {order_id} cancelled"}[lang]
    assert answer == {**answer, "text": toast, "show_alert": False}
    shown = chat.wait_for(
        lambda m: m.message_id == status.message_id and words["cancelled_state"] in text_of(m)
    )
    assert buttons_of(shown) == [words["refresh"]]
    notice = chat.wait_for(containing("🚫", after=status.message_id))
    assert order_id in text_of(notice) and words["cancelled"] in text_of(notice)
    # The queued steps were revoked: the worker discards the next one instead of running it.
    task_ids = system.store.get(order_id).task_ids.split(",")
    worker = system.processes[0]
    wait_until(
        lambda: f"Discarding revoked task: preparar_envio[{task_ids[1]}]" in worker.log(),
        15,
        "the next step discarded",
    )
    assert count_containing(chat, words["completed"]) == 0
    assert count_containing(chat, words["cancelled"]) == 1


def test_a_double_tap_on_cancelar_acts_once(system: System, store: OrderStore) -> None:
    chat = system.private_chat()
    order_id, status = place_order(chat, "es", "3 cafés")
    under_way(chat, order_id, "1/3")

    answers = [chat.callback_answer(q) for q in press_together(chat, "Cancelar", status.message_id)]

    said = sorted(a["text"] for a in answers)
    # One tap cancels; a second that reached the bot is told it was cancelled already.
    assert said[-1] == f"Pedido {order_id} cancelado", said
    assert said[:-1] in ([], [f"El pedido {order_id} ya estaba cancelado."]), said
    chat.wait_for(containing("🚫"))
    assert store.get(order_id).state.value == "cancelado"
    assert buttons_of(status_of(chat, order_id)) == ["Actualizar"]
    # Both presses answered, one cancellation told once.
    chat.send("/ayuda")  # a round trip, so a second notice would have arrived by now
    chat.wait_for(containing("/pedidos"))
    assert count_containing(chat, "🚫") == 1


@pytest.mark.parametrize("lang", ["es", "en"])
def test_someone_else_in_the_group_gets_an_alert_and_nothing_changes(
    system: System, store: OrderStore, lang: str
) -> None:
    group_id = -system.new_chat_id()
    ana = system.sandbox.group_chat(
        group_id, title="Tienda", user_id=-group_id + 1, first_name="Ana"
    )
    luis = ana.as_user(user_id=-group_id + 2, first_name="Luis", language_code=lang)
    order_id, status = place_order(ana, "es", "pizza para el grupo")
    under_way(ana, order_id, "1/3")

    alerts = [
        luis.callback_answer(luis.press(label, message_id=status.message_id))
        for label in ("Cancelar", "Actualizar")
    ]

    expected = {
        "es": "Estos botones son de otra persona.",
        "en": "These buttons belong to someone else.",
    }[lang]
    assert all(a["show_alert"] and a["text"] == expected for a in alerts)
    assert store.get(order_id).state.value != "cancelado"
    ana.callback_answer(ana.press("Cancelar", message_id=status.message_id))
    ana.wait_for(containing("Estado: cancelado"))


def test_a_button_on_a_message_that_is_no_longer_the_orders_gets_an_alert(
    system: System, store: OrderStore
) -> None:
    chat = system.private_chat()
    order_id, first = place_order(chat, "es", "menú del día")
    under_way(chat, order_id, "1/3")
    # As if the bot's reply had been lost: the next step sends a new status message.
    store.set_fields(order_id, status_message_id=0)
    second = chat.wait_for(lambda m: order_id in text_of(m) and m.message_id > first.message_id)

    answer = chat.callback_answer(chat.press("Actualizar", message_id=first.message_id))

    assert answer["show_alert"]
    assert answer["text"] == "Este mensaje ya no está al día: usa el más reciente."
    # Its buttons are gone, so nobody presses them again.
    chat.wait(
        lambda messages: any(m.message_id == first.message_id and not m.buttons for m in messages),
        what="the old keyboard removed",
    )
    fresh = chat.callback_answer(chat.press("Actualizar", message_id=second.message_id))
    assert fresh["text"] == "Actualizado"
    assert store.get(order_id).status_message_id == second.message_id


def test_too_late_to_cancel_a_completed_order_by_button(system: System) -> None:
    chat = system.private_chat(language="en")
    # Edits fail for a while: the status message still offers Cancel once the order is done.
    system.sandbox.fail("editMessageText", status=502, times=None)
    try:
        order_id, status = place_order(chat, "en", "late pizza")
        chat.wait_for(containing("is complete"), timeout=20)
        assert buttons_of(status_of(chat, order_id)) == ["Refresh", "Cancel"]

        answer = chat.callback_answer(chat.press("Cancel", message_id=status.message_id))
    finally:
        system.sandbox.clear_faults()

    assert answer["show_alert"]
    too_late = f"Order {order_id} is already completed ✅: it can no longer be cancelled."
    assert answer["text"] == too_late
    final = chat.wait_for(
        lambda m: m.message_id == status.message_id and "State: completed" in text_of(m),
        timeout=20,
    )
    assert buttons_of(final) == ["Refresh"]
    assert count_containing(chat, "cancelled.") == 0


def test_a_button_the_bot_never_made_is_still_answered(system: System) -> None:
    chat = system.private_chat()
    sandbox = system.sandbox
    requests.post(
        f"{sandbox.api_url}/bot{sandbox.token}/sendMessage",
        json={
            "chat_id": chat.chat_id,
            "text": "un botón de otra versión",
            "reply_markup": {"inline_keyboard": [[{"text": "Viejo", "callback_data": "v1:x"}]]},
        },
        timeout=10,
    )
    answer = chat.callback_answer(chat.press("Viejo"))
    assert answer["show_alert"] and "ya no está al día" in answer["text"]


def test_status_message_ids_are_recorded_for_the_buttons(system: System) -> None:
    """The bot records the status message it sent, so its buttons are recognised as current."""
    chat = system.private_chat()
    order_id, status = place_order(chat, "es", "agua")
    wait_until(
        lambda: system.store.get(order_id).status_message_id == status.message_id,
        5,
        "status message recorded",
    )
