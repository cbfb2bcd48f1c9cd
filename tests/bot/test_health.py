"""The bot's liveness pieces without a network: heartbeat freshness, where /healthz is, and the
webhook settings the bot refuses to start with."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr
from telegram import Update

from bot.fairness import FairUpdateProcessor
from bot.health import check_heartbeat, health_url
from bot.webhook import (
    WebhookConfigError,
    check_settings,
    secret_matches,
    web_app,
    webhook_path,
)
from core.settings import Settings


def test_a_fresh_heartbeat_is_alive_and_a_stale_or_missing_one_is_not(tmp_path: Path) -> None:
    beat = tmp_path / "bot.heartbeat"
    assert check_heartbeat(str(beat), 10)[0] is False
    beat.write_text("1000.0\n")
    assert check_heartbeat(str(beat), 10, now=1025.0)[0] is True
    healthy, reason = check_heartbeat(str(beat), 10, now=1031.0)
    assert not healthy and "31s old" in reason
    beat.write_text("garbage")
    assert check_heartbeat(str(beat), 10)[0] is False


def test_health_url_follows_the_mode() -> None:
    assert health_url(Settings()) is None
    assert health_url(Settings(health_port=9000)) == "http://127.0.0.1:9000/healthz"
    webhook = Settings(webhook_url="https://bot.example.com/tg", webhook_port=8443)
    assert health_url(webhook) == "http://127.0.0.1:8443/healthz"


@pytest.mark.parametrize(
    ("url", "secret", "problem"),
    [
        ("https://bot.example.com/tg", "", "WEBHOOK_SECRET is required"),
        ("https://bot.example.com/tg", "has spaces!", "A-Z a-z 0-9 _ -"),
        ("https://bot.example.com/tg", "x" * 257, "A-Z a-z 0-9 _ -"),
        ("bot.example.com/tg", "good_secret-1", "http(s) URL"),
    ],
)
def test_webhook_mode_refuses_a_missing_or_malformed_secret(
    url: str, secret: str, problem: str
) -> None:
    with pytest.raises(WebhookConfigError, match=problem.replace("(", r"\(").replace(")", r"\)")):
        check_settings(Settings(webhook_url=url, webhook_secret=SecretStr(secret)))


def test_a_good_webhook_setting_passes_and_its_path_is_served() -> None:
    settings = Settings(
        webhook_url="https://bot.example.com/tg/hook", webhook_secret=SecretStr("s3_cr-t")
    )
    check_settings(settings)
    assert webhook_path(settings) == "/tg/hook"
    assert webhook_path(Settings(webhook_url="https://bot.example.com")) == "/"


def test_the_secret_must_match_exactly() -> None:
    assert secret_matches("s3cret", "s3cret")
    for given in (None, "", "s3cre", "s3cret ", "S3CRET", "s3cretx"):
        assert not secret_matches(given, "s3cret")


class FakeRedis:
    def __init__(self, up: bool) -> None:
        self.up = up

    def ping(self) -> bool:
        if not self.up:
            raise ConnectionError("redis is down")
        return True


class FakeApplication:
    """What the HTTP server uses of PTB's Application: running, bot, bot_data, process_update
    and the update processor (the real, fair one)."""

    def __init__(self, redis_up: bool = True) -> None:
        self.running = True
        self.bot = None
        store = SimpleNamespace(ping=lambda: True)
        services = SimpleNamespace(redis=FakeRedis(redis_up), store=store)
        self.bot_data = SimpleNamespace(services=services)
        self.processed: list[Update] = []
        self.update_processor = FairUpdateProcessor(running=4)

    async def process_update(self, update: Update) -> None:
        self.processed.append(update)


WEBHOOK = Settings(webhook_url="https://bot.example.com/tg", webhook_secret=SecretStr("s3cret"))
UPDATE = {
    "update_id": 7,
    "message": {"message_id": 1, "date": 0, "chat": {"id": 1, "type": "private"}},
}


async def serve(app: FakeApplication, settings: Settings = WEBHOOK) -> TestClient:
    client: TestClient = TestClient(TestServer(web_app(app, settings)))  # type: ignore[arg-type]
    await client.start_server()
    return client


async def test_the_webhook_refuses_a_missing_or_wrong_secret_and_takes_the_right_one() -> None:
    app = FakeApplication()
    client = await serve(app)
    try:
        assert (await client.post("/tg", json=UPDATE)).status == 403
        wrong = {"X-Telegram-Bot-Api-Secret-Token": "s3cre"}
        assert (await client.post("/tg", json=UPDATE, headers=wrong)).status == 403
        assert app.processed == []
        right = {"X-Telegram-Bot-Api-Secret-Token": "s3cret"}
        assert (await client.post("/tg", data=b"not json", headers=right)).status == 400
        assert (await client.post("/tg", json=UPDATE, headers=right)).status == 200
        assert [update.update_id for update in app.processed] == [7]
    finally:
        await client.close()


async def test_healthz_is_503_when_redis_does_not_answer() -> None:
    for redis_up, status in ((True, 200), (False, 503)):
        client = await serve(FakeApplication(redis_up))
        try:
            answer = await client.get("/healthz")
            assert answer.status == status
            assert (await answer.json())["redis"] is redis_up
        finally:
            await client.close()


async def test_polling_mode_serves_healthz_but_no_webhook() -> None:
    client = await serve(FakeApplication(), Settings(health_port=9000))
    try:
        assert (await client.get("/healthz")).status == 200
        assert (await client.post("/", json=UPDATE)).status in (404, 405)
    finally:
        await client.close()
