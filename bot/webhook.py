"""The bot's HTTP server (aiohttp): Telegram's webhook, GET /healthz and GET /metrics.

Not PTB's `run_webhook`: its tornado server has no room for a health route, and it compares
the secret token with `!=`. This is PTB's "custom webhook bot" pattern instead: the
Application runs without its Updater and this server hands it each update.

An update is processed before the answer, so a replica that dies mid-update never said 200
and Telegram delivers the update again, to whichever replica; handlers are idempotent (the
order store dedupes on chat and message id), and no replica keeps state another would need.

The server is open to the internet in webhook mode, and aiohttp bounds neither how long a
client may take to send a request nor how many connections it holds (a client sending its
headers a byte at a time kept one open for over 95 s). `ConnectionGuard` does: a request's
headers and body must arrive within READ_TIMEOUT of the connection opening (or of the
previous answer on a kept-alive one), at most `max_connections` are open at once (the ones
over it are closed unread), and a body is at most MAX_BODY.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import random
import re
from collections.abc import Callable
from typing import Any, cast
from urllib.parse import urlsplit

from aiohttp import web
from aiohttp.typedefs import Handler
from telegram import Update
from telegram.error import RetryAfter
from telegram.ext import Application

from bot import health
from bot.metrics import metrics_page
from bot.rate_limiter import retry_seconds
from core import metrics
from core.settings import Settings

log = logging.getLogger(__name__)

# https://core.telegram.org/bots/api#setwebhook: Telegram sends the secret in this header.
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
SECRET_SHAPE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
# Telegram takes one setWebhook a second per bot and answers the next with 429 (retry after
# 1): replicas starting together wait their turn instead of dying at start-up.
SET_WEBHOOK_ATTEMPTS = 10
# The most a 429's wait is stretched at random, as a fraction of its retry_after.
RETRY_AFTER_SPREAD = 0.2
APPLICATION: web.AppKey[Application] = web.AppKey("application", Application)
SECRET: web.AppKey[str] = web.AppKey("secret", str)
# A request's headers and body arrive within this, and an idle kept-alive connection is closed
# after it. Telegram sends an update in one go, well under a second.
READ_TIMEOUT = 10.0
# The largest body read: an update is a few KB (a 4096-character text with its entities
# and a quoted message stays far under this).
MAX_BODY = 1024 * 1024
# Connections beyond Telegram's own (WEBHOOK_MAX_CONNECTIONS): health checks, a balancer.
SPARE_CONNECTIONS = 10


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


class ConnectionGuard:
    """Closes connections that send too slowly, and the ones past `max_connections`."""

    def __init__(self, max_connections: int, read_timeout: float = READ_TIMEOUT) -> None:
        self.max_connections = max_connections
        self.read_timeout = read_timeout
        self.timers: dict[asyncio.Transport, asyncio.TimerHandle] = {}
        self.refused = 0

    def protocol_factory(self, make: Callable[[], asyncio.Protocol]) -> Callable[[], Any]:
        """Wraps aiohttp's protocol factory (`AppRunner.server`)."""
        return lambda: _Guarded(make(), self)

    def admit(self, transport: asyncio.Transport) -> bool:
        if len(self.timers) >= self.max_connections:
            self.refused += 1
            log.warning("http connection refused: %d already open", len(self.timers))
            return False
        self.timers[transport] = self._arm(transport)
        return True

    def _arm(self, transport: asyncio.Transport) -> asyncio.TimerHandle:
        return asyncio.get_running_loop().call_later(self.read_timeout, self._cut, transport)

    def _cut(self, transport: asyncio.Transport) -> None:
        log.warning("http connection closed: no whole request within %.0fs", self.read_timeout)
        transport.abort()

    def reading(self, transport: asyncio.Transport | None, done: bool) -> None:
        """The headers are in (`done` False: the body's wait is the handler's), or the answer
        went out (`done` True: the next request has READ_TIMEOUT again)."""
        timer = self.timers.get(transport) if transport is not None else None
        if timer is None or transport is None:
            return
        timer.cancel()
        self.timers[transport] = self._arm(transport) if done else _DISARMED

    def release(self, transport: asyncio.Transport) -> None:
        timer = self.timers.pop(transport, None)
        if timer is not None:
            timer.cancel()


class _Disarmed:
    def cancel(self) -> None:
        pass


_DISARMED: Any = _Disarmed()


class _Guarded(asyncio.Protocol):
    """aiohttp's protocol for one connection, admitted and timed by a ConnectionGuard."""

    def __init__(self, inner: asyncio.Protocol, guard: ConnectionGuard) -> None:
        self.inner, self.guard = inner, guard
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport = cast(asyncio.Transport, transport)
        if not self.guard.admit(transport):
            transport.abort()
            return
        self.transport = transport
        self.inner.connection_made(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.transport is not None:
            self.guard.release(self.transport)
            self.inner.connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        self.inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self.inner.eof_received()

    def pause_writing(self) -> None:
        self.inner.pause_writing()

    def resume_writing(self) -> None:
        self.inner.resume_writing()


def guarded(guard: ConnectionGuard) -> Any:
    """Middleware: the body within READ_TIMEOUT too, and the connection's clock reset after
    each answer."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        guard.reading(request.transport, done=False)
        try:
            if (request.content_length or 0) > MAX_BODY:
                # Refused before reading: aiohttp alone would read up to MAX_BODY first.
                return web.Response(status=413, headers={"Connection": "close"})
            if request.can_read_body:
                await asyncio.wait_for(request.read(), guard.read_timeout)
            return await handler(request)
        except TimeoutError:
            log.warning("webhook request refused: body not sent within the read timeout")
            return web.Response(status=408, headers={"Connection": "close"})
        finally:
            guard.reading(request.transport, done=True)

    return middleware


def web_app(
    application: Application, settings: Settings, guard: ConnectionGuard | None = None
) -> web.Application:
    """/healthz always, /metrics unless METRICS_ENABLED is off; the webhook in webhook mode."""
    guard = guard or ConnectionGuard(settings.webhook_max_connections + SPARE_CONNECTIONS)
    app = web.Application(client_max_size=MAX_BODY, middlewares=[guarded(guard)])
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

    def __init__(
        self, application: Application, settings: Settings, read_timeout: float = READ_TIMEOUT
    ) -> None:
        self.settings = settings
        self.guard = ConnectionGuard(
            settings.webhook_max_connections + SPARE_CONNECTIONS, read_timeout
        )
        self.runner = web.AppRunner(
            web_app(application, settings, self.guard),
            access_log=None,
            # An idle kept-alive connection goes (aiohttp's default keeps it an hour), and the
            # rest of a refused body is not waited for.
            keepalive_timeout=read_timeout,
            lingering_time=1.0,
        )
        self.server: asyncio.Server | None = None

    @property
    def address(self) -> tuple[str, int]:
        if self.settings.webhook_mode:
            return self.settings.webhook_listen, self.settings.webhook_port
        return self.settings.metrics_listen, self.settings.health_port

    async def start(self) -> None:
        await self.runner.setup()
        host, port = self.address
        assert self.runner.server is not None
        factory = self.guard.protocol_factory(self.runner.server)
        self.server = await asyncio.get_running_loop().create_server(factory, host, port)
        log.info("serving http on %s:%s", host, port)

    @property
    def port(self) -> int:
        """The port listened on (the one asked for, or the one given for port 0)."""
        assert self.server is not None
        return int(self.server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
        await self.runner.cleanup()


async def set_webhook(application: Application, settings: Settings) -> None:
    """Point Telegram at WEBHOOK_URL; every replica sets the same URL, so this is idempotent.

    A 429 (another replica set it within the second) is waited out, plus up to a fifth of
    it at random so replicas that collided do not collide again (never more: Telegram's wait
    is kept within 1.0-1.2 x `retry_after`); the later ones hear "already set".
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
            seconds = retry_seconds(exc.retry_after)
            wait = seconds + random.uniform(0, RETRY_AFTER_SPREAD * seconds)
            log.info("setWebhook flood-limited (attempt %d): retrying in %.3fs", attempt, wait)
            await asyncio.sleep(wait)
    log.info("webhook set url=%s", settings.webhook_url)
