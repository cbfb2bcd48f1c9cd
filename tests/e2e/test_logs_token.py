"""The bot token never reaches a log, a task argument or an error report.

Every process runs at DEBUG against a sandbox whose token looks like a real one; Telegram
fails in every way it can (5xx, dropped connections through httpx in the bot and requests in
the worker, file downloads cut off, a token rejected at start-up); then every captured log
and everything in Redis is searched for the token.
"""

from __future__ import annotations

import io
import re
import secrets
from collections.abc import Iterator

import pytest
import redis
from aiohttp import ClientError, ClientSession, web
from PIL import Image

from sandbox import RunningSandbox, run_in_thread
from tests.e2e.test_orders import completed, is_status, order_id_of
from tests.support.processes import Process, free_port, wait_until
from tests.support.system import BOT_COMMAND, System, local_argv, running_system
from tests.support.webserver import ThreadedServer

TOKEN = f"{secrets.randbelow(9 * 10**9) + 10**9}:AA{secrets.token_urlsafe(25)[:33]}"
REJECTED_TOKEN = f"{secrets.randbelow(9 * 10**9) + 10**9}:AA{secrets.token_urlsafe(25)[:33]}"
CHAIN_LINE = re.compile(r"Task (validar_pago|preparar_envio|notificar_cliente)\[[^]]+\] (\w+)")


class FlakyFiles:
    """A proxy in front of the sandbox that cuts off the next file downloads."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.url = ""
        self.download_faults: list[str] = []
        self.app = web.Application(client_max_size=100 * 1024 * 1024)
        self.app.router.add_route("*", "/{path:.*}", self.forward)

    async def forward(self, request: web.Request) -> web.StreamResponse:
        if request.path.startswith("/file/") and self.download_faults:
            if self.download_faults.pop(0) == "drop":
                return self.drop(request)
            return web.Response(status=502, text="Bad Gateway")
        headers = {k: v for k, v in request.headers.items() if k.lower() != "host"}
        try:
            async with (
                ClientSession() as session,
                session.request(
                    request.method,
                    self.upstream + request.path_qs,
                    data=await request.read(),
                    headers=headers,
                ) as answer,
            ):
                body = await answer.read()
                kept = {"Content-Type": answer.headers.get("Content-Type", "application/json")}
                return web.Response(status=answer.status, body=body, headers=kept)
        except ClientError:  # the sandbox cut the connection: so does the proxy
            return self.drop(request)

    @staticmethod
    def drop(request: web.Request) -> web.Response:
        """Close the client's connection with no answer (a connection reset)."""
        if request.transport is not None:
            request.transport.abort()
        return web.Response(status=502)


@pytest.fixture(scope="module")
def sandbox_server() -> Iterator[RunningSandbox]:
    """A sandbox whose bot has a token shaped like Telegram's."""
    with run_in_thread(port=0, token=TOKEN) as running:
        yield running


@pytest.fixture(scope="module")
def proxy(sandbox_server: RunningSandbox) -> Iterator[FlakyFiles]:
    flaky = FlakyFiles(sandbox_server.url)
    with ThreadedServer(flaky.app) as server:
        flaky.url = server.url
        yield flaky


@pytest.fixture(scope="module")
def system(
    tmp_path_factory: pytest.TempPathFactory, sandbox_server: RunningSandbox, proxy: FlakyFiles
) -> Iterator[System]:
    """Everything at DEBUG: worker (through the flaky proxy), bot, beat and Flower."""
    tmp = tmp_path_factory.mktemp("token")
    with running_system(
        tmp, sandbox_server.url, TOKEN, LOG_LEVEL="DEBUG", WATCH_INTERVAL="2s"
    ) as running:
        running.sandbox.configure(webhook_retry_delay=0.2)
        running.start_worker(TELEGRAM_API_URL=proxy.url)
        running.start_bot()
        running.start_beat()
        # (A real-looking password: example ones like "secret" are refused at start-up.)
        running.start_flower(free_port(), FLOWER_BASIC_AUTH="admin:logs-token-Qx7")
        yield running


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (640, 480), (200, 80, 40)).save(out, "JPEG")
    return out.getvalue()


def redis_contents(url: str) -> str:
    """Every key and value in Redis, as text: queues, results, orders, jobs, schedules."""
    client = redis.Redis.from_url(url, decode_responses=False)
    parts: list[object] = []
    for key in client.scan_iter(count=1000):
        kind = client.type(key)
        parts.append(key)
        if kind == b"string":
            parts.append(client.get(key))
        elif kind == b"list":
            parts.extend(client.lrange(key, 0, -1))
        elif kind == b"hash":
            parts.extend(client.hgetall(key).items())
        elif kind == b"set":
            parts.extend(client.smembers(key))
        elif kind == b"zset":
            parts.extend(client.zrange(key, 0, -1))
    return "\n".join(
        part.decode(errors="replace") if isinstance(part, bytes) else repr(part) for part in parts
    )


def test_the_token_is_in_no_log_and_no_task_under_every_kind_of_failure(
    system: System, proxy: FlakyFiles
) -> None:
    sandbox = system.sandbox
    bot = next(p for p in system.processes if p.name.startswith("bot"))
    worker = next(p for p in system.processes if p.name.startswith("worker"))

    # The bot (httpx): a reply answered 500, then polls cut off and answered 502.
    chat = system.private_chat()
    sandbox.fail("sendMessage", status=500, times=1)
    chat.send("/ayuda")
    wait_until(lambda: "handler failed" in bot.log(), 15, "the bot to log the failed reply")
    sandbox.fail("getUpdates", drop=True, times=2)
    sandbox.fail("getUpdates", status=502, times=1)
    chat.send("/ayuda")  # ends the long poll in flight, so the next ones meet the faults
    wait_until(lambda: not sandbox.faults()["rules"], 30, "the bot to meet the poll faults")

    # The worker (requests): status edits answered 502, a send cut off, and an order that
    # still completes.
    sandbox.fail("editMessageText", status=502, times=2)
    sandbox.fail("sendMessage", drop=True, times=1)
    chat.send("/pedido 2 pizzas con fallos")
    chat.wait_for(completed, timeout=40)
    order_id = order_id_of(chat.wait_for(is_status, timeout=10))

    # File downloads: getFile cut off, then the file itself cut off and answered 502.
    proxy.download_faults += ["drop", "502"]
    sandbox.fail("getFile", drop=True, times=1)
    chat.send_photo(jpeg())
    chat.wait_for(lambda m: bool(m.media_group_id), timeout=40)
    assert proxy.download_faults == []

    # A bot whose token Telegram rejects: PTB puts the token in the exception's text.
    env = {**system.env, "TELEGRAM_BOT_TOKEN": REJECTED_TOKEN}
    rejected = Process("bot-rejected", local_argv(BOT_COMMAND), env, system.logs).start()
    system.processes.append(rejected)
    wait_until(lambda: not rejected.running, 30, "the rejected bot to exit")
    assert rejected.popen is not None and rejected.popen.returncode != 0

    # Then: the failures were logged, masked, and no log holds either token or its secret part
    logs = system.all_logs()
    for expected in ("NetworkError", "TransientError", "retry", "uncaught InvalidToken"):
        assert expected in logs, expected
    assert "<token>" in logs  # urllib3 logged Bot API URLs, masked
    assert_no_token(logs, TOKEN)
    assert_no_token(logs, REJECTED_TOKEN)
    assert_no_token(redis_contents(system.redis.url), TOKEN)

    # And every line Celery logs about a step of the order names the order
    chain_lines = [line for line in worker.log().splitlines() if CHAIN_LINE.search(line)]
    assert len(chain_lines) >= 6
    for line in chain_lines:
        if CHAIN_LINE.search(line).group(2) in ("received", "succeeded"):  # type: ignore[union-attr]
            assert f"order={order_id}" in line, line


def assert_no_token(text: str, token: str) -> None:
    secret = token.split(":", 1)[1]
    for needle in (token, secret, secret[:16], secret[-16:]):
        at = text.find(needle)
        assert at < 0, f"token found in: {text[max(0, at - 300) : at + 100]!r}"
