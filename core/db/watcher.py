"""The stale-order watcher's pending runs: a row from the moment a run claims orders until it
has handed over every alert (core.watcher.index). In the system of record, with the claims
they stand for, so a run that died is taken over by a later one even after Redis was lost."""

from __future__ import annotations

from sqlalchemy import Double, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from core.db.models import Base


class WatcherRunRow(Base):
    """A watcher run that claimed orders and has not finished: when it first and last ran."""

    __tablename__ = "watcher_runs"

    # The run's id: its Celery task id, the same for every retry and redelivery of the run.
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    started_at: Mapped[float] = mapped_column(Double)
    # The latest attempt: a run with none for longer than ADOPT_AFTER died.
    attempt_at: Mapped[float] = mapped_column(Double)

    __table_args__ = (Index("ix_watcher_runs_attempt_at", "attempt_at"),)
