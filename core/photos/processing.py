"""What `procesar_imagen` does: download by file_id, make renditions, send them as one album.

Safe to run twice: renditions are content-addressed files, the album is sent once per job
(a delivery key), and a finished job makes the task a no-op.
"""

from __future__ import annotations

import logging
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from core import metrics, texts
from core.photos.jobs import PhotoJob, PhotoJobStore, PhotoState
from core.photos.renditions import ImageRejected, RenditionFile, make_renditions
from core.photos.slots import DecodeSlots
from core.progress import render_progress
from core.telegram.client import BadRequest, BotApi, BotApiError, FileTooBig
from core.telegram.courier import Courier

log = logging.getLogger(__name__)

# Telegram's Bot API serves files of at most 20 MB to bots.
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024
# Reasons a job ends that are ours or Telegram's, not the photo's (the others reject the input).
OUR_FAILURES = frozenset({"download_failed", "crashed", "internal"})


class PhotoRejected(Exception):
    """The photo can never be processed; `reason` picks the sentence the customer reads."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def status_text(job: PhotoJob, language: str | None = None) -> str:
    """The job's status message: id, progress bar and stage."""
    lang = language or job.language
    lines = [
        texts.text(lang, "photo.status_title", id=job.id),
        render_progress(job.progress),
        texts.text(
            lang, "photo.stage_line", stage=texts.raw(lang, f"photo.stage.{job.state.value}")
        ),
    ]
    if job.state is PhotoState.FALLIDO and job.error:
        lines.append(texts.text(lang, "photo.reason_line", reason=reject_sentence(lang, job.error)))
    return "\n".join(lines)


def reject_sentence(language: str, reason: str) -> str:
    key = f"photo.reject.{reason}"
    try:
        return texts.raw(language, key)
    except KeyError:
        return texts.raw(language, "photo.reject.internal")


@dataclass
class PhotoProcessing:
    """Everything a photo job needs, built once per worker process."""

    jobs: PhotoJobStore
    courier: Courier
    api: BotApi
    media_dir: Path
    # Decodes at once on this host (IMAGE_DECODE_SLOTS): what bounds a worker's memory.
    decodes: DecodeSlots = field(default_factory=DecodeSlots)

    def stage(self, job: PhotoJob, state: PhotoState) -> PhotoJob:
        """Record and show a stage; progress edits are best effort.

        A retried job passes its stages again: the move is conditional (forward only), so the
        bar never moves back, and a stage already shown is not edited again (those edits
        would eat the chat's message budget).
        """
        if not self.jobs.move(job.id, state):
            return self.jobs.get(job.id)
        job = self.jobs.get(job.id)
        if job.status_message_id:
            try:
                self.courier.edit(job.chat_id, job.status_message_id, status_text(job))
            except Exception as exc:  # progress must never fail the job
                log.info("job=%s progress edit skipped: %s", job.id, exc)
        return job

    def run(self, job_id: str) -> None:
        """Process the job, or do nothing if it already ended."""
        job = self.jobs.get(job_id)
        if job.is_final:
            return
        job = self.stage(job, PhotoState.DESCARGANDO)
        with tempfile.TemporaryFile(dir=self._tmp_dir()) as source:
            self._download(job, source)
            source.seek(0)
            stages = {"miniatura": PhotoState.MINIATURA, "mediana": PhotoState.MEDIANA}
            stages["grande"] = PhotoState.GRANDE

            def progress(name: str) -> None:
                if name in stages:
                    self.stage(job, stages[name])

            started = time.perf_counter()
            try:
                with self.decodes.held():
                    files = make_renditions(source, self.media_dir, progress)
            except ImageRejected as exc:
                raise PhotoRejected(str(exc.reason)) from None
            metrics.renditions_made(time.perf_counter() - started)
        job = self.stage(job, PhotoState.ENVIANDO)
        self._send_album(job, files)
        # Committed once the album went out; a run that dies before it sends the album again
        # under its key (once), then records this.
        if self.jobs.move(job.id, PhotoState.LISTO, renditions=[f.path.name for f in files]):
            metrics.photo_job("done")
        self._show_final(self.jobs.get(job.id))

    def _tmp_dir(self) -> Path:
        tmp = self.media_dir / ".incoming"
        tmp.mkdir(parents=True, exist_ok=True)
        return tmp

    def _download(self, job: PhotoJob, dest: object) -> None:
        try:
            info = self.api.call("getFile", {"file_id": job.file_id})
        except BadRequest as exc:
            if "too big" in exc.description.lower():
                raise PhotoRejected("too_big") from None
            raise PhotoRejected("unavailable") from None
        if int(info.get("file_size") or 0) > MAX_DOWNLOAD_BYTES:
            raise PhotoRejected("too_big")
        try:
            self.api.download(str(info["file_path"]), dest, MAX_DOWNLOAD_BYTES)  # type: ignore[arg-type]
        except FileTooBig:
            raise PhotoRejected("too_big") from None

    def _send_album(self, job: PhotoJob, files: list[RenditionFile]) -> None:
        lang = job.language
        captions = [
            texts.text(
                lang,
                "photo.caption",
                name=texts.raw(lang, f"photo.rendition.{f.name}"),
                width=f.width,
                height=f.height,
                kb=max(1, round(f.size_bytes / 1024)),
            )
            for f in files
        ]
        self._show_uploading(job)
        self.courier.send_album(
            job.chat_id,
            [(f.path, caption) for f, caption in zip(files, captions, strict=True)],
            key=f"photo:{job.id}:album",
        )

    def _show_uploading(self, job: PhotoJob) -> None:
        """Show "uploading photo…" while the album goes up (a hint: failures are ignored)."""
        if self.courier.already_sent(f"photo:{job.id}:album") is not None:
            return  # a retried job whose album already went out
        try:
            self.api.call("sendChatAction", {"chat_id": job.chat_id, "action": "upload_photo"})
        except BotApiError as exc:
            log.debug("job=%s chat action failed: %s", job.id, exc)

    def _show_final(self, job: PhotoJob) -> None:
        if job.status_message_id:
            self.courier.edit(job.chat_id, job.status_message_id, status_text(job), final=True)

    def fail(self, job_id: str, reason: str) -> None:
        """End the job with a reason and tell the chat once.

        Told after the failure is committed; a job failed before (its teller died, or a
        second failure came) is told again under the same keys, so the chat hears it once,
        with the first reason."""
        if self.jobs.move(job_id, PhotoState.FALLIDO, error=reason):
            metrics.photo_job("failed" if reason in OUR_FAILURES else "rejected", reason)
        job = self.jobs.get(job_id)
        if job.state is not PhotoState.FALLIDO:
            return  # done before it could fail
        reason = job.error or reason
        if job.status_message_id:
            self.courier.edit(job.chat_id, job.status_message_id, status_text(job), final=True)
        self.courier.send(
            job.chat_id,
            texts.text(
                job.language,
                "photo.failed",
                id=job.id,
                reason=texts.Html(reject_sentence(job.language, reason)),
            ),
            key=f"photo:{job.id}:failed",
        )
