"""Bot replicas starting together all set the webhook: Telegram takes one setWebhook a second
per bot and answers the others 429, which `bot.webhook.set_webhook` waits out. The webhook
server, open to the internet, cuts slow clients, caps its connections and its bodies."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import AsyncIterator, Iterator
from typing import cast

import pytest
from pydantic import SecretStr
from telegram import Bot
from telegram.ext import Application

from bot.webhook import MAX_BODY, SPARE_CONNECTIONS, BotServer, set_webhook
from core.settings import Settings
from sandbox import RunningSandbox, run_in_thread
from sandbox.client import SandboxClient


@pytest.fixture(scope="module")
def sandbox_server() -> Iterator[RunningSandbox]:
    """`--local` mode (like telegram-bot-api --local): the webhook URL is plain http."""
    with run_in_thread(port=0, local=True) as running:
        yield running


class Replica:
    """What `set_webhook` needs of a PTB Application: its bot."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot


async def test_replicas_setting_the_webhook_at_once_all_succeed(
    sandbox: SandboxClient, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(
        telegram_bot_token=SecretStr(sandbox.token),
        webhook_url="http://127.0.0.1:9/telegram/webhook",
        webhook_secret=SecretStr("s3cret-Token_1"),
    )
    bots = [Bot(sandbox.token, base_url=f"{sandbox.api_url}/bot") for _ in range(3)]
    for bot in bots:
        await bot.initialize()
    try:
        with caplog.at_level(logging.INFO, logger="bot.webhook"):
            await asyncio.gather(*(set_webhook(Replica(bot), settings) for bot in bots))  # type: ignore[arg-type]
    finally:
        for bot in bots:
            await bot.shutdown()
    # Three calls within a second: two were told to wait, and all three ended set.
    assert sandbox.counters()["errors"].get("429", 0) >= 2
    assert caplog.text.count("webhook set url=") == 3
    # Each waited Telegram's retry_after (1 s), stretched by at most a fifth to spread out.
    waits = [float(w) for w in re.findall(r"retrying in ([0-9.]+)s", caplog.text)]
    assert len(waits) >= 2 and all(1.0 <= wait <= 1.2 for wait in waits), waits
    info = sandbox.webhook_info()
    assert info["url"] == settings.webhook_url and info["secret_token_set"]


# --- the server's limits: slow clients, too many connections, too large a body ---------------

READ_TIMEOUT = 1.0


@pytest.fixture
async def server() -> AsyncIterator[BotServer]:
    """The webhook server alone on a free port, cutting requests slower than READ_TIMEOUT
    (its default is 10 s), at most 1 + SPARE_CONNECTIONS connections."""
    settings = Settings(
        webhook_url="http://127.0.0.1:9/telegram/webhook",
        webhook_secret=SecretStr("s3cret-Token_1"),
        webhook_listen="127.0.0.1",
        webhook_port=0,
        webhook_max_connections=1,
    )
    running = BotServer(cast(Application, object()), settings, read_timeout=READ_TIMEOUT)
    await running.start()
    try:
        yield running
    finally:
        await running.stop()


async def closed_within(reader: asyncio.StreamReader, seconds: float) -> bytes:
    """What the server sent before it closed the connection; fails if it is still open."""
    received = b""
    async with asyncio.timeout(seconds):
        while chunk := await reader.read(4096):
            received += chunk
    return received


async def test_a_client_sending_its_headers_slowly_is_cut_off(server: BotServer) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    started = time.monotonic()

    async def trickle() -> None:
        # A byte every 200 ms, for longer than the read timeout: a request never finished.
        for byte in b"POST /telegram/webhook HTTP/1.1\r\nHost: bot\r\nX-Slow: " + b"a" * 100:
            writer.write(bytes([byte]))
            await writer.drain()
            await asyncio.sleep(0.2)

    sender = asyncio.create_task(trickle())
    try:
        await closed_within(reader, READ_TIMEOUT * 5)
    finally:
        sender.cancel()
        writer.close()
    # Cut at its read timeout, though it kept sending (each byte once 200 ms had passed).
    assert READ_TIMEOUT <= time.monotonic() - started < READ_TIMEOUT * 3
    assert not sender.done() or sender.cancelled()


async def test_a_body_sent_slowly_gets_408_and_the_connection_closes(server: BotServer) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(
        b"POST /telegram/webhook HTTP/1.1\r\nHost: bot\r\nContent-Type: application/json\r\n"
        b"X-Telegram-Bot-Api-Secret-Token: s3cret-Token_1\r\nContent-Length: 100\r\n\r\n{"
    )
    await writer.drain()
    answer = await closed_within(reader, READ_TIMEOUT * 5)
    writer.close()
    assert answer.startswith(b"HTTP/1.1 408"), answer


async def test_an_idle_connection_is_closed_after_the_read_timeout(server: BotServer) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    assert await closed_within(reader, READ_TIMEOUT * 5) == b""
    writer.close()


async def test_a_body_over_the_limit_gets_413(server: BotServer) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(
        b"POST /telegram/webhook HTTP/1.1\r\nHost: bot\r\nContent-Type: application/json\r\n"
        b"X-Telegram-Bot-Api-Secret-Token: s3cret-Token_1\r\n"
        + f"Content-Length: {MAX_BODY + 1}\r\n\r\n".encode()
        + b"{" * 65536
    )
    await writer.drain()
    answer = await reader.read(4096)
    writer.close()
    assert answer.startswith(b"HTTP/1.1 413"), answer


async def test_connections_past_the_cap_are_closed_unread_and_the_others_served(
    server: BotServer,
) -> None:
    cap = 1 + SPARE_CONNECTIONS
    held = [await asyncio.open_connection("127.0.0.1", server.port) for _ in range(cap)]
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(b"GET /nothing-here HTTP/1.1\r\nHost: bot\r\n\r\n")
    # Closed unread, at once (well before the read timeout).
    assert await closed_within(reader, READ_TIMEOUT / 2) == b""
    assert server.guard.refused == 1

    # One of the held connections asks: it is served.
    first_reader, first_writer = held[0]
    first_writer.write(b"GET /nothing-here HTTP/1.1\r\nHost: bot\r\n\r\n")
    assert (await first_reader.readline()).startswith(b"HTTP/1.1 404")
    for _, held_writer in held:
        held_writer.close()
    writer.close()


def test_the_server_keeps_its_documented_limits_by_default() -> None:
    settings = Settings(webhook_max_connections=40)
    guard = BotServer(cast(Application, object()), settings).guard
    # SECURITY.md and the README promise these numbers.
    assert (guard.read_timeout, guard.max_connections, MAX_BODY) == (10.0, 50, 1024 * 1024)
