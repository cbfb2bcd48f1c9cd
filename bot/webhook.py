"""The bot's HTTP server (aiohttp): Telegram's webhook, GET /healthz and GET /metrics.

Not PTB's `run_webhook`: its tornado server has no room for a health route, and it compares
the secret token with `!=`. This is PTB's "custom webhook bot" pattern instead: the
Application runs without its Updater and this server hands it each update.

An update is processed before the answer, so a replica that dies mid-update never said 200
and Telegram delivers the update again, to whichever replica; handlers are idempotent (the
order store dedupes on chat and message id), and no replica keeps state another would need.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import random
import re
from datetime import timedelta
from urllib.parse import urlsplit

from aiohttp import web
from telegram import Update
from telegram.error import RetryAfter
from telegram.ext import Application

from bot import health
from bot.metrics import metrics_page
from core import metrics
from core.settings import Settings

log = logging.getLogger(__name__)

# https://core.telegram.org/bots/api#setwebhook: Telegram sends the secret in this header.
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
SECRET_SHAPE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
# Telegram takes one setWebhook a second per bot and answers the next with 429 (retry after
# 1): replicas starting together wait their turn instead of dying at start-up.
SET_WEBHOOK_ATTEMPTS = 10
APPLICATION: web.AppKey[Application] = web.AppKey("application", Application)
SECRET: web.AppKey[str] = web.AppKey("secret", str)


class WebhookConfigError(ValueError):
    """WEBHOOK_URL is set but the webhook cannot be served safely."""


def check_settings(settings: Settings) -> None:
    """Refuse webhook mode without a usable secret: anyone could post fake updates."""
    url = urlsplit(settings.webhook_url)
    if url.scheme not in ("http", "https") or not url.hostname:
        raise WebhookConfigError(f"WEBHOOK_URL must be an http(s) URL, not {url.geturl()!r}")
    secret = settings.webhook_secret.get_secret_value()
    if not secret:
        raise WebhookConfigError("WEBHOOK_URL is set, so WEBHOOK_SECRET is required")
    if not SECRET_SHAPE.match(secret):
        raise WebhookConfigError("WEBHOOK_SECRET must be 1-256 characters of A-Z a-z 0-9 _ -")


def webhook_path(settings: Settings) -> str:
    """The path Telegram posts to: the path of WEBHOOK_URL (`/` when it has none)."""
    return urlsplit(settings.webhook_url).path or "/"


def secret_matches(given: str | None, expected: str) -> bool:
    """Constant-time comparison, so response timing tells nothing about the secret."""
    return hmac.compare_digest((given or "").encode(), expected.encode())


async def receive_update(request: web.Request) -> web.Response:
    """POST from Telegram: check the secret, then process the update before answering."""
    given = request.headers.get(SECRET_HEADER)
    if not secret_matches(given, request.app[SECRET]):
        log.warning(
            "webhook request refused: %s secret token (from %s)",
            "no" if given is None else "wrong",
            request.remote,
        )
        return web.Response(status=403, text="Forbidden")
    application = request.app[APPLICATION]
    try:
        update = Update.de_json(await request.json(), application.bot)
    except (ValueError, TypeError, KeyError, AttributeError):
        log.warning("webhook request refused: body is not an update (from %s)", request.remote)
        return web.Response(status=400, text="Bad Request")
    log.debug("update=%s received over the webhook", update.update_id)
    # Through the update processor, as in polling: one slot per chat at most (bot.fairness).
    await application.update_processor.process_update(update, application.process_update(update))
    return web.Response(status=200)


async def healthz(request: web.Request) -> web.Response:
    """GET /healthz: 200 when the bot runs and reaches Redis, 503 otherwise."""
    healthy, details = await health.status(request.app[APPLICATION])
    return web.json_response(details, status=200 if healthy else 503)


def web_app(application: Application, settings: Settings) -> web.Application:
    """/healthz always, /metrics unless METRICS_ENABLED is off; the webhook in webhook mode."""
    app = web.Application()
    app[APPLICATION] = application
    app[SECRET] = settings.webhook_secret.get_secret_value()
    app.router.add_get("/healthz", healthz)
    if metrics.enabled():
        app.router.add_get("/metrics", metrics_page)
    if settings.webhook_mode:
        app.router.add_post(webhook_path(settings), receive_update)
    return app


class BotServer:
    """Serves `web_app` on WEBHOOK_LISTEN:WEBHOOK_PORT (or METRICS_LISTEN:HEALTH_PORT)."""

    def __init__(self, application: Application, settings: Settings) -> None:
        self.settings = settings
        self.runner = web.AppRunner(web_app(application, settings), access_log=None)

    @property
    def address(self) -> tuple[str, int]:
        if self.settings.webhook_mode:
            return self.settings.webhook_listen, self.settings.webhook_port
        return self.settings.metrics_listen, self.settings.health_port

    async def start(self) -> None:
        await self.runner.setup()
        host, port = self.address
        await web.TCPSite(self.runner, host, port).start()
        log.info("serving http on %s:%s", host, port)

    async def stop(self) -> None:
        await self.runner.cleanup()


async def set_webhook(application: Application, settings: Settings) -> None:
    """Point Telegram at WEBHOOK_URL; every replica sets the same URL, so this is idempotent.

    A 429 (another replica set it within the second) is waited out, with a little jitter so
    replicas that collided do not collide again; the later ones hear "already set".
    """
    for attempt in range(1, SET_WEBHOOK_ATTEMPTS + 1):
        try:
            await application.bot.set_webhook(
                url=settings.webhook_url,
                secret_token=settings.webhook_secret.get_secret_value(),
                allowed_updates=Update.ALL_TYPES,
                max_connections=settings.webhook_max_connections,
                drop_pending_updates=False,
            )
            break
        except RetryAfter as exc:
            if attempt == SET_WEBHOOK_ATTEMPTS:
                raise
            wait = _seconds(exc.retry_after) + random.uniform(0, 0.5)
            log.info("setWebhook flood-limited (attempt %d): retrying in %.1fs", attempt, wait)
            await asyncio.sleep(wait)
    log.info("webhook set url=%s", settings.webhook_url)


def _seconds(value: int | float | timedelta) -> float:
    """`RetryAfter.retry_after` is seconds or a timedelta depending on PTB's settings."""
    return value.total_seconds() if isinstance(value, timedelta) else float(value)
