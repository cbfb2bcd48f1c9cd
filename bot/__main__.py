"""`python -m bot`: polling by default, a webhook server when WEBHOOK_URL is set."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys

from telegram import Update

from bot.app import build_application
from bot.health import Heartbeat
from bot.webhook import BotServer, WebhookConfigError, check_settings, set_webhook
from core import metrics
from core.db.connect import DatabaseUnavailable, open_checked
from core.db.engine import Database
from core.logs import configure_logging
from core.settings import Settings, get_settings, refuse_example_secrets

log = logging.getLogger("bot")


async def serve(settings: Settings, db: Database) -> None:
    """Run the Application until SIGTERM or SIGINT (PTB's run_* lifecycle, by hand)."""
    app = build_application(settings, db)
    stopping = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, stopping.set)
    polling = not settings.webhook_mode
    heartbeat = Heartbeat(settings.heartbeat_file, settings.heartbeat_interval, polling)
    server = BotServer(app, settings) if settings.webhook_mode or settings.health_port else None
    async with app:  # initialize() … shutdown()
        if app.post_init:
            await app.post_init(app)
        beating: asyncio.Task[None] | None = None
        try:
            if polling and app.updater:
                log.info("polling %s", settings.telegram_api_url)
                await app.updater.start_polling(allowed_updates=Update.ALL_TYPES)
            await app.start()
            if server:
                await server.start()
            if settings.webhook_mode:
                await set_webhook(app, settings)
            beating = asyncio.create_task(heartbeat.run(app))
            await stopping.wait()
            log.info("stopping")
        finally:
            if beating:
                beating.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await beating
            heartbeat.remove()
            if server:
                await server.stop()
            if app.updater and app.updater.running:
                await app.updater.stop()
            if app.running:
                await app.stop()
                if app.post_stop:
                    await app.post_stop(app)
    if app.post_shutdown:
        await app.post_shutdown(app)


def main() -> None:
    settings = get_settings()
    configure_logging(
        settings.log_level, settings.log_format, settings.telegram_bot_token.get_secret_value()
    )
    refuse_example_secrets(settings)
    metrics.configure(settings.metrics_enabled)
    if settings.webhook_mode:
        try:
            check_settings(settings)
        except WebhookConfigError as exc:
            log.critical("cannot start: %s", exc)
            sys.exit(2)
    try:
        db = open_checked(settings.database_url)
    except DatabaseUnavailable as exc:
        log.critical("cannot start: %s", exc)
        sys.exit(2)
    asyncio.run(serve(settings, db))


if __name__ == "__main__":
    main()
