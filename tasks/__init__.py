"""The Celery app: `celery -A tasks worker` and `celery -A tasks beat` load it.

Importing it (or any task module) reads no setting: Celery builds its configuration from the
process's settings when it first needs it (celeryconfig.OnFirstRead). The bot imports tasks
at the top of its modules and has read its settings long before its first publish; worker,
beat and Flower read theirs, and refuse unsafe ones or example passwords, as they start.
"""

from __future__ import annotations

from celery import Celery
from celery.signals import after_task_publish, setup_logging, task_postrun, task_prerun

import celeryconfig
from core import logs
from core.logs import configure_logging
from core.settings import get_settings

app = Celery(
    "pedidos",
    include=[
        "tasks.orders",
        "tasks.photos",
        "tasks.watcher",
        "tasks.delivery",
        "tasks.conversations",
        "tasks.retention",
        "tasks.importer",
        "tasks.reports",
        "tasks.exports",
        "tasks.backup",
        "tasks.payments",
        "tasks.relay",
        "tasks.shopfloor",
        "tasks.receipts",
    ],
)
app.config_from_object(celeryconfig.OnFirstRead())

__all__ = ["app"]


@setup_logging.connect
def _configure_logging(**_: object) -> None:
    """Workers and beat log in the same format as the bot, with the token masked."""
    settings = get_settings()
    configure_logging(
        settings.log_level, settings.log_format, settings.telegram_bot_token.get_secret_value()
    )


@after_task_publish.connect(weak=False)
def _replicated(**_: object) -> None:
    """With Sentinel, a published task is on a replica before the publisher carries on.

    A step publishes the next one and then acks its own message: were the master to die with
    the publish not yet copied, the promoted replica would hold neither, and the order would
    wait for the step's message to come back after VISIBILITY_TIMEOUT. No-op without Sentinel.
    """
    from tasks import clients

    clients.fence()()


# Every line a task logs names its order or photo job (`order=P-…`, `job=F-…`).
task_prerun.connect(logs.task_started, weak=False)
task_postrun.connect(logs.task_finished, weak=False)


# Each worker node and beat serve their metrics (Prometheus). The sweeper runs in every
# worker, and with Sentinel each consumer follows the master (bootsteps): registered before
# any worker is built. A broker channel outliving its connection fails as a lost connection
# (tasks.broker_channel). Workers and beat refuse a database they cannot use (tasks.startup).
import tasks.broker_channel  # noqa: E402
import tasks.master_watch  # noqa: E402
import tasks.metrics  # noqa: E402
import tasks.recovery  # noqa: E402
import tasks.startup  # noqa: E402, F401
