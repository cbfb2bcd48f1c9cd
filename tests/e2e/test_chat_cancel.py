"""/cancelar end to end: the chain is revoked, a running step stops, a finished order stays
finished, and a cancel racing the last step ends in one final state, told once.

Each step takes STEP_SECONDS=1, so an order can be cancelled while a step runs.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from core.orders.states import OrderState
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
    text_of,
)
from tests.support.processes import wait_until
from tests.support.system import System

STEP_SECONDS = 1.0


@pytest.fixture(scope="module")
def system(
    tmp_path_factory: pytest.TempPathFactory, sandbox_server: RunningSandbox
) -> Iterator[System]:
    with chat_system(tmp_path_factory, sandbox_server, STEP_SECONDS=f"{STEP_SECONDS:g}") as sys:
        yield sys


@pytest.fixture(scope="module")
def store(system: System) -> OrderStore:
    return system.store


def showing(chat: Chat, order_id: str, text: str) -> None:
    chat.wait_for(lambda m: order_id in text_of(m) and text in text_of(m), timeout=15)


@pytest.mark.parametrize("lang", ["es", "en"])
def test_cancel_while_a_step_runs_stops_the_order_there(
    system: System, store: OrderStore, lang: str
) -> None:
    words = WORDS[lang]
    chat = system.private_chat(language=lang)
    order_id, status = place_order(chat, lang, "2 pizzas margarita")
    showing(chat, order_id, "1/3")

    chat.send(f"{words['cancel']} {order_id.lower()}")

    notice = chat.wait_for(containing("🚫"))
    assert (
        notice.text
        == {
            "es": f"🚫 Pedido {order_id} cancelado.",
            "en": f"🚫 Order {order_id} cancelled.",
        }[lang]
    )
    final = chat.wait_for(
        lambda m: m.message_id == status.message_id and words["cancelled_state"] in text_of(m)
    )
    assert buttons_of(final) == [words["refresh"]]
    # The running step noticed at its next check; the next one never ran.
    worker = system.processes[0]
    task_ids = store.get(order_id).task_ids.split(",")
    wait_until(
        lambda: f"order={order_id} step=validando_pago stops: order is cancelado" in worker.log(),
        10,
        "the running step stopping",
    )
    wait_until(
        lambda: f"Discarding revoked task: preparar_envio[{task_ids[1]}]" in worker.log(),
        10,
        "the next step discarded",
    )
    order = store.get(order_id)
    assert order.state is OrderState.CANCELADO and order.step == 1
    assert not any("2/3" in text for text in final.edits)
    assert count_containing(chat, words["completed"]) == 0


@pytest.mark.parametrize("lang", ["es", "en"])
def test_a_finished_order_cannot_be_cancelled_and_the_user_hears_why(
    system: System, store: OrderStore, lang: str
) -> None:
    words = WORDS[lang]
    chat = system.private_chat(language=lang)
    order_id, _ = place_order(chat, lang, "1 café")
    chat.wait_for(containing(words["completed"]), timeout=20)

    chat.send(f"{words['cancel']} {order_id}")

    refusal = chat.wait_for(containing({"es": "no se puede", "en": "no longer"}[lang]))
    assert (
        refusal.text
        == {
            "es": f"El pedido {order_id} ya está completado ✅: no se puede cancelar.",
            "en": f"Order {order_id} is already completed ✅: it can no longer be cancelled.",
        }[lang]
    )
    assert store.get(order_id).state is OrderState.COMPLETADO


def test_cancel_answers_for_ids_that_are_not_the_chats_or_not_there(system: System) -> None:
    owner = system.private_chat()
    order_id, _ = place_order(owner, "es", "algo privado")
    stranger = system.private_chat()
    for query in (order_id, "P-ZZZZZZ", "hola<b>"):
        stranger.send(f"/cancelar {query}")
    stranger.wait_for_count(containing("No encontré ese pedido"), 3)
    stranger.send("/cancelar")
    stranger.wait_for(containing("No hay nada que cancelar"))
    owner.wait_for(containing("está completado"), timeout=20)
    assert count_containing(owner, "🚫") == 0


# Cancels sent around the moment the last step completes: a little before, at, and after.
RACE_OFFSETS = (0.6, 0.8, 0.9, 1.0, 1.1, 1.3)
GONE = "(no button)"


def test_a_cancel_racing_the_last_step_ends_in_one_state_told_once(
    system: System, store: OrderStore
) -> None:
    chats = [system.private_chat() for _ in RACE_OFFSETS]

    def race(chat: Chat, offset: float, by_button: bool) -> tuple[str, str]:
        order_id, status = place_order(chat, "es", f"carrera {offset}")
        showing(chat, order_id, "Paso 3/3")
        # A deliberate delay, not a wait for a condition: it spreads the cancels around
        # the end of the last step's simulated work.
        time.sleep(offset * STEP_SECONDS)
        if by_button:
            try:
                query = chat.press("Cancelar", message_id=status.message_id)
            except SandboxError as exc:
                # Completion won so clearly that the chat no longer showed Cancelar.
                assert exc.status == 404, exc
                return order_id, GONE
            return order_id, chat.callback_answer(query)["text"]
        chat.send(f"/cancelar {order_id}")
        return order_id, ""

    with ThreadPoolExecutor(len(chats)) as pool:
        results = list(pool.map(race, chats, RACE_OFFSETS, [i % 2 == 0 for i in range(len(chats))]))

    outcomes = []
    for chat, (order_id, answered) in zip(chats, results, strict=True):
        by_command = answered == ""
        chat.wait_for(
            lambda m: "🚫" in text_of(m) or "Gracias por tu compra" in text_of(m), timeout=20
        )
        final = store.get(order_id).state
        outcomes.append(final)
        assert final in (OrderState.COMPLETADO, OrderState.CANCELADO)
        if final is OrderState.CANCELADO:
            chat.wait_for(containing("Estado: cancelado"))
        else:
            chat.wait_for(containing("Estado: completado"))
            refusal = "ya está completado ✅: no se puede cancelar."
            if by_command:
                chat.wait_for(containing(refusal))
            elif answered != GONE:
                assert answered.endswith(refusal)
        # A round trip through the bot and the worker, so a second message would be here.
        chat.send("/estado")
        chat.wait_for(containing("Tus pedidos recientes"))
        assert count_containing(chat, "🚫") == (final is OrderState.CANCELADO)
        assert count_containing(chat, "Gracias por tu compra") == (final is OrderState.COMPLETADO)
    print("race outcomes:", [state.value for state in outcomes])
