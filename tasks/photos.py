"""`procesar_imagen`: a photo's renditions, back in the chat as one album."""

from __future__ import annotations

from celery.utils.log import get_task_logger

from core.photos.processing import PhotoRejected
from core.telegram.client import TransientError
from tasks import app
from tasks import context as ctx
from tasks.recovery import starter
from tasks.telegram import TELEGRAM_RETRY, TelegramTask

log = get_task_logger(__name__)


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
    """Start a photo job; the task id."""
    return str(procesar_imagen.apply_async((job_id,), queue="images").id)


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
    ctx.photo_jobs().update(job_id, task_id=enqueue_photo(job_id))
    log.warning("job=%s was stored and never queued by its bot: queued now", job_id)
