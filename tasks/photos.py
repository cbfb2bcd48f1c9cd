"""`procesar_imagen`: a photo's renditions, back in the chat as one album."""

from __future__ import annotations

import time

from celery import uuid
from celery.utils.log import get_task_logger

from core.photos.processing import PhotoRejected
from core.recovery.starts import START_GRACE_MS
from core.telegram.client import TransientError
from tasks import app, clients
from tasks import context as ctx
from tasks.recovery import every_sweep, starter
from tasks.telegram import TELEGRAM_RETRY, TelegramTask

log = get_task_logger(__name__)

# How often the sweep looks for jobs Redis lost, and how many it takes at a time (as orders).
RESUME_INTERVAL = 30.0
RESUME_BATCH = 200


class ImageTask(TelegramTask):
    """Tells the chat once when a job's retries run out (e.g. Telegram never served the file)."""

    abstract = True

    def lease_unit(self, args: tuple, kwargs: dict) -> str | None:
        return f"photo:{args[0]}" if args else None

    def give_up(self, args: tuple, kwargs: dict, crashes: int) -> None:
        """The photo killed its worker process every time (e.g. out of memory): say so once."""
        log.error("job=%s failed: %s runs crashed", args[0], crashes)
        ctx.photos().fail(str(args[0]), "crashed")

    def on_failure(
        self, exc: BaseException, task_id: str, args: tuple, kwargs: dict, einfo: object
    ) -> None:
        job_id = str(args[0]) if args else ""
        if job_id:
            reason = "download_failed" if isinstance(exc, TransientError) else "internal"
            try:
                ctx.photos().fail(job_id, reason)
            except Exception:  # the failure is already logged by Celery; do not mask it
                log.exception("job=%s could not be marked failed", job_id)


@app.task(bind=True, base=ImageTask, name="procesar_imagen", **TELEGRAM_RETRY)
def procesar_imagen(self: ImageTask, job_id: str) -> None:
    """Download the photo by file_id, make three renditions, send them as one album."""
    try:
        ctx.photos().run(job_id)
    except PhotoRejected as exc:
        # Bad input never gets better with a retry: say so once and stop.
        log.info("job=%s rejected: %s", job_id, exc.reason)
        ctx.photos().fail(job_id, exc.reason)


def enqueue_photo(job_id: str) -> str:
    """Start a photo job; the task id.

    The task id and the Redis epoch it is queued in are recorded on the job before the
    publish, so a Redis that loses the message is noticed (core.recovery.epoch) and the
    sweep queues the job again (resume_lost_photos).
    """
    task_id, jobs = uuid(), ctx.photo_jobs()
    jobs.set_fields(job_id, task_id=task_id, queued_epoch=clients.epoch())
    try:
        procesar_imagen.apply_async((job_id,), queue="images", task_id=task_id)
    except Exception:
        # Not queued: the job is again one nobody queued, for the bot's next try or the
        # sweep's (its pending start stays until a publish went through).
        jobs.set_fields(job_id, task_id="", queued_epoch="")
        raise
    return task_id


@every_sweep(RESUME_INTERVAL)
def resume_lost_photos() -> int:
    """Photo jobs the database has and Redis lost: pending ones nobody queued get their
    pending start back (the sweep queues them, core.recovery.starts); unfinished ones queued
    in another Redis epoch are queued again (a job run twice is a no-op the second time). How
    many."""
    jobs, epoch = ctx.photo_jobs(), clients.epoch()
    unqueued = jobs.never_queued(time.time() - START_GRACE_MS / 1000, RESUME_BATCH)
    for job_id in unqueued:
        clients.starts().add("photo", job_id)
    resumed = 0
    for job in jobs.lost_in(epoch, RESUME_BATCH):
        task_id = uuid()
        if not jobs.requeue(job.id, job.queued_epoch, epoch, task_id):
            continue  # another sweep did
        procesar_imagen.apply_async((job.id,), queue="images", task_id=task_id)
        resumed += 1
        log.warning("job=%s: its queued task was lost with Redis; queued again", job.id)
    return len(unqueued) + resumed


@starter("photo")
def start_unqueued_photo(job_id: str) -> None:
    """A photo job its bot stored and never queued (core.recovery.starts): queued now, unless
    it was."""
    try:
        job = ctx.photo_jobs().get(job_id)
    except KeyError:
        return
    if job.task_id or job.is_final:
        return
    enqueue_photo(job_id)
    log.warning("job=%s was stored and never queued by its bot: queued now", job_id)
