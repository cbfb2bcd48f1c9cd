"""Bounded over time: retention with short settings, capped dead letters, TTLs on every
per-message key, and a full Redis refusing new orders cleanly, then taking them again."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest
import redis
from celery import Celery

from core.photos.jobs import PhotoJobStore
from core.recovery import epoch
from core.recovery.starts import PendingStarts
from core.telegram.dead_letters import DeadLetters
from core.telegram.handover import Outgoing
from sandbox import RunningSandbox
from tests.support.processes import wait_until
from tests.support.system import System, running_system

ADMIN = 7_700_001
RETENTION = 4.0
DEAD_LETTERS_MAX = 3


@pytest.fixture(scope="module")
def system(
    tmp_path_factory: pytest.TempPathFactory, sandbox_server: RunningSandbox
) -> Iterator[System]:
    tmp = tmp_path_factory.mktemp("retention")
    with running_system(
        tmp,
        sandbox_server.url,
        sandbox_server.token,
        ORDER_RETENTION=f"{RETENTION}s",
        MEDIA_RETENTION=f"{RETENTION}s",
        RETENTION_INTERVAL="1s",
        DEAD_LETTERS_MAX=str(DEAD_LETTERS_MAX),
        ADMIN_CHAT_IDS=str(ADMIN),
        LOG_LEVEL="INFO",
    ) as running:
        with running.starting():
            running.start_worker()
            running.start_bot()
        yield running


@pytest.fixture(scope="module")
def client(system: System) -> Iterator[redis.Redis]:
    found = redis.Redis.from_url(system.redis.url, decode_responses=True)
    yield found
    found.close()


def test_finished_orders_jobs_and_files_go_and_unfinished_ones_stay(
    system: System, client: redis.Redis, photos_dir: Path
) -> None:
    chat = system.private_chat(first_name="Lola")
    chat.send("/pedido 1 tarta")
    chat.wait_for(lambda m: "está completado" in (m.text or ""), timeout=60)
    chat.send_photo(photos_dir / "Landscape_2.jpg")
    chat.wait_for_count(lambda m: bool(m.media), n=3, timeout=120)
    orders, jobs = system.store, PhotoJobStore(system.db)
    [order] = orders.recent(chat.id)
    [job] = jobs.of_chat(chat.id)
    wait_until(lambda: jobs.get(job.id).is_final, 30, "the photo job to finish")
    media = system.tmp / "media"
    files = [p for p in media.rglob("*.jpg")]
    assert len(files) == 3
    # The job records the renditions it made: the files retention is about to delete.
    assert sorted(jobs.get(job.id).renditions) == sorted(p.name for p in files)
    # Unfinished work: an order whose chain has not run yet, and a photo job in the same state.
    waiting, _ = orders.create(chat.id, chat.id, "pedido sin terminar", 999_001)
    waiting_job, _ = jobs.create(chat.id, chat.id, "file-id", 999_002, "es")
    # Queued as far as the recovery sweep knows (it would otherwise queue them itself).
    jobs.set_fields(waiting_job.id, task_id="t", queued_epoch=epoch.current(client))
    PendingStarts(client).done("order", waiting.id)
    PendingStarts(client).done("photo", waiting_job.id)

    system.start_beat()
    wait_until(lambda: orders.state_of(order.id) is None, 60, "the finished order to go")
    wait_until(lambda: jobs.find(job.id, chat.id) is None, 30, "the finished job to go")
    wait_until(lambda: not any(p.exists() for p in files), 30, "the renditions to go")

    assert [o.id for o in orders.recent(chat.id)] == [waiting.id]
    assert [j.id for j in jobs.of_chat(chat.id)] == [waiting_job.id]
    assert orders.get(waiting.id).state.value == "pendiente"
    assert jobs.get(waiting_job.id).state.value == "pendiente"
    chat.send("/pedidos")
    listing = chat.wait_for(lambda m: "Pedidos de este chat" in (m.text or ""), timeout=30)
    assert waiting.id in (listing.text or "") and order.id not in (listing.text or "")


def test_every_per_message_key_expires(system: System, client: redis.Redis) -> None:
    chat = system.private_chat(first_name="Tomás")
    chat.send("/pedido 1 pan")
    chat.wait_for(lambda m: "está completado" in (m.text or ""), timeout=60)
    per_message = (
        "pedidos:delivery:*",
        "pedidos:update:*",
        "pedidos:quota:*",
        "pedidos:rate:*",
        "pedidos:conv:*",
    )
    keys = [k for pattern in per_message for k in client.scan_iter(pattern)]
    assert keys
    lasting = {k for k in keys if client.ttl(k) == -1} - {
        "pedidos:delivery:dead",
        "pedidos:delivery:dead:order",
        "pedidos:delivery:dead:dropped",
    }
    assert not lasting


def test_dead_letters_keep_the_newest_and_count_the_dropped(
    system: System, client: redis.Redis
) -> None:
    chat = system.private_chat(first_name="Dora")
    system.sandbox.fail("sendMessage", status=400, description="Bad Request: nope", times=5)
    queue = Celery("test-dead-letters", broker=system.redis.url)
    try:
        for n in range(5):
            message = Outgoing(chat.id, f"aviso {n}", f"test:dead:{n}")
            queue.send_task("entregar_mensaje", args=[message.to_dict()], queue="telegram")
            # One at a time, so "oldest" is well defined.
            wait_until(partial(_letters_seen, client, n + 1), 30, f"dead letter {n}")
    finally:
        queue.close()
        system.sandbox.clear_faults()
    letters = DeadLetters(client)
    assert letters.count() == DEAD_LETTERS_MAX
    assert letters.dropped() == 2
    assert sorted(letter.text for letter in letters.latest()) == ["aviso 2", "aviso 3", "aviso 4"]

    admin = system.sandbox.private_chat(user_id=ADMIN, first_name="Admin")
    admin.send("/entregas")
    listing = admin.wait_for(lambda m: "Entregas fallidas" in (m.text or ""), timeout=30)
    assert "Se descartaron 2 entregas fallidas" in (listing.text or "")


def _letters_seen(client: redis.Redis, at_least: int) -> bool:
    letters = DeadLetters(client)
    return letters.count() + letters.dropped() >= at_least


def test_a_full_redis_refuses_an_order_cleanly_then_takes_orders_again(
    system: System, client: redis.Redis
) -> None:
    chat = system.private_chat(first_name="Memo")
    client.config_set("maxmemory", 1)
    try:
        chat.send("/pedido 3 empanadas")
        refusal = chat.wait_for(lambda m: "No pude registrar" in (m.text or ""), timeout=30)
        assert "Inténtalo de nuevo" in (refusal.text or "")
        assert system.store.count(chat.id) == 0  # taken back whole: no half order
    finally:
        client.config_set("maxmemory", 0)
    chat.send("/pedido 3 empanadas")
    chat.wait_for(lambda m: "está completado" in (m.text or ""), timeout=60)
    [order] = system.store.recent(chat.id)
    assert order.text == "3 empanadas" and order.state.value == "completado"
