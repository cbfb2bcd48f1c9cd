"""Delivery end to end: four real worker processes share the flood limits of the sandbox
(switched on), through one redis-server; the bot answers /entregas from the dead letters."""

from __future__ import annotations

import itertools
import random
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from celery import Celery

from core.telegram.client import BotApi
from core.telegram.courier import Courier
from core.telegram.dead_letters import DeadLetters
from core.telegram.handover import Outgoing
from core.telegram.rate_limiter import RateLimiter
from sandbox import RunningSandbox
from sandbox.client import Chat, SandboxClient
from tests.support.processes import wait_until
from tests.support.system import System, running_system

ADMIN_ID = 4_242_000
WORKERS = 4


@pytest.fixture(scope="module")
def system(
    tmp_path_factory: pytest.TempPathFactory, sandbox_server: RunningSandbox
) -> Iterator[System]:
    """Redis, four workers and the bot; Telegram's flood limits on in the sandbox."""
    tmp = tmp_path_factory.mktemp("delivery")
    with running_system(
        tmp,
        sandbox_server.url,
        sandbox_server.token,
        ADMIN_CHAT_IDS=str(ADMIN_ID),
        # Quick backoff, so a message that keeps failing reaches the dead letters in seconds.
        RETRY_BACKOFF_MAX="300ms",
    ) as running:
        running.sandbox.set_limits(enabled=True)
        starting = [threading.Thread(target=running.start_worker) for _ in range(WORKERS)]
        starting.append(threading.Thread(target=running.start_bot))
        for thread in starting:
            thread.start()
        for thread in starting:
            thread.join()
        assert sum(p.running for p in running.processes) == WORKERS + 1, running.all_logs()
        yield running


@pytest.fixture(scope="module")
def queue(system: System) -> Iterator[Celery]:
    """A Celery client of the system's broker, to hand messages to the workers by task name."""
    client = Celery("delivery-tests", broker=system.redis.url)
    yield client
    client.close()


@pytest.fixture
def sandbox(system: System) -> SandboxClient:
    system.sandbox.clear_faults()
    system.sandbox.reset_counters()
    return system.sandbox


class TaskLater:
    """The Courier's `Later` in this test process: the workers' tasks, by name."""

    def __init__(self, queue: Celery) -> None:
        self.queue = queue

    def send(self, message: Outgoing, countdown: float, *, held: bool = False) -> None:
        self.queue.send_task(
            "entregar_mensaje", args=[message.to_dict()], queue="telegram", countdown=countdown
        )

    def flush(self, chat_id: int, message_id: int, countdown: float, *, held: bool = False) -> None:
        self.queue.send_task(
            "actualizar_mensaje", args=[chat_id, message_id], queue="telegram", countdown=countdown
        )


class TimedApi(BotApi):
    """The real client, noting the wall-clock time each call came back and how."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.answers: list[tuple[str, float]] = []

    def call(self, method: str, params: Any = None, files: Any = None) -> Any:
        try:
            result = super().call(method, params, files)
        except Exception as exc:
            self.answers.append((type(exc).__name__, time.time()))
            raise
        self.answers.append(("ok", time.time()))
        return result


@pytest.fixture
def courier(system: System, queue: Celery) -> Iterator[Courier]:
    """A Courier as a worker's task has it, in this process (its deferrals go to workers)."""
    client = redis.Redis.from_url(system.redis.url, decode_responses=True)
    api = TimedApi(system.env["TELEGRAM_API_URL"], system.env["TELEGRAM_BOT_TOKEN"])
    yield Courier(api, client, RateLimiter(client), later=TaskLater(queue))
    client.close()


def deliver(queue: Celery, chat_id: int, text: str, key: str) -> str:
    """Hand a message to the workers, as a task that had to wait would; the task id."""
    message = Outgoing(chat_id, text, key)
    return str(queue.send_task("entregar_mensaje", args=[message.to_dict()], queue="telegram").id)


def finished(system: System, task_ids: list[str]) -> bool:
    logs = system.all_logs()
    return all(f"entregar_mensaje[{task_id}] succeeded" in logs for task_id in task_ids)


def message_events(sandbox: SandboxClient, since: int, chat_id: int) -> list[dict[str, Any]]:
    """The sandbox's "a message appeared" events of one chat, each with its wall-clock time."""
    found = sandbox.wait_events(since, chat_id=chat_id, timeout=0)["events"]
    return [event for event in found if event["type"] == "message"]


def current_seq(sandbox: SandboxClient) -> int:
    return int(sandbox.wait_events(2**62, timeout=0)["seq"])


def test_600_messages_from_four_workers_arrive_once_without_a_single_429(
    system: System, queue: Celery, sandbox: SandboxClient
) -> None:
    privates = [system.private_chat().id for _ in range(100)]
    groups = [-random.randrange(10**9, 2 * 10**9) for _ in range(2)]
    for group_id in groups:
        sandbox.group_chat(group_id, title="Cocina")
    chats = privates + groups
    expected: dict[int, list[str]] = {chat: [] for chat in chats}
    for n, chat in zip(range(600), itertools.cycle(chats), strict=False):
        text = f"Mensaje {n} para {chat}"
        expected[chat].append(text)
        deliver(queue, chat, text, key=f"bulk:{n}")

    wait_until(
        lambda: sandbox.counters()["calls"].get("sendMessage", 0) >= 600,
        timeout=60,
        what="600 sendMessage calls",
    )

    counters = sandbox.counters()
    assert counters["too_many_requests"] == 0
    assert counters["calls"]["sendMessage"] == 600
    for chat_id, texts in expected.items():
        shown = [m.text or "" for m in Chat(sandbox, chat_id, {}).bot_messages()]
        assert sorted(shown) == sorted(texts), chat_id


def test_a_429_is_honoured_for_its_retry_after_by_the_worker_that_takes_over(
    system: System, sandbox: SandboxClient, courier: Courier
) -> None:
    chat = system.private_chat()
    since = current_seq(sandbox)
    sandbox.fail("sendMessage", status=429, retry_after=2, times=1)

    assert courier.send(chat.id, "✅ Pedido listo", key=f"done:{chat.id}") is None

    chat.wait_for(lambda m: m.text == "✅ Pedido listo", timeout=10)
    [(outcome, refused_at)] = courier.api.answers  # type: ignore[attr-defined]
    [arrived] = message_events(sandbox, since, chat.id)
    assert outcome == "TooManyRequests"
    assert 2.0 <= arrived["time"] - refused_at <= 2.4
    assert [m.text for m in chat.bot_messages()] == ["✅ Pedido listo"]


def ratios_of_429_waits(
    system: System, queue: Celery, rounds: tuple[tuple[int, int], ...]
) -> list[float]:
    """Each gap between a chat's messages ÷ Telegram's `retry_after`, under the sandbox's
    real flood limits set to one message per `retry_after` seconds per chat.

    Per round (retry_after, count): `count` messages to one new chat at once, through the
    workers. The first goes; every other one meets a real 429 from the sandbox, waits, and
    goes when its wait ends (the one after it meets the next 429). A gap is at least the wait
    (its 429 came after the message before it arrived), so gap ÷ retry_after bounds each
    wait's ratio from above; the sandbox refuses anything under 1.0. One chat at a time: two
    chats answered 429 within a second hold the whole bot (core.telegram.rate_limiter).
    """
    sandbox = system.sandbox
    ratios: list[float] = []
    try:
        for retry_after, count in rounds:
            sandbox.set_limits(enabled=True, chat_per_second=1 / retry_after, chat_burst=1)
            chat = system.private_chat()
            since = current_seq(sandbox)
            for n in range(count):
                deliver(queue, chat.id, f"aviso {n}", key=f"429:{chat.id}:{n}")
            chat.wait_for_count(
                lambda m: (m.text or "").startswith("aviso"),
                count,
                timeout=count * retry_after * 2 + 10,
            )
            times = sorted(event["time"] for event in message_events(sandbox, since, chat.id))
            ratios += [
                (later - sooner) / retry_after for sooner, later in itertools.pairwise(times)
            ]
    finally:
        sandbox.set_limits(enabled=True, chat_per_second=1.0, chat_burst=3)
    return ratios


def test_every_429_under_the_sandbox_limits_is_waited_between_1_and_1_2_times_retry_after(
    system: System, queue: Celery, sandbox: SandboxClient
) -> None:
    ratios = ratios_of_429_waits(system, queue, ((2, 4), (3, 3)))

    assert sandbox.counters()["too_many_requests"] >= len(ratios) == 5
    assert all(1.0 <= ratio <= 1.2 for ratio in ratios), ratios


def test_a_blocked_chat_stops_receiving_and_the_others_go_on(
    system: System, queue: Celery, sandbox: SandboxClient
) -> None:
    blocked, other = system.private_chat(), system.private_chat()
    sandbox.block_chat(blocked.id)
    to_blocked = []
    for n in range(4):
        to_blocked.append(deliver(queue, blocked.id, f"aviso {n}", key=f"b:{blocked.id}:{n}"))
        deliver(queue, other.id, f"aviso {n}", key=f"o:{other.id}:{n}")

    other.wait_for_count(lambda m: (m.text or "").startswith("aviso"), 4, timeout=15)
    wait_until(lambda: finished(system, to_blocked), timeout=10, what="sends to blocked chat")
    refused = sandbox.counters()["forbidden"]
    # Only what its burst let through at once reached Telegram: after the first 403 the
    # chat is marked unreachable and nothing more is sent there.
    assert 1 <= refused <= 2
    late = deliver(queue, blocked.id, "otro aviso", key=f"b:{blocked.id}:late")
    deliver(queue, other.id, "otro aviso", key=f"o:{other.id}:late")
    other.wait_for(lambda m: m.text == "otro aviso", timeout=10)
    wait_until(lambda: finished(system, [late]), timeout=10, what="the late send")
    assert sandbox.counters()["forbidden"] == refused
    assert blocked.bot_messages() == []


def test_a_burst_of_50_progress_updates_ends_on_the_latest_text_in_a_few_edits(
    system: System, sandbox: SandboxClient, courier: Courier
) -> None:
    chat = system.private_chat()
    status = courier.send(chat.id, "Procesando ▱▱▱▱▱▱▱▱▱▱ 0%", key=f"status:{chat.id}")
    assert status is not None

    for n in range(1, 51):
        courier.edit(chat.id, status, f"Procesando {n}/50")

    message = chat.wait_for(lambda m: m.text == "Procesando 50/50", timeout=10)
    wait_until(lambda: courier.pending_text(chat.id, status) is None, timeout=5)
    assert len(message.edits) - 1 <= 5, message.edits
    assert sandbox.counters()["too_many_requests"] == 0


def test_a_message_telegram_keeps_refusing_is_dead_lettered_shown_to_admins_and_replayed(
    system: System, queue: Celery, sandbox: SandboxClient
) -> None:
    customer = system.private_chat()
    admin = system.sandbox.private_chat(user_id=ADMIN_ID, first_name="Admin")
    stranger = system.private_chat()
    letters = DeadLetters(redis.Redis.from_url(system.redis.url, decode_responses=True))
    sandbox.fail("sendMessage", status=502, times=None)

    deliver(queue, customer.id, "✅ Tu pedido está listo", key=f"done:{customer.id}")

    wait_until(lambda: letters.count() == 1, timeout=20, what="the dead letter")
    sandbox.clear_faults()
    [letter] = letters.latest()
    assert letter.chat_id == customer.id and letter.attempts == 8

    stranger.send("/entregas")
    refusal = stranger.wait_for(lambda m: "administradores" in (m.text or ""))
    assert letter.id not in (refusal.text or "")

    admin.send("/entregas")
    listing = admin.wait_for(lambda m: letter.id in (m.text or ""))
    assert "Tu pedido está listo" in (listing.text or "") and "502" in (listing.text or "")

    admin.send("/entregas reenviar todas")
    admin.wait_for(lambda m: "Reenviadas 1" in (m.text or ""))
    customer.wait_for(lambda m: m.text == "✅ Tu pedido está listo", timeout=10)
    admin.send("/entregas")
    admin.wait_for(lambda m: "No hay entregas fallidas" in (m.text or ""))
    assert [m.text for m in customer.bot_messages()] == ["✅ Tu pedido está listo"]
