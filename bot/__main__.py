"""`python -m bot`: polling by default, a webhook server when WEBHOOK_URL is set."""

from __future__ import annotations

import logging

from telegram import Update

from bot.app import build_application
from core.logs import configure_logging
from core.settings import get_settings

log = logging.getLogger("bot")


def main() -> None:
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format, settings.telegram_bot_token)
    app = build_application(settings)
    if settings.webhook_mode:
        log.info("serving webhook on %s:%s", settings.webhook_listen, settings.webhook_port)
        app.run_webhook(
            listen=settings.webhook_listen,
            port=settings.webhook_port,
            webhook_url=settings.webhook_url,
            secret_token=settings.webhook_secret,
            allowed_updates=Update.ALL_TYPES,
        )
    else:
        log.info("polling %s", settings.telegram_api_url)
        app.run_polling(allowed_updates=Update.ALL_TYPES)


if __name__ == "__main__":
    main()
