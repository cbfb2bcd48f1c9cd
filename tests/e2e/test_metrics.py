"""Metrics end to end: after orders and photos through the sandbox, the bot's /metrics and the
worker node's show what each of them did, and no label carries a customer."""

from __future__ import annotations

import re
import signal
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from sandbox import RunningSandbox
from sandbox.client import Chat, Message
from tests.support.processes import free_port, wait_until
from tests.support.system import System, running_system

ORDER_OR_JOB_ID = re.compile(r"[PF]-[0-9A-Z]{6}")
# What a label may look like: names, codes, bucket bounds, versions. No space, no id.
LABEL_SHAPE = re.compile(r"^[A-Za-z0-9_.+\-]{0,40}$")
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@dataclass
class Metered:
    system: System
    bot_url: str
    worker_url: str


@pytest.fixture(scope="module")
def metered(
    tmp_path_factory: pytest.TempPathFactory, sandbox_server: RunningSandbox
) -> Iterator[Metered]:
    """Redis, a worker node of two pool processes (replaced after each task) serving its
    metrics, and the bot serving /metrics on its health port."""
    tmp = tmp_path_factory.mktemp("metrics")
    multiproc = tmp / "worker-metrics"
    multiproc.mkdir()
    worker_port, bot_port = free_port(), free_port()
    with running_system(tmp, sandbox_server.url, sandbox_server.token) as system:
        with system.starting():
            system.start_worker(
                concurrency=2,
                # Each task in a new pool process: what exited processes counted must still count.
                options=("--max-tasks-per-child=1",),
                PROMETHEUS_MULTIPROC_DIR=str(multiproc),
                WORKER_METRICS_PORT=str(worker_port),
            )
            system.start_bot(HEALTH_PORT=str(bot_port))
        yield Metered(
            system,
            f"http://127.0.0.1:{bot_port}/metrics",
            f"http://127.0.0.1:{worker_port}/metrics",
        )


def scrape(url: str) -> Samples:
    answer = requests.get(url, timeout=5)
    answer.raise_for_status()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def calls_by_method(*pages: Samples) -> Counter[str]:
    """Bot API calls per method, every result, summed over the pages."""
    total: Counter[str] = Counter()
    for page in pages:
        for (name, labels), count in page.items():
            if name == "pedidos_bot_api_calls_total":
                total[dict(labels)["method"]] += int(count)
    return total


def value(page: Samples, name: str, **labels: str) -> float:
    return page.get((name, tuple(sorted(labels.items()))), 0.0)


def completed(message: Message) -> bool:
    return "está completado" in (message.text or "")


def photo_done(message: Message) -> bool:
    return (message.text or "").startswith("🖼️") and "Estado: listo" in (message.text or "")


def order_and_photo(chat: Chat, text: str, photos: Path) -> None:
    chat.send(f"/pedido {text}")
    chat.wait_for(completed, timeout=30)
    chat.send_photo(photos / "Landscape_1.jpg")
    chat.wait_for_count(lambda m: bool(m.media_group_id), 3, timeout=45)
    chat.wait_for(photo_done, timeout=45)


def test_each_process_counts_the_bot_api_calls_it_made_and_the_photo_job(
    metered: Metered, photos_dir: Path
) -> None:
    sandbox = metered.system.sandbox
    # Telegram answers the album 429 once: the worker waits it out and sends it again.
    sandbox.fail("sendMediaGroup", status=429, retry_after=1, times=1)
    chat = metered.system.private_chat()

    order_and_photo(chat, "2 pizzas margarita", photos_dir)

    def every_call_counted() -> bool:
        seen = {m: n for m, n in sandbox.counters()["calls"].items() if m != "getUpdates"}
        return seen == dict(calls_by_method(scrape(metered.bot_url), scrape(metered.worker_url)))

    # What Telegram (the sandbox) received is, method by method, what the two processes
    # counted (getUpdates, the bot's long poll, is outside PTB's rate limiter and not counted).
    wait_until(every_call_counted, 20, "every Bot API call counted once")
    bot, worker = scrape(metered.bot_url), scrape(metered.worker_url)
    calls = "pedidos_bot_api_calls_total"
    assert value(worker, calls, method="sendMediaGroup", result="429") == 1
    assert value(worker, calls, method="sendMediaGroup", result="ok") == 1
    assert value(worker, "pedidos_bot_api_retry_after_seconds_total", method="sendMediaGroup") == 1
    # The 429 made the job run again (download and renditions too): each run is counted.
    runs = value(worker, calls, method="getFile", result="ok")
    assert runs >= 1
    # The bot sent both status replies; the worker the completion and the edits.
    assert value(bot, calls, method="sendMessage", result="ok") >= 2
    assert value(worker, calls, method="editMessageText", result="ok") >= 3
    assert value(worker, "pedidos_photo_jobs_total", result="done", reason="") == 1
    assert value(worker, "pedidos_photo_rendition_seconds_count") == runs
    assert value(bot, "pedidos_photo_jobs_total", result="done", reason="") == 0


def test_orders_are_counted_where_the_database_changes_them(metered: Metered) -> None:
    bot_before, worker_before = scrape(metered.bot_url), scrape(metered.worker_url)
    chat = metered.system.private_chat()
    chat.send("/pedido 1 café")
    chat.wait_for(completed, timeout=30)

    def counted() -> bool:
        bot, worker = scrape(metered.bot_url), scrape(metered.worker_url)
        created = value(bot, "pedidos_orders_total", event="created") - value(
            bot_before, "pedidos_orders_total", event="created"
        )
        done = value(worker, "pedidos_orders_total", event="completed") - value(
            worker_before, "pedidos_orders_total", event="completed"
        )
        return created == 1 and done == 1

    wait_until(counted, 20, "the order counted as created (bot) and completed (worker)")
    worker = scrape(metered.worker_url)
    # Each step's state was left once: the time in it is in the histogram.
    assert value(worker, "pedidos_order_state_seconds_count", state="notificando") >= 1
    # Waiting orders are counted from the database at each scrape (none now).
    assert value(scrape(metered.bot_url), "pedidos_orders_waiting", state="pendiente") == 0


def test_no_label_carries_a_chat_id_an_order_id_or_user_text(
    metered: Metered, photos_dir: Path
) -> None:
    chat = metered.system.private_chat(first_name="Inés")
    order_and_photo(chat, "3 empanadas picantes sin cebolla", photos_dir)
    wait_until(
        lambda: value(
            scrape(metered.worker_url), "pedidos_photo_jobs_total", result="done", reason=""
        ),
        20,
        "the photo job counted",
    )

    pages = {"bot": scrape(metered.bot_url), "worker": scrape(metered.worker_url)}
    user_text = ("empanadas", "picantes", "cebolla", "Inés", "margarita")
    checked = 0
    for page, samples in pages.items():
        for name, labels in samples:
            for key, label in labels:
                where = f"{page}: {name} {key}={label!r}"
                assert not ORDER_OR_JOB_ID.search(label), where
                assert str(chat.chat_id) not in label, where
                assert not any(word.lower() in label.lower() for word in user_text), where
                assert LABEL_SHAPE.match(label), where
                checked += 1
    assert checked > 50  # the scan saw the pages' labels, not an empty page


def test_beat_serves_its_metrics_so_that_a_missing_beat_shows(metered: Metered) -> None:
    port = free_port()
    beat = metered.system.start_beat(BEAT_METRICS_PORT=str(port))

    page = wait_until(lambda: scrape(f"http://127.0.0.1:{port}/metrics"), 30, "beat's metrics")

    assert isinstance(page, dict)
    assert ("pedidos_watcher_alerts_total", ()) in page
    beat.kill(signal.SIGTERM)
    with pytest.raises(requests.ConnectionError):
        wait_until(lambda: not beat.running, 30, "beat stopped")
        scrape(f"http://127.0.0.1:{port}/metrics")
