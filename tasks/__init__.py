"""The Celery app: `celery -A tasks worker` and `celery -A tasks beat` load it."""

from __future__ import annotations

from celery import Celery
from celery.signals import setup_logging

from core.logs import configure_logging
from core.settings import get_settings

app = Celery("pedidos")
app.config_from_object("celeryconfig")
app.conf.include = ["tasks.orders", "tasks.images", "tasks.watcher", "tasks.delivery"]

__all__ = ["app"]


@setup_logging.connect
def _configure_logging(**_: object) -> None:
    """Workers and beat log in the same format as the bot, with the token masked."""
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format, settings.telegram_bot_token)
