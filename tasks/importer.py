"""`importar_datos` (queue `imports`): one CSV import job; core.importer does the work."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from celery import Task, uuid
from celery.utils.log import get_task_logger

from core.importer.jobs import ImportJobs
from core.importer.run import ImportBusy, Importer
from core.settings import LONGEST_TASK
from tasks import app, clients, delivery
from tasks import context as ctx
from tasks.orders import STEP_TASKS, order_chain
from tasks.telegram import TELEGRAM_RETRY, TelegramTask

log = get_task_logger(__name__)

# A 50,000-row file takes a minute or two (bench.importer): the longest limit any task has.
IMPORT_TIME_LIMIT = LONGEST_TASK


def fetch(file_id: str, dest: Path, max_bytes: int) -> None:
    """getFile, then stream the file to `dest` (FileTooBig past `max_bytes`)."""
    api = clients.bot_api()
    info = api.call("getFile", {"file_id": file_id})
    with dest.open("wb") as fh:
        api.download(str(info["file_path"]), fh, max_bytes)


def enqueue_chains(order_ids: list[str]) -> None:
    """Start the chain of each new order: ids stored first (one transaction), then every
    chain published through one broker connection."""
    plans = [(order_id, [uuid() for _ in STEP_TASKS]) for order_id in order_ids]
    ctx.store().set_task_ids(plans, clients.epoch())
    with app.producer_or_acquire() as producer:
        for order_id, ids in plans:
            order_chain(order_id, ids).apply_async(producer=producer)


@cache
def jobs() -> ImportJobs:
    return ImportJobs(clients.redis_client())


@cache
def importer() -> Importer:
    config = clients.settings()
    return Importer(
        jobs=jobs(),
        store=ctx.store(),
        courier=delivery.courier(),
        fetch=fetch,
        enqueue=enqueue_chains,
        max_rows=config.import_max_rows,
        max_bytes=config.import_max_bytes,
    )


@app.task(
    bind=True,
    base=TelegramTask,
    name="importar_datos",
    soft_time_limit=IMPORT_TIME_LIMIT - 30,
    time_limit=IMPORT_TIME_LIMIT,
    **TELEGRAM_RETRY,
)
def importar_datos(self: Task, job_id: str) -> dict[str, Any]:
    """Import one CSV job: orders created once per row, progress shown, rejects sent back."""
    try:
        job = importer().run(job_id)
    except ImportBusy as exc:
        # The same job runs elsewhere (a redelivered message): look again when its lease
        # would have expired; the other run most likely finishes it first.
        raise self.retry(countdown=exc.retry_after, max_retries=None) from None
    if job is None:
        log.warning("import=%s not found", job_id)
        return {}
    return {
        "id": job.id,
        "state": job.state.value,
        "created": job.created,
        "rejected": job.rejected,
    }


def enqueue_import(job_id: str) -> str:
    return str(importar_datos.delay(job_id).id)
