"""A photo job as a database row and back (core.photos.jobs and the upgrade from Redis,
core.photos.from_redis)."""

from __future__ import annotations

from core.db.photos import PhotoJobRow
from core.photos.model import PhotoJob, PhotoState


def to_job(row: PhotoJobRow) -> PhotoJob:
    return PhotoJob(
        id=row.id,
        chat_id=row.chat_id,
        user_id=row.user_id,
        file_id=row.file_id,
        state=PhotoState(row.state),
        progress=row.progress,
        created_at=row.created_at,
        updated_at=row.updated_at,
        finished_at=row.finished_at,
        status_message_id=row.status_message_id,
        task_id=row.task_id,
        error=row.error,
        language=row.language,
        queued_epoch=row.queued_epoch,
        renditions=tuple(name for name in row.renditions.split(",") if name),
    )


def to_row(job: PhotoJob, source: str | None) -> PhotoJobRow:
    return PhotoJobRow(
        id=job.id,
        chat_id=job.chat_id,
        user_id=job.user_id,
        file_id=job.file_id,
        state=job.state.value,
        progress=job.progress,
        created_at=job.created_at,
        updated_at=job.updated_at,
        finished_at=job.finished_at,
        status_message_id=job.status_message_id,
        task_id=job.task_id,
        queued_epoch=job.queued_epoch,
        error=job.error,
        language=job.language,
        renditions=",".join(job.renditions),
        source=source,
    )
