"""`exportar_pedidos` (queue `reports`): /exportar's two CSV files; core.reports.export does
the work."""

from __future__ import annotations

from datetime import date
from typing import Any

from celery import Task
from celery.utils.log import get_task_logger

from core.reports.export import Exporter, ExportRequest, shop_zone
from core.reports.period import Period
from core.settings import LONGEST_TASK
from tasks import app, clients, delivery
from tasks.forksafe import per_process
from tasks.telegram import TELEGRAM_RETRY, TelegramTask

log = get_task_logger(__name__)

# A million order lines take about 12 s on two shared cores (bench.exports): the longest
# limit any task has leaves room for far busier shops and slower disks.
EXPORT_TIME_LIMIT = LONGEST_TASK


@per_process
def exporter() -> Exporter:
    return Exporter(db=clients.database(), courier=delivery.courier())


@app.task(
    bind=True,
    base=TelegramTask,
    name="exportar_pedidos",
    soft_time_limit=EXPORT_TIME_LIMIT - 30,
    time_limit=EXPORT_TIME_LIMIT,
    **TELEGRAM_RETRY,
)
def exportar_pedidos(
    self: Task,
    chat_id: int,
    message_id: int,
    status_message_id: int,
    first: str,
    last: str,
    language: str,
) -> dict[str, Any]:
    """The orders of [first, last] as two CSV files, to the chat that asked."""
    zone = shop_zone(clients.settings())
    period = Period(date.fromisoformat(first), date.fromisoformat(last), zone)
    # The command's message names the export: a retry, a recovered run or the same update
    # delivered twice sends what the chat has not got, never a second copy.
    request = ExportRequest(
        chat_id, status_message_id, period, language, key=f"export:{chat_id}:{message_id}"
    )
    done = exporter().run(request)
    return {"orders": done.orders, "line_rows": done.line_rows, "sent": done.sent}


def enqueue_export(
    chat_id: int, message_id: int, status_message_id: int, first: str, last: str, language: str
) -> str:
    return str(
        exportar_pedidos.delay(chat_id, message_id, status_message_id, first, last, language).id
    )
