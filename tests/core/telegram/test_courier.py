"""The Courier against the sandbox over HTTP and a real redis-server (no Celery here: what
would go to a task is collected, and run by hand when the test says its countdown is over)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from functools import partial
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
import redis
from PIL import Image

from core.telegram.client import BotApi, TransientError
from core.telegram.coalesced_edits import HOLDER_RECHECK
from core.telegram.coalesced_edits import _claim_key as edit_claim_key
from core.telegram.courier import Courier
from core.telegram.dead_letters import DeadLetters
from core.telegram.handover import Outgoing
from core.telegram.limited_calls import Throttled
from core.telegram.rate_limiter import Limits, RateLimiter
from core.telegram.reachability import is_unreachable
from sandbox.client import SandboxClient
from tests.support.processes import wait_until
from tests.support.sandbox import sandbox, sandbox_server  # noqa: F401


class Handed:
    """A `Later` that keeps what the Courier hands over, as the Celery tasks would get it."""

    def __init__(self) -> None:
        self.sends: list[tuple[Outgoing, float]] = []
        self.held: list[bool] = []
        self.flushes: list[tuple[int, int, float]] = []

    def send(self, message: Outgoing, countdown: float, *, held: bool = False) -> None:
        self.sends.append((message, countdown))
        self.held.append(held)

    def flush(self, chat_id: int, message_id: int, countdown: float, *, held: bool = False) -> None:
        self.flushes.append((chat_id, message_id, countdown))


class TimedApi(BotApi):
    """The real client, noting when each call went out and how it ended."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.calls: list[tuple[str, float, float, str]] = []

    def call(self, method: str, params: Any = None, files: Any = None) -> Any:
        started = time.monotonic()
        try:
            result = super().call(method, params, files)
        except Exception as exc:
            self.calls.append((method, started, time.monotonic(), type(exc).__name__))
            raise
        self.calls.append((method, started, time.monotonic(), "ok"))
        return result


@pytest.fixture
def client(redis_url: str) -> Iterator[redis.Redis]:
    connection = redis.Redis.from_url(redis_url, decode_responses=True)
    yield connection
    connection.close()


@pytest.fixture
def api(sandbox: SandboxClient) -> TimedApi:  # noqa: F811
    return TimedApi(sandbox.api_url, sandbox.token)


@pytest.fixture
def handed() -> Handed:
    return Handed()


@pytest.fixture
def courier(api: TimedApi, client: redis.Redis, handed: Handed) -> Courier:
    return Courier(api, client, RateLimiter(client), later=handed)


@pytest.fixture
def roomy_courier(api: TimedApi, client: redis.Redis, handed: Handed) -> Courier:
    """For tests of what an edit does, not of limits: a chat may take many sends at once."""
    roomy = Limits(chat_per_second=1000, chat_burst=1000)
    return Courier(api, client, RateLimiter(client, roomy), later=handed)


def calls(sandbox: SandboxClient, method: str) -> int:  # noqa: F811
    return int(sandbox.counters()["calls"].get(method, 0))


def test_a_key_is_delivered_once_even_when_racing_workers_send_it(
    sandbox: SandboxClient,  # noqa: F811
    redis_url: str,
) -> None:
    chat = sandbox.private_chat(user_id=301)
    ids: list[int | None] = []

    def worker() -> None:  # its own connections, like another process
        connection = redis.Redis.from_url(redis_url, decode_responses=True)
        mine = Courier(BotApi(sandbox.api_url, sandbox.token), connection)
        message = Outgoing(301, "✅ Pedido listo", "order:P-RACE01:completed")
        while True:
            try:
                ids.append(mine.deliver(message))
                return
            except Throttled as exc:  # another one holds the key right now
                # The thread plays a Celery worker: it runs again after the countdown given.
                time.sleep(exc.retry_after)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert [m.text for m in chat.bot_messages()] == ["✅ Pedido listo"]
    assert len(set(ids)) == 1 and ids[0] == chat.bot_messages()[0].message_id


def test_progress_edits_coalesce_and_only_the_latest_text_is_shown(
    sandbox: SandboxClient,  # noqa: F811
    courier: Courier,
    handed: Handed,
) -> None:
    chat = sandbox.private_chat(user_id=302)
    status = courier.send(302, "Pedido ▱▱▱ 0%", key="status:302")
    assert status is not None

    shown = [courier.edit(302, status, f"Pedido {n}/20") for n in range(1, 21)]

    # Slots for one or two edits at once; the rest waits as one flush of the latest text.
    assert shown == [status] * 20
    assert len(handed.flushes) == 1
    assert courier.pending_text(302, status) == "Pedido 20/20"
    # The deferred flush, retried as Celery would until the chat has a slot for it.
    assert wait_until(lambda: courier.flush(302, status, max_wait=0), 10, "the flush") == status
    message = chat.wait_for(lambda m: m.text == "Pedido 20/20")
    assert len(message.edits) <= 4, message.edits
    assert courier.pending_text(302, status) is None


def test_keyed_edits_wait_their_turn_so_each_state_is_seen(
    sandbox: SandboxClient,  # noqa: F811
    courier: Courier,
    handed: Handed,
) -> None:
    chat = sandbox.private_chat(user_id=312)
    status = courier.send(312, "Pedido recibido", key="status:312")
    assert status is not None

    for step in (1, 2, 3):
        assert courier.edit(312, status, f"Paso {step}/3", key=f"order:312:{step}") == status

    assert handed.flushes == []
    assert chat.bot_messages()[0].edits == ["Pedido recibido", "Paso 1/3", "Paso 2/3", "Paso 3/3"]


def test_an_edit_of_a_message_held_by_a_dead_process_is_shown_once_its_claim_expires(
    sandbox: SandboxClient,  # noqa: F811
    roomy_courier: Courier,
    handed: Handed,
    client: redis.Redis,
) -> None:
    chat = sandbox.private_chat(user_id=331)
    status = roomy_courier.send(331, "Pedido recibido", key="status:331")
    assert status is not None
    # Another process took the message's edit claim and was killed before letting go.
    claim = edit_claim_key(331, status)
    client.set(claim, "a-dead-holder", px=60_000)

    assert roomy_courier.edit(331, status, "Paso 1/3") == status
    # Left to the holder, with a flush to look again in seconds, not when the claim ends.
    assert [(chat_id, message) for chat_id, message, _ in handed.flushes] == [(331, status)]
    assert handed.flushes[-1][2] <= HOLDER_RECHECK + 0.1
    # The flush finds the claim still held: it looks again as soon.
    roomy_courier.flush_started(331, status)
    assert roomy_courier.flush(331, status) == status
    assert len(handed.flushes) == 2 and handed.flushes[-1][2] <= HOLDER_RECHECK + 0.1
    assert chat.bot_messages()[0].edits == ["Pedido recibido"]

    client.delete(claim)  # the dead holder's claim expired
    roomy_courier.flush_started(331, status)
    assert roomy_courier.flush(331, status) == status
    assert chat.bot_messages()[0].edits == ["Pedido recibido", "Paso 1/3"]


def test_an_edit_to_the_text_already_shown_is_skipped(
    sandbox: SandboxClient,  # noqa: F811
    roomy_courier: Courier,
) -> None:
    courier = roomy_courier
    sandbox.private_chat(user_id=303)
    status = courier.send(303, "Paso 1/3", key="status:303")
    assert status is not None
    courier.edit(303, status, "Paso 2/3")
    before = calls(sandbox, "editMessageText")

    assert courier.edit(303, status, "Paso 2/3") == status

    assert calls(sandbox, "editMessageText") == before


def test_message_not_modified_counts_as_success(
    sandbox: SandboxClient,  # noqa: F811
    courier: Courier,
    api: TimedApi,
) -> None:
    chat = sandbox.private_chat(user_id=304)
    # Sent by someone else (the bot process): the Courier does not know what it shows.
    sent = api.call("sendMessage", {"chat_id": 304, "text": "Paso 1/3"})

    assert courier.edit(304, sent["message_id"], "Paso 1/3") == sent["message_id"]

    assert [name for name, *_, outcome in api.calls if outcome != "ok"] == ["editMessageText"]
    assert courier.pending_text(304, sent["message_id"]) is None
    assert chat.bot_messages()[0].edits == ["Paso 1/3"]


def test_an_edit_of_a_deleted_message_shows_in_one_new_message(
    sandbox: SandboxClient,  # noqa: F811
    roomy_courier: Courier,
    api: TimedApi,
) -> None:
    courier = roomy_courier
    chat = sandbox.private_chat(user_id=305)
    status = courier.send(305, "Paso 1/3", key="status:305")
    assert status is not None
    api.call("deleteMessage", {"chat_id": 305, "message_id": status})

    # Keyed edits (an order's states) wait for their slots, so each one shows.
    replacement = courier.edit(305, status, "Paso 2/3", key="order:305:2")
    again = courier.edit(305, status, "Paso 3/3", key="order:305:3")  # still the old id

    assert replacement is not None and replacement != status
    assert again == replacement
    shown = chat.bot_messages()
    assert [m.message_id for m in shown] == [replacement]
    chat.wait_for(lambda m: m.text == "Paso 3/3")


def test_a_blocked_chat_is_marked_and_never_called_again(
    sandbox: SandboxClient,  # noqa: F811
    courier: Courier,
) -> None:
    sandbox.private_chat(user_id=306)
    other = sandbox.private_chat(user_id=307)
    sandbox.block_chat(306)

    assert courier.send(306, "hola", key="a:306") is None
    assert courier.send(306, "hola otra vez", key="b:306") is None
    assert courier.edit(306, 1, "progreso") is None

    assert is_unreachable(courier.redis, 306)
    assert sandbox.counters()["forbidden"] == 1
    assert courier.send(307, "hola", key="a:307") is not None
    assert [m.text for m in other.bot_messages()] == ["hola"]


def test_a_429_is_waited_out_for_exactly_its_retry_after(
    sandbox: SandboxClient,  # noqa: F811
    courier: Courier,
    api: TimedApi,
) -> None:
    chat = sandbox.private_chat(user_id=308)
    sandbox.fail("sendMessage", status=429, retry_after=1, times=1)

    assert courier.send(308, "hola", key="k:308") is not None

    (_, _, refused_at, outcome), (_, sent_at, _, ok) = api.calls
    assert (outcome, ok) == ("TooManyRequests", "ok")
    assert 1.0 <= sent_at - refused_at <= 1.2
    assert [m.text for m in chat.bot_messages()] == ["hola"]


def test_a_long_wait_or_a_failure_hands_the_message_over_and_it_still_arrives_once(
    sandbox: SandboxClient,  # noqa: F811
    courier: Courier,
    handed: Handed,
) -> None:
    chat = sandbox.private_chat(user_id=309)
    sandbox.fail("sendMessage", status=502, times=1)
    assert courier.send(309, "uno", key="k1:309") is None
    sandbox.fail("sendMessage", status=429, retry_after=3, times=1)
    assert courier.send(309, "dos", key="k2:309") is None

    [(first, backoff), (second, wait)] = handed.sends
    assert (first.text, second.text) == ("uno", "dos")
    assert backoff == 1.0 and wait == pytest.approx(3.0, abs=0.05)
    # Our backoff is kept as it is; Telegram's wait is held by the limiter, to the millisecond.
    assert handed.held == [False, True]
    # The handed-over sends, retried as Celery would until their slots come (the 429's
    # cooldown holds the chat for `wait`); then a re-delivered task, which sends nothing.
    for message in (first, second, first):
        wait_until(partial(courier.deliver, message), 10, f"{message.text!r} delivered")
    assert [m.text for m in chat.bot_messages()] == ["uno", "dos"]


def test_transient_errors_reach_the_task_when_nothing_can_take_over(
    sandbox: SandboxClient,  # noqa: F811
    api: TimedApi,
    client: redis.Redis,
) -> None:
    sandbox.private_chat(user_id=310)
    sandbox.fail("sendMessage", drop=True, times=1)
    with pytest.raises(TransientError):
        Courier(api, client).send(310, "hola", key="k:310")


def test_an_album_is_sent_once_as_one_media_group(
    sandbox: SandboxClient,  # noqa: F811
    courier: Courier,
    tmp_path: Path,
) -> None:
    chat = sandbox.private_chat(user_id=311)
    items = []
    for name, size in (("thumb", (150, 100)), ("medium", (800, 533)), ("large", (1620, 1080))):
        path = tmp_path / f"{name}.jpg"
        buffer = BytesIO()
        Image.new("RGB", size, (200, 80, 40)).save(buffer, "JPEG")
        path.write_bytes(buffer.getvalue())
        items.append((path, f"<b>{name}</b>"))

    first = courier.send_album(311, items, key="photo:J-1:album")
    assert courier.send_album(311, items, key="photo:J-1:album") == first

    messages = chat.bot_messages()
    assert len(messages) == 3 and len({m.media_group_id for m in messages}) == 1
    assert messages[0].message_id == first and messages[0].caption == "thumb"


def test_dead_letters_are_listed_newest_first_and_taken_once(client: redis.Redis) -> None:
    letters = DeadLetters(client)
    old = letters.add_send(Outgoing(1, "uno", "k1"), "sendMessage: 502 Bad Gateway", 8)
    new = letters.add_edit(2, 40, "Paso 2/3", "editMessageText: 500", 8)

    assert [letter.id for letter in letters.latest()] == [new.id, old.id]
    assert letters.count() == 2
    assert letters.take(old.id) == old
    assert letters.take(old.id) is None
    assert letters.ids() == [new.id]
