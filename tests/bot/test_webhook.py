"""Bot replicas starting together all set the webhook: Telegram takes one setWebhook a second
per bot and answers the others 429, which `bot.webhook.set_webhook` waits out."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator

import pytest
from pydantic import SecretStr
from telegram import Bot

from bot.webhook import set_webhook
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
    info = sandbox.webhook_info()
    assert info["url"] == settings.webhook_url and info["secret_token_set"]
