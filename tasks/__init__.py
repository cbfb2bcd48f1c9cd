"""The Celery app: `celery -A tasks worker` and `celery -A tasks beat` load it."""

from __future__ import annotations

from celery import Celery
from celery.signals import setup_logging, task_postrun, task_prerun

from core import logs
from core.logs import configure_logging
from core.settings import get_settings

app = Celery("pedidos")
app.config_from_object("celeryconfig")
app.conf.include = [
    "tasks.orders",
    "tasks.images",
    "tasks.watcher",
    "tasks.delivery",
    "tasks.conversations",
    "tasks.retention",
    "tasks.importer",
    "tasks.reports",
]

__all__ = ["app"]


@setup_logging.connect
def _configure_logging(**_: object) -> None:
    """Workers and beat log in the same format as the bot, with the token masked."""
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format, settings.telegram_bot_token)


# Every line a task logs names its order or photo job (`order=P-…`, `job=F-…`).
task_prerun.connect(logs.task_started, weak=False)
task_postrun.connect(logs.task_finished, weak=False)


# The sweeper runs in every worker (a bootstep): registered before any worker is built.
import tasks.recovery  # noqa: E402, F401
