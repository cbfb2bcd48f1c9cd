"""`importar_datos` (queue `imports`): one CSV import job; core.importer does the work.

What an import starts runs on its own queue, `bulk` (BULK): each imported order's
`avisar_pedido_importado` (the customer's offer, or word of a cash order) and the chain of a
cash order. A worker of their own consumes `imports` and `bulk` (`worker_bulk` in
docker-compose.yml and the Procfile: two processes under nice), so a 50,000-row import never
puts a step ahead of a customer's /pedido on `orders`, nor takes one of the orders worker's
pool slots.
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import Any

from celery import Task, uuid
from celery.exceptions import SoftTimeLimitExceeded
from celery.utils.log import get_task_logger

from core.catalogue.store import CatalogueStore
from core.importer import expiry, offers
from core.importer.jobs import ImportJobs
from core.importer.placing import CASH_FIELD, Shop
from core.importer.run import ImportBusy, Importer
from core.orders.states import OrderState
from core.recovery.leases import holder_name
from core.settings import LONGEST_TASK
from core.telegram.client import BotApiError
from core.telegram.handover import Outgoing
from tasks import app, clients, delivery
from tasks import context as ctx
from tasks.forksafe import per_process
from tasks.orders import STEP_TASKS, order_chain
from tasks.recovery import every_sweep
from tasks.telegram import TELEGRAM_RETRY, TelegramTask

log = get_task_logger(__name__)

# The longest limit any task has; a file that needs more goes on in another run.
IMPORT_TIME_LIMIT = LONGEST_TASK


def fetch(file_id: str, dest: Path, max_bytes: int) -> None:
    """getFile, then stream the file to `dest` (FileTooBig past `max_bytes`)."""
    api = clients.bot_api()
    info = api.call("getFile", {"file_id": file_id})
    with dest.open("wb") as fh:
        api.download(str(info["file_path"]), fh, max_bytes)


BULK = "bulk"


def bulk_chain(order_id: str, task_ids: list[str]) -> Any:
    """The order's chain with every step on `bulk` (a retry keeps its queue: Celery re-sends
    with the delivery info it came with)."""
    flow = order_chain(order_id, task_ids)
    for step in flow.tasks:
        step.set(queue=BULK)
    return flow


def announce(order_ids: list[str]) -> None:
    """New imported orders: the cash ones' chains started (ids stored first, in one
    transaction) and every customer's announcement queued, all on `bulk`, through one broker
    connection."""
    store, starts, holder = ctx.store(), clients.starts(), f"import:{holder_name()}"
    cash = [
        order.id
        for order in store.get_many(order_ids)
        if order.extra.get(CASH_FIELD)
        and order.state is OrderState.PENDIENTE
        and not order.task_ids
    ]
    # Taken from the pending starts first: the recovery sweep then leaves them to us.
    plans = [
        (order_id, [uuid() for _ in STEP_TASKS])
        for order_id in cash
        if starts.take("order", order_id, holder)
    ]
    if plans:
        store.set_task_ids(plans, clients.epoch())
    with app.producer_or_acquire() as producer:
        for order_id, ids in plans:
            bulk_chain(order_id, ids).apply_async(producer=producer)
        for order_id in order_ids:
            avisar_pedido_importado.apply_async((order_id,), queue=BULK, producer=producer)
    for order_id, _ in plans:
        starts.done("order", order_id)


@app.task(base=TelegramTask, name="avisar_pedido_importado", **TELEGRAM_RETRY)
def avisar_pedido_importado(order_id: str) -> str:
    """Tell an imported order's customer about it, once (core.importer.offers)."""
    return offers.announce(ctx.store(), delivery.courier(), order_id)


# How often the sweep looks for offers nobody answered (core.importer.expiry), and how many
# it calls off per look.
LAPSE_INTERVAL = 15.0
LAPSE_BATCH = 100


@every_sweep(LAPSE_INTERVAL)
def lapse_offers() -> int:
    """Call off the imported orders whose customer did not answer within OFFER_TTL; how many."""
    store, lapsed = ctx.store(), 0
    for order_id in expiry.unanswered(store, time.time() - expiry.OFFER_TTL, LAPSE_BATCH):
        if expiry.lapse(store, order_id):
            lapsed += 1
            log.info("order=%s: its import offer went unanswered, cancelled", order_id)
            avisar_oferta_caducada.apply_async((order_id,), queue=BULK)
    return lapsed


@app.task(base=TelegramTask, name="avisar_oferta_caducada", **TELEGRAM_RETRY)
def avisar_oferta_caducada(order_id: str) -> None:
    """The offer's buttons go and its customer hears it lapsed, once."""
    order = ctx.store().get(order_id)
    offer = int(order.extra.get(offers.OFFER_FIELD, "0") or 0)
    if offer:
        # Best effort: a late press is refused as stale anyway (the order moved on).
        with contextlib.suppress(BotApiError):
            clients.bot_api().call(
                "editMessageReplyMarkup",
                {
                    "chat_id": order.chat_id,
                    "message_id": offer,
                    "reply_markup": {"inline_keyboard": []},
                },
            )
    told = Outgoing(
        order.chat_id, expiry.lapsed_text(order), expiry.lapsed_key(order.id), urgent=False
    )
    delivery.courier().deliver(told)


def shop() -> Shop:
    config = clients.settings()
    return Shop.now(
        CatalogueStore(clients.database()),
        config.payment_methods,
        config.min_order,
        config.shop_currency,
    )


@per_process
def jobs() -> ImportJobs:
    return ImportJobs(clients.redis_client())


@per_process
def importer() -> Importer:
    config = clients.settings()
    return Importer(
        jobs=jobs(),
        store=ctx.store(),
        courier=delivery.courier(),
        fetch=fetch,
        announce=announce,
        shop=shop,
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
    except SoftTimeLimitExceeded:
        # A file too big for one run (one order action per row): the next run walks it again,
        # recognises the rows this job placed (announced again, sent once) and goes on.
        log.warning("import=%s ran out of time: going on in a new run", job_id)
        raise self.retry(countdown=1, max_retries=None) from None
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
