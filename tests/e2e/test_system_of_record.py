"""The system of record on PostgreSQL, end to end: orders and their history in the database,
Redis lost whole without losing an order or a photo job, two workers racing, the database down
at /pedido."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.orders.states import OrderState
from core.photos.jobs import PhotoJobStore, PhotoState
from sandbox import RunningSandbox
from sandbox.client import Chat, Message
from tests.e2e.test_orders import completed, is_status, order_id_of
from tests.support.postgres import PostgresServer
from tests.support.processes import wait_until
from tests.support.system import System, running_system

CHAIN = ["pendiente", "validando_pago", "preparando_envio", "notificando", "completado"]


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    """A cluster of this module's own: one test stops it."""
    server = PostgresServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def system(
    tmp_path_factory: pytest.TempPathFactory,
    sandbox_server: RunningSandbox,
    postgres: PostgresServer,
) -> Iterator[System]:
    tmp = tmp_path_factory.mktemp("record")
    with running_system(
        tmp, sandbox_server.url, sandbox_server.token, DATABASE_URL=postgres.new_database()
    ) as running:
        with running.starting():
            running.start_worker()
            running.start_bot()
        yield running


def stop(system: System, prefix: str, sig: int = signal.SIGKILL) -> None:
    for process in system.processes:
        if process.name.startswith(prefix) and process.running:
            process.kill(sig)


def told(chat: Chat, order_id: str) -> int:
    """How many "completado" messages the chat got for the order."""
    return sum(1 for m in chat.bot_messages() if completed(m) and order_id in (m.text or ""))


def test_an_order_and_its_history_are_in_the_database(system: System) -> None:
    chat = system.private_chat()
    chat.send("/pedido 2 pizzas margarita")
    done = chat.wait_for(completed, timeout=30)
    order_id = order_id_of(done)

    order = system.store.get(order_id)
    assert order.state is OrderState.COMPLETADO and order.text == "2 pizzas margarita"
    history = system.store.history(order_id)
    assert [e.to_state for e in history] == CHAIN
    assert [e.from_state for e in history] == ["", *CHAIN[:-1]]
    assert history[0].actor == f"customer:{chat.user['id']}"
    assert all(e.actor == "system" for e in history[1:])


def test_redis_lost_whole_loses_no_order_and_repeats_no_message(system: System) -> None:
    """FLUSHALL with orders in flight, then Redis and every process restarted: the sweep
    drives the orders on from the database, and each chat hears "completado" once."""
    stop(system, "worker")
    system.start_worker(STEP_SECONDS="1")
    chats = [system.private_chat() for _ in range(3)]
    for n, chat in enumerate(chats):
        chat.send(f"/pedido {n + 1} empanadas")
    ids = [order_id_of(chat.wait_for(is_status, timeout=30)) for chat in chats]
    wait_until(
        lambda: any(system.store.state_of(i) is OrderState.PREPARANDO_ENVIO for i in ids),
        30,
        "an order in the middle of its chain",
    )

    stop(system, "worker")
    stop(system, "bot")
    system.client.flushall()
    system.redis.restart()
    system.start_worker()
    system.start_bot()

    wait_until(
        lambda: all(system.store.state_of(i) is OrderState.COMPLETADO for i in ids),
        90,
        "every order to complete after Redis was lost",
    )
    for chat, order_id in zip(chats, ids, strict=True):
        chat.wait_for(completed, timeout=30)
        chat.send(f"/estado {order_id}")
        chat.wait_for(lambda m, i=order_id: i in (m.text or "") and "completado" in (m.text or ""))
        assert told(chat, order_id) == 1, chat.transcript_text()
        # Each state reached once: the resumed chain repeated no transition.
        assert [e.to_state for e in system.store.history(order_id)] == CHAIN


def photo_status(chat: Chat, stage: str) -> Message:
    """The photo job's status message once it shows `stage`."""
    return chat.wait_for(
        lambda m: (m.text or "").startswith("🖼️") and stage in (m.text or ""), timeout=60
    )


def test_redis_lost_whole_loses_no_photo_job_and_sends_no_album_twice(
    system: System, photos_dir: Path
) -> None:
    """A finished photo job and one queued, not yet run: FLUSHALL, then Redis and every
    process restarted. /estado answers both from the database, and the sweep drives the
    queued one on: its album arrives once."""
    chat = system.private_chat()
    chat.send_photo(photos_dir / "Landscape_0.jpg")
    done_id = (photo_status(chat, "listo").text or "").split()[2]
    stop(system, "worker")
    chat.send_photo(photos_dir / "Portrait_0.jpg")
    queued_id = (photo_status(chat, "en cola").text or "").split()[2]
    jobs = PhotoJobStore(system.db)
    wait_until(lambda: jobs.get(queued_id).task_id != "", 30, "the job to be queued")

    stop(system, "bot")
    system.client.flushall()
    system.redis.restart()
    system.start_worker()
    system.start_bot()

    chat.wait_for_count(lambda m: bool(m.media_group_id), 6, timeout=90)
    # Its album is out; the job is marked listo just after the send.
    wait_until(lambda: jobs.get(queued_id).state is PhotoState.LISTO, 30, "the job done")
    for job_id in (done_id, queued_id):
        chat.send(f"/estado {job_id}")
        chat.wait_for(lambda m, i=job_id: i in (m.text or "") and "listo" in (m.text or ""))
    albums = {m.media_group_id for m in chat.bot_messages() if m.media_group_id}
    assert len(albums) == 2, chat.transcript_text()  # one each: none sent twice


def test_two_workers_complete_each_order_once(system: System) -> None:
    system.start_worker()
    chats = [system.private_chat() for _ in range(8)]
    for chat in chats:
        chat.send("/pedido 1 café")
    ids = [order_id_of(chat.wait_for(completed, timeout=60)) for chat in chats]
    for chat, order_id in zip(chats, ids, strict=True):
        assert told(chat, order_id) == 1
        assert [e.to_state for e in system.store.history(order_id)] == CHAIN


def test_the_database_down_at_pedido_is_said_and_nothing_is_queued(
    system: System, postgres: PostgresServer
) -> None:
    chat = system.private_chat()
    postgres.stop_server()
    try:
        chat.send("/pedido 3 croquetas")
        refusal = chat.wait_for(lambda m: "No pude registrar" in (m.text or ""), timeout=30)
        assert "Inténtalo de nuevo" in (refusal.text or "")
        assert not any(is_status(m) for m in chat.bot_messages())
    finally:
        postgres.start_server()
    assert system.store.count(chat.chat_id) == 0
    chat.send("/pedido 3 croquetas")
    chat.wait_for(completed, timeout=60)
    assert system.store.count(chat.chat_id) == 1
