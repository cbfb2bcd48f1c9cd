"""Photo jobs: one per photo a customer sends for renditions (`/estado F-…`), kept in the
system of record like an order, so a Redis that lost its data still answers for them and the
recovery sweep drives the unfinished ones on (core.photos.jobs)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Double, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from core.db.models import Base

_UNFINISHED = text("finished_at = 0")


class PhotoJobRow(Base):
    """One photo job. Its state changes only by conditional updates (core.photos.jobs)."""

    __tablename__ = "photo_jobs"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    # The customer who sent the photo (their Telegram user id).
    user_id: Mapped[int] = mapped_column(BigInteger)
    # Telegram's id of the photo's largest size: the worker downloads it by this.
    file_id: Mapped[str] = mapped_column(String(255))
    state: Mapped[str] = mapped_column(String(16))
    progress: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[float] = mapped_column(Double)
    updated_at: Mapped[float] = mapped_column(Double)
    finished_at: Mapped[float] = mapped_column(Double, default=0.0)
    status_message_id: Mapped[int] = mapped_column(BigInteger, default=0)
    task_id: Mapped[str] = mapped_column(String(64), default="")
    # The Redis epoch (core.recovery.epoch) its task was queued in, as orders.queued_epoch.
    queued_epoch: Mapped[str] = mapped_column(String(32), default="")
    # Why it failed (a reason code, core.photos.processing), "" otherwise.
    error: Mapped[str] = mapped_column(String(64), default="")
    language: Mapped[str] = mapped_column(String(8), default="es")
    # The renditions' file names in MEDIA_DIR, comma separated, once made.
    renditions: Mapped[str] = mapped_column(Text, default="")
    # The Telegram message it came from: a re-delivered update finds the first job.
    source: Mapped[str | None] = mapped_column(String(80), unique=True)

    __table_args__ = (
        Index("ix_photo_jobs_chat_created", "chat_id", "created_at"),
        # The recovery sweep's question (unfinished jobs by age) reads only unfinished rows.
        Index(
            "ix_photo_jobs_unfinished",
            "created_at",
            postgresql_where=_UNFINISHED,
            sqlite_where=_UNFINISHED,
        ),
        # Retention deletes finished jobs by finish time.
        Index("ix_photo_jobs_finished", "finished_at"),
    )
