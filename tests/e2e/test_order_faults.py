"""Orders under faults: a flaky or refusing payment API, a killed worker, Telegram down."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox import RunningSandbox
from sandbox.client import Chat, Message
from tests.e2e.test_orders import completed, is_status, order_id_of
from tests.e2e.test_photos import album_of
from tests.support.chat import running_bot
from tests.support.faulty_system import bot_with_payments
from tests.support.payment import PaymentService
from tests.support.processes import wait_until
from tests.support.system import System


@pytest.fixture(scope="module")
def system(
    tmp_path_factory: pytest.TempPathFactory,
    sandbox_server: RunningSandbox,
    payments: PaymentService,
) -> Iterator[System]:
    with bot_with_payments(tmp_path_factory.mktemp("faults"), sandbox_server, payments) as running:
        yield running


@pytest.fixture(scope="module")
def worker(system: System) -> None:
    system.start_worker()


def stop_workers(system: System) -> None:
    for process in system.processes:
        if process.name.startswith("worker"):
            process.kill(signal.SIGTERM)


def failed(message: object) -> bool:
    text = getattr(message, "text", "") or ""
    return "no se pudo completar" in text


def test_payment_5xx_then_recovery_completes_the_order(
    system: System, worker: None, payments: PaymentService
) -> None:
    payments.answer(503, times=2)
    chat = system.private_chat()
    chat.send("/pedido 3 cafés")
    chat.wait_for(completed, timeout=45)
    order_id = order_id_of(chat.wait_for(is_status))
    tries = [call for call in payments.calls if call["order_id"] == order_id]
    assert len(tries) == 3
    assert {call["idempotency_key"] for call in tries} == {order_id}
    assert not any(failed(m) for m in chat.bot_messages())


def test_payment_4xx_fails_the_order_and_tells_the_chat_once(
    system: System, worker: None, payments: PaymentService
) -> None:
    payments.answer(402, {"reason": "fondos insuficientes"})
    chat = system.private_chat()
    chat.send("/pedido 1 tarta")
    told = chat.wait_for(failed, timeout=30)
    assert "el pago fue rechazado (fondos insuficientes)" in (told.text or "")
    status = chat.wait_for(lambda m: is_status(m) and "fallido" in (m.text or ""))
    assert "Motivo: el pago fue rechazado" in (status.text or "")
    order_id = order_id_of(status)
    assert len([c for c in payments.calls if c["order_id"] == order_id]) == 1

    chat.send(f"/estado {order_id}")
    answer = chat.wait_for(lambda m: "Creado:" in (m.text or ""))
    assert "fallido" in (answer.text or "") and "fondos insuficientes" in (answer.text or "")
    assert sum(1 for m in chat.bot_messages() if failed(m)) == 1
    assert not any(completed(m) for m in chat.bot_messages())


def test_bot_api_502_for_a_while_still_delivers_the_result_once(
    system: System, worker: None
) -> None:
    chat = system.private_chat()
    system.sandbox.fail(method="sendMessage", status=502, times=3)
    chat.send("/pedido 2 helados")
    chat.wait_for(completed, timeout=60)
    assert sum(1 for m in chat.bot_messages() if completed(m)) == 1


def test_worker_killed_mid_chain_completes_once_after_restart(system: System, worker: None) -> None:
    # Only a slow worker consumes orders, so the chain is surely mid-step when it dies.
    stop_workers(system)
    slow = system.start_worker(queues="orders", concurrency=1, STEP_SECONDS="30")
    chat = system.private_chat()
    chat.send("/pedido 4 bocadillos")
    chat.wait_for(lambda m: is_status(m) and "validando pago" in (m.text or ""), timeout=30)

    slow.kill(signal.SIGKILL)  # the whole worker, as when its machine dies
    system.start_worker()
    done = chat.wait_for(completed, timeout=60)
    order_id = order_id_of(chat.wait_for(is_status))
    assert order_id in (done.text or "")
    assert sum(1 for m in chat.bot_messages() if completed(m)) == 1
    # The kill may land between Telegram's answer to the worker's edit and its letting go of
    # the message: the status then shows its final form once that claim expires (60 s).
    status = chat.wait_for(lambda m: is_status(m) and "100%" in (m.text or ""), timeout=90)
    # Progress edits merged while the message was held may be skipped, but it never goes back.
    steps = [line for t in status.edits for line in t.splitlines() if line.startswith("Paso")]
    numbers = [int(step.split()[1].split("/")[0]) for step in steps]
    assert numbers == sorted(numbers) and numbers[0] == 1


def test_redis_restart_loses_no_queued_order(system: System, worker: None) -> None:
    chat = system.private_chat()
    chat.send("/pedido 1 antes del reinicio")
    chat.wait_for(completed, timeout=30)
    stop_workers(system)
    chat.send("/pedido 2 durante el reinicio")
    chat.wait_for(lambda m: is_status(m) and "durante" in (m.text or ""), timeout=15)

    system.redis.restart()  # AOF brings back the queue and the orders
    system.start_worker()
    chat.wait_for_count(completed, 2, timeout=60)
    assert sum(1 for m in chat.bot_messages() if completed(m)) == 2

    chat.send("/estado")
    listing = chat.wait_for(lambda m: "Tus pedidos recientes" in (m.text or ""))
    assert "antes del reinicio" in (listing.text or "") and "durante" in (listing.text or "")


def status_messages_of(chat: Chat, order_id: str) -> list[Message]:
    return [m for m in chat.bot_messages() if is_status(m) and order_id in (m.text or "")]


def test_order_answered_while_redis_goes_down_is_queued_once(system: System, worker: None) -> None:
    """Redis goes away between the bot's answer and the queueing of the chain: the bot tries
    again once it is back, and the customer sees one status message that ends completed."""
    chat = system.private_chat()
    # The status message reaches the chat at once; the bot hears so only 3 s later.
    system.sandbox.hold_answers("sendMessage", 3.0)
    chat.send("/pedido 3 durante el corte")
    status = chat.wait_for(lambda m: is_status(m) and "corte" in (m.text or ""), timeout=15)
    order_id = order_id_of(status)
    system.redis.stop()
    bot = running_bot(system)
    wait_until(lambda: f"order={order_id} not queued" in bot.log(), 30, "the bot to miss Redis")
    system.redis.start()

    chat.wait_for(lambda m: completed(m) and order_id in (m.text or ""), timeout=60)
    statuses = status_messages_of(chat, order_id)
    assert len(statuses) == 1, [m.describe() for m in statuses]
    assert "completado" in (statuses[0].text or "")
    assert sum(1 for m in chat.bot_messages() if completed(m) and order_id in (m.text or "")) == 1


def test_work_whose_bot_died_before_queueing_is_queued_by_the_sweep(
    system: System, worker: None, photos_dir: Path
) -> None:
    """The bot is killed after answering and before queueing: the order and the photo job it
    stored are queued by the workers' recovery sweep, and each completes once."""
    chat = system.private_chat()
    pictures = system.private_chat(first_name="Foto")
    # Both status messages reach their chats at once; the bot hears of neither for 10 s.
    system.sandbox.hold_answers("sendMessage", 10.0, times=2)
    chat.send("/pedido 4 sin bot")
    pictures.send_photo(photos_dir / "Landscape_1.jpg")
    status = chat.wait_for(lambda m: is_status(m) and "sin bot" in (m.text or ""), timeout=15)
    order_id = order_id_of(status)
    pictures.wait_for(lambda m: "F-" in (m.text or ""), timeout=15)
    running_bot(system).kill(signal.SIGKILL)
    system.sandbox.clear_faults()
    try:
        done = chat.wait_for(lambda m: completed(m) and order_id in (m.text or ""), timeout=90)
        album = album_of(pictures, timeout=90)
    finally:
        system.start_bot()
    assert order_id in (done.text or "")
    assert sum(1 for m in chat.bot_messages() if completed(m) and order_id in (m.text or "")) == 1
    # The newest status message the customer has for the order ends in its final form.
    assert "completado" in (status_messages_of(chat, order_id)[-1].text or "")
    assert len(album) == 3
    assert sum(1 for m in pictures.bot_messages() if m.media_group_id) == 3


def test_estado_at_each_stage(system: System, worker: None) -> None:
    stop_workers(system)
    chat = system.private_chat()
    chat.send("/pedido 5 churros")
    order_id = order_id_of(chat.wait_for(is_status))
    answers = 0

    def ask(expected: str) -> None:
        nonlocal answers
        chat.send(f"/estado {order_id}")
        answers += 1
        found = chat.wait_for_count(lambda m: "Creado:" in (m.text or ""), answers)[-1]
        assert expected in (found.text or ""), found.text

    ask("Estado: recibido")
    system.start_worker(queues="orders", STEP_SECONDS="2")
    for step in ("Paso 1/3: validando pago", "Paso 2/3: preparando envío"):
        chat.wait_for(lambda m, s=step: is_status(m) and s in (m.text or ""), timeout=30)
        ask(step)
    chat.wait_for(completed, timeout=30)
    ask("Estado: completado")
