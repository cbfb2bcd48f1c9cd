"""Photo jobs: one per photo a customer sends, tracked like an order (`/estado F-…`).

A job is a row of the system of record (core.db.photos), written before the customer sees its
status message, and moved only by conditional updates (`UPDATE … WHERE id = :id AND state IN
(:from)`): two workers running the same job (a recovered copy) never move it back or twice.
Redis keeps only what may be lost: the pending start (core.recovery.starts) and the task's
lease. A Redis that lost its data loses no job: /estado still answers from here, and the
recovery sweep queues again the unfinished jobs queued in another Redis epoch (tasks.photos).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from core.db.engine import Database
from core.db.photos import PhotoJobRow
from core.orders.rows import telegram_source
from core.photos.model import (
    JOB_ID,
    STAGE_PERCENT,
    PhotoJob,
    PhotoState,
    new_job_id,
    normalize_job_id,
    sources_of,
)
from core.photos.rows import to_job, to_row
from core.recovery import starts
from core.recovery.starts import PendingStarts

# New ids drawn when a random id is taken (one in ~10^9 at a million jobs).
ID_ATTEMPTS = 5

__all__ = [
    "JOB_ID",
    "STAGE_PERCENT",
    "PhotoJob",
    "PhotoJobStore",
    "PhotoState",
    "new_job_id",
    "normalize_job_id",
    "sources_of",
]

# Bookkeeping a caller may set whatever the state (set_fields).
_BOOKKEEPING = frozenset({"status_message_id", "task_id", "queued_epoch"})


class PhotoJobStore:
    """Photo jobs in the database; `starts` (Redis) hears of each new job to queue."""

    def __init__(
        self,
        db: Database,
        starts: PendingStarts | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.db = db
        self.starts = starts
        self.clock = clock

    def create(
        self, chat_id: int, user_id: int, file_id: str, source_message_id: int, language: str
    ) -> tuple[PhotoJob, bool]:
        """Store a new job for a photo message; a re-delivered message returns the first job
        and False. Never over another job: an id drawn twice is drawn again."""
        source = telegram_source(chat_id, source_message_id)
        for _attempt in range(ID_ATTEMPTS):
            now = self.clock()
            job = PhotoJob(
                id=new_job_id(),
                chat_id=chat_id,
                user_id=user_id,
                file_id=file_id,
                created_at=now,
                updated_at=now,
                language=language,
            )
            try:
                with self.db.transaction() as session:
                    session.add(to_row(job, source))
                break
            except IntegrityError:
                existing = self._by_source(source)
                if existing is not None:
                    return existing, False
        else:
            raise RuntimeError(f"no photo job stored for {source} after {ID_ATTEMPTS} attempts")
        if self.starts is not None:
            try:
                self.starts.add("photo", job.id)
            except Exception:
                # Redis refused: nothing could queue the job, so it is taken back whole and
                # the caller tells the customer to try again.
                self.discard(job.id)
                raise
        return job, True

    def _by_source(self, source: str) -> PhotoJob | None:
        with self.db.reading() as session:
            row = session.scalar(select(PhotoJobRow).where(PhotoJobRow.source == source))
            return to_job(row) if row is not None else None

    def discard(self, job_id: str) -> None:
        """Remove a job that never started (Redis was full, so nothing was queued): the row
        and its pending start. Not a MULTI: Redis over `maxmemory` refuses every command
        queued in one, even a delete."""
        with self.db.transaction() as session:
            session.execute(
                delete(PhotoJobRow).where(
                    PhotoJobRow.id == job_id,
                    PhotoJobRow.state == PhotoState.PENDIENTE.value,
                    PhotoJobRow.task_id == "",
                )
            )
        if self.starts is not None:
            pipe = self.starts.redis.pipeline(transaction=False)
            starts.drop(pipe, "photo", job_id)
            pipe.execute()

    def get(self, job_id: str) -> PhotoJob:
        """The job; KeyError if there is none."""
        with self.db.reading() as session:
            row = session.get(PhotoJobRow, job_id)
            if row is None:
                raise KeyError(job_id)
            return to_job(row)

    def find(self, job_id: str, chat_id: int) -> PhotoJob | None:
        """The job if it exists and belongs to `chat_id`."""
        try:
            job = self.get(job_id)
        except KeyError:
            return None
        return job if job.chat_id == chat_id else None

    def of_chat(self, chat_id: int, limit: int = 50) -> list[PhotoJob]:
        """The chat's jobs, newest first."""
        query = (
            select(PhotoJobRow)
            .where(PhotoJobRow.chat_id == chat_id)
            .order_by(PhotoJobRow.created_at.desc())
            .limit(limit)
        )
        with self.db.reading() as session:
            return [to_job(row) for row in session.scalars(query)]

    def move(self, job_id: str, state: PhotoState, **fields: Any) -> bool:
        """Move the job to `state` (with its progress, and `error` or `renditions`) if it may
        go there from where it is; False when it may not (already there, past it, or final)."""
        now = self.clock()
        values: dict[str, Any] = {"state": state.value, "updated_at": now}
        if state in STAGE_PERCENT:
            values["progress"] = STAGE_PERCENT[state]
        if state.is_final:
            values["finished_at"] = now
        if "error" in fields:
            values["error"] = str(fields.pop("error"))[:64]
        if "renditions" in fields:
            values["renditions"] = ",".join(fields.pop("renditions"))
        if fields:
            raise TypeError(f"not a photo job field to move with: {sorted(fields)}")
        with self.db.transaction() as session:
            result = session.execute(
                update(PhotoJobRow)
                .where(PhotoJobRow.id == job_id, PhotoJobRow.state.in_(sources_of(state)))
                .values(**values)
                .execution_options(synchronize_session=False)
            )
        return bool(getattr(result, "rowcount", 0))

    def set_fields(self, job_id: str, **fields: str | int) -> None:
        """Record bookkeeping (status message id, task id, queue epoch) whatever the state."""
        unknown = set(fields) - _BOOKKEEPING
        if unknown:
            raise TypeError(f"not a photo job bookkeeping field: {sorted(unknown)}")
        with self.db.transaction() as session:
            session.execute(
                update(PhotoJobRow)
                .where(PhotoJobRow.id == job_id)
                .values(**fields)
                .execution_options(synchronize_session=False)
            )

    def never_queued(self, created_before: float, limit: int) -> list[str]:
        """Ids of pending jobs stored before `created_before` that nobody has queued (their
        bot died, or Redis lost their pending start)."""
        query = (
            select(PhotoJobRow.id)
            .where(
                PhotoJobRow.finished_at == 0,
                PhotoJobRow.task_id == "",
                PhotoJobRow.created_at < created_before,
            )
            .order_by(PhotoJobRow.created_at)
            .limit(limit)
        )
        with self.db.reading() as session:
            return list(session.scalars(query))

    def lost_in(self, epoch: str, limit: int) -> list[PhotoJob]:
        """Unfinished jobs whose task was queued in another Redis epoch (lost with it)."""
        query = (
            select(PhotoJobRow)
            .where(
                PhotoJobRow.finished_at == 0,
                PhotoJobRow.task_id != "",
                PhotoJobRow.queued_epoch != epoch,
            )
            .order_by(PhotoJobRow.created_at)
            .limit(limit)
        )
        with self.db.reading() as session:
            return [to_job(row) for row in session.scalars(query)]

    def requeue(self, job_id: str, lost_epoch: str, epoch: str, task_id: str) -> bool:
        """Record a new task for a job whose task was lost with Redis epoch `lost_epoch`;
        False when someone else (another sweep) already did."""
        with self.db.transaction() as session:
            result = session.execute(
                update(PhotoJobRow)
                .where(PhotoJobRow.id == job_id, PhotoJobRow.queued_epoch == lost_epoch)
                .where(PhotoJobRow.finished_at == 0)
                .values(task_id=task_id, queued_epoch=epoch)
                .execution_options(synchronize_session=False)
            )
        return bool(getattr(result, "rowcount", 0))

    def move_chat(self, old: int, new: int) -> int:
        """A group became a supergroup: its jobs follow it, and forget their status message
        (message ids are per chat); how many moved."""
        with self.db.transaction() as session:
            result = session.execute(
                update(PhotoJobRow)
                .where(PhotoJobRow.chat_id == old)
                .values(chat_id=new, status_message_id=0)
                .execution_options(synchronize_session=False)
            )
        return int(getattr(result, "rowcount", 0) or 0)

    def delete_finished_before(self, cutoff: float, batch: int) -> int:
        """Delete jobs finished at or before `cutoff`, `batch` per transaction; how many."""
        removed = 0
        while True:
            with self.db.transaction() as session:
                ids = list(
                    session.scalars(
                        select(PhotoJobRow.id)
                        .where(PhotoJobRow.finished_at > 0, PhotoJobRow.finished_at <= cutoff)
                        .limit(batch)
                    )
                )
                if not ids:
                    return removed
                session.execute(delete(PhotoJobRow).where(PhotoJobRow.id.in_(ids)))
            removed += len(ids)
