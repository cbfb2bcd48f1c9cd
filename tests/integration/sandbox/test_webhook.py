"""Webhook delivery: secret header, retries on non-2xx, pending count, errors, 409 on getUpdates."""

from __future__ import annotations

import asyncio
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
from tests.integration.sandbox.conftest import RawApi
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
                }
            )
            self.changed.notify_all()
        if status == 200 and self.reply is not None:
            return web.json_response(self.reply)
        return web.Response(status=status)

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
