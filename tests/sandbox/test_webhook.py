"""Webhook delivery: secret header, retries on non-2xx, pending count, errors, 409 on getUpdates."""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp import web

from sandbox import RunningSandbox, run_in_thread
from sandbox.client import SandboxClient
from sandbox.server import free_port
from tests.sandbox.conftest import RawApi
from tests.support.processes import wait_until


@pytest.fixture(scope="module")
def sandbox_server() -> Iterator[RunningSandbox]:
    """A sandbox in `--local` mode, like `telegram-bot-api --local`: these tests deliver to
    plain-http receivers on random ports, which the cloud Bot API refuses (its rules are
    tested in test_fidelity.py on the default sandbox)."""
    with run_in_thread(port=0, local=True) as running:
        yield running


class Receiver:
    """A tiny aiohttp webhook endpoint on a free port, in its own thread."""

    def __init__(self) -> None:
        self.port = free_port()
        self.requests: list[dict[str, Any]] = []
        self.statuses: list[int] = []  # answers to give, in order; then 200
        self.reply: dict[str, Any] | None = None
        self.error_headers: dict[str, str] = {}  # sent with every non-200 answer
        self.held: dict[str, asyncio.Event] = {}  # message texts whose answer waits
        self.changed = threading.Condition()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        with self.changed:
            status = self.statuses.pop(0) if self.statuses else 200
            self.requests.append(
                {
                    "secret": request.headers.get("X-Telegram-Bot-Api-Secret-Token"),
                    "content_type": request.content_type,
                    "body": body,
                    "status": status,
                    "at": time.monotonic(),
                }
            )
            self.changed.notify_all()
        gate = self.held.get(body.get("message", {}).get("text", ""))
        if gate is not None:
            await gate.wait()
        if status == 200 and self.reply is not None:
            return web.json_response(self.reply)
        if status != 200:
            return web.Response(status=status, headers=self.error_headers)
        return web.Response(status=status)

    def hold(self, text: str) -> None:
        """Answer the update with this message text only after release(text)."""
        self.held[text] = asyncio.run_coroutine_threadsafe(_event(), self._loop).result(5)

    def release(self, text: str) -> float:
        """Let the held answer go; when it was released."""
        released = time.monotonic()
        self._loop.call_soon_threadsafe(self.held[text].set)
        return released

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        app = web.Application()
        app.router.add_post("/hook", self._handle)
        runner = web.AppRunner(app)
        self._loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", self.port)
        self._loop.run_until_complete(site.start())
        self._ready.set()
        self._loop.run_forever()
        self._loop.run_until_complete(runner.cleanup())

    def start(self) -> Receiver:
        self._thread.start()
        self._ready.wait(10)
        return self

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        with self.changed:
            if not self.changed.wait_for(lambda: len(self.requests) >= count, timeout):
                raise TimeoutError(f"{len(self.requests)} webhook requests, wanted {count}")
            return list(self.requests)


async def _event() -> asyncio.Event:
    return asyncio.Event()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver().start()
    yield server
    server.stop()


def test_delivery_with_secret_token(
    sandbox: SandboxClient, api: RawApi, receiver: Receiver
) -> None:
    chat = sandbox.private_chat(user_id=1001, first_name="Ana")
    set_answer = api("setWebhook", url=receiver.url, secret_token="s3cr3t_T0ken")
    assert set_answer == {"ok": True, "result": True, "description": "Webhook was set"}
    chat.send("/start")
    chat.send("hola")
    got = receiver.wait_for(2)
    assert [r["secret"] for r in got] == ["s3cr3t_T0ken", "s3cr3t_T0ken"]
    assert got[0]["content_type"] == "application/json"
    assert [r["body"]["message"]["text"] for r in got] == ["/start", "hola"]
    assert got[1]["body"]["update_id"] == got[0]["body"]["update_id"] + 1
    # The receiver sees a request before its 200 reaches the sandbox, and an update stays
    # pending until that 200 arrives (as on Telegram), so wait for the count to drop.
    wait_until(lambda: api("getWebhookInfo")["result"]["pending_update_count"] == 0, 5, "acked")
    info = api("getWebhookInfo")["result"]
    assert info["url"] == receiver.url and info["pending_update_count"] == 0
    conflict = api("getUpdates")
    assert conflict == {
        "ok": False,
        "error_code": 409,
        "description": "Conflict: can't use getUpdates method while webhook is active; use "
        "deleteWebhook to delete the webhook first",
    }


def test_delivery_without_secret_sends_no_header(
    sandbox: SandboxClient, api: RawApi, receiver: Receiver
) -> None:
    chat = sandbox.private_chat(user_id=1001, first_name="Ana")
    assert api("setWebhook", url=receiver.url)["ok"]
    chat.send("hola")
    assert receiver.wait_for(1)[0]["secret"] is None


def test_wrong_secret_rejected_by_receiver_is_retried(
    sandbox: SandboxClient, api: RawApi, receiver: Receiver
) -> None:
    """A bot that checks the secret answers 403 to a wrong one; Telegram retries until 2xx."""
    sandbox.configure(webhook_retry_delay=0.05, webhook_retry_max=0.1)
    chat = sandbox.private_chat(user_id=1001, first_name="Ana")
    receiver.statuses = [403, 502]
    assert api("setWebhook", url=receiver.url, secret_token="right")["ok"]
    chat.send("hola")
    got = receiver.wait_for(3)
    assert [r["status"] for r in got] == [403, 502, 200]
    assert len({r["body"]["update_id"] for r in got}) == 1
    # The receiver sees the third request before the sandbox has read its 200.
    wait_until(lambda: api("getWebhookInfo")["result"]["pending_update_count"] == 0, 5, "delivered")
    info = api("getWebhookInfo")["result"]
    assert info["last_error_message"] == "Wrong response from the webhook: 502 Bad Gateway"
    assert isinstance(info["last_error_date"], int)
    assert info["pending_update_count"] == 0
    assert sandbox.webhook_info()["failures"] == 2


def test_pending_count_and_error_while_endpoint_is_down(
    sandbox: SandboxClient, api: RawApi
) -> None:
    sandbox.configure(webhook_retry_delay=0.05, webhook_retry_max=0.1)
    chat = sandbox.private_chat(user_id=1001, first_name="Ana")
    dead = f"http://127.0.0.1:{free_port()}/hook"
    assert api("setWebhook", url=dead)["ok"]
    chat.send("uno")
    chat.send("dos")
    seq = 0
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        events = sandbox.wait_events(seq, timeout=deadline - time.monotonic())
        seq = events["seq"]
        if any(e["type"] == "webhook_failed" for e in events["events"]):
            break
    else:
        raise TimeoutError("no failed webhook delivery")
    info = api("getWebhookInfo")["result"]
    assert info["pending_update_count"] == 2
    assert info["last_error_message"] == "Connection refused"
    # Back to polling: the undelivered updates are still there, unless dropped.
    assert api("deleteWebhook") == {
        "ok": True,
        "result": True,
        "description": "Webhook was deleted",
    }
    assert [u["message"]["text"] for u in api("getUpdates")["result"]] == ["uno", "dos"]
    assert api("deleteWebhook", drop_pending_updates=True)["description"] == (
        "Webhook is already deleted"
    )
    assert api("getUpdates")["result"] == []


def test_set_webhook_drop_pending_updates(
    sandbox: SandboxClient, api: RawApi, receiver: Receiver
) -> None:
    chat = sandbox.private_chat(user_id=1001, first_name="Ana")
    chat.send("old")
    assert api("setWebhook", url=receiver.url, drop_pending_updates=True)["ok"]
    chat.send("new")
    got = receiver.wait_for(1)
    assert [r["body"]["message"]["text"] for r in got] == ["new"]


def test_webhook_answer_can_carry_a_method(
    sandbox: SandboxClient, api: RawApi, receiver: Receiver
) -> None:
    chat = sandbox.private_chat(user_id=1001, first_name="Ana")
    receiver.reply = {"method": "sendMessage", "chat_id": 1001, "text": "respuesta directa"}
    assert api("setWebhook", url=receiver.url)["ok"]
    chat.send("hola")
    assert chat.wait_for(lambda m: m.text == "respuesta directa").from_bot


def test_bad_webhook_urls(sandbox: SandboxClient, api: RawApi) -> None:
    assert api("setWebhook", url="ftp://example.com/x")["description"] == (
        "Bad Request: invalid webhook URL specified"
    )
    sandbox.reset()  # a new second for setWebhook's one call a second
    assert api("setWebhook", url="http://127.0.0.1:1/x", secret_token="no spaces!")[
        "description"
    ] == ("Bad Request: secret token contains unallowed characters")
    assert json.dumps(api("getWebhookInfo")["result"]["url"]) == '""'


def texts(requests_seen: list[dict[str, Any]]) -> list[str]:
    return [r["body"]["message"]["text"] for r in requests_seen]


def test_redirect_is_a_failure_not_followed(
    sandbox: SandboxClient, api: RawApi, receiver: Receiver
) -> None:
    sandbox.configure(webhook_retry_delay=0.05, webhook_retry_max=0.1)
    chat = sandbox.private_chat(user_id=1001, first_name="Ana")
    receiver.statuses = [302]
    receiver.error_headers = {"Location": receiver.url}
    assert api("setWebhook", url=receiver.url)["ok"]
    chat.send("hola")
    got = receiver.wait_for(2)
    # Each POST is one attempt: the 302 was not followed but retried as a failure.
    assert [r["status"] for r in got] == [302, 200]
    assert api("getWebhookInfo")["result"]["last_error_message"] == (
        "Wrong response from the webhook: 302 Found"
    )


def test_retries_at_once_then_doubling(
    sandbox: SandboxClient, api: RawApi, receiver: Receiver
) -> None:
    # Telegram: at once, then 2 s, 4 s… (up to 60–120 s); scaled here by 0.2.
    sandbox.configure(webhook_retry_delay=0.2, webhook_retry_max=60)
    chat = sandbox.private_chat(user_id=1001, first_name="Ana")
    receiver.statuses = [500, 500, 500]
    assert api("setWebhook", url=receiver.url)["ok"]
    chat.send("hola")
    at = [r["at"] for r in receiver.wait_for(4, timeout=20)]
    gaps = [later - earlier for earlier, later in itertools.pairwise(at)]
    assert gaps[1] >= 0.4 * 0.95 and gaps[2] >= 0.8 * 0.95
    assert gaps[0] < gaps[2]  # the first retry does not wait


def test_retry_after_header_is_honoured(
    sandbox: SandboxClient, api: RawApi, receiver: Receiver
) -> None:
    sandbox.configure(webhook_retry_delay=0.05, webhook_retry_max=0.1)
    chat = sandbox.private_chat(user_id=1001, first_name="Ana")
    receiver.statuses = [429]
    receiver.error_headers = {"Retry-After": "2"}
    assert api("setWebhook", url=receiver.url)["ok"]
    chat.send("hola")
    first, second = receiver.wait_for(2, timeout=15)
    assert second["at"] - first["at"] >= 2 * 0.95


def test_chats_are_delivered_in_parallel_and_in_order_within_a_chat(
    sandbox: SandboxClient, api: RawApi, receiver: Receiver
) -> None:
    ana = sandbox.private_chat(user_id=1001, first_name="Ana")
    luis = sandbox.private_chat(user_id=1002, first_name="Luis")
    receiver.hold("ana 1")
    assert api("setWebhook", url=receiver.url)["ok"]
    ana.send("ana 1")
    ana.send("ana 2")
    luis.send("luis 1")
    # Luis's update goes while Ana's first is still unanswered; Ana's second waits for it.
    assert texts(receiver.wait_for(2)) == ["ana 1", "luis 1"]
    released = receiver.release("ana 1")
    got = receiver.wait_for(3)
    assert texts(got) == ["ana 1", "luis 1", "ana 2"]
    assert got[2]["at"] >= released


def test_failing_webhook_drops_updates_a_day_old(sandbox: SandboxClient, api: RawApi) -> None:
    sandbox.configure(webhook_retry_delay=0.05, webhook_retry_max=0.1)
    chat = sandbox.private_chat(user_id=1001, first_name="Ana")
    assert api("setWebhook", url=f"http://127.0.0.1:{free_port()}/hook")["ok"]
    chat.send("nadie contesta")
    assert api("getWebhookInfo")["result"]["pending_update_count"] == 1
    seq = sandbox.wait_events(0, timeout=0)["seq"]
    sandbox.advance_clock(86400)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        events = sandbox.wait_events(seq, timeout=deadline - time.monotonic())
        seq = events["seq"]
        if any(e["type"] == "webhook_dropped" for e in events["events"]):
            break
    assert api("getWebhookInfo")["result"]["pending_update_count"] == 0
