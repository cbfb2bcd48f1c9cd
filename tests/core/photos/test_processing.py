"""What a photo job's run records and tells, on the real store (SQLite): stages forward only,
a failure told once, after it is committed, with its first reason."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import pytest

from core.db.engine import Database
from core.photos.jobs import PhotoJobStore, PhotoState
from core.photos.processing import PhotoProcessing
from core.telegram.client import BotApi
from core.telegram.courier import Courier


@dataclass
class Chat:
    """The courier's calls, each key delivered once as the real courier does."""

    sent: dict[str, str] = field(default_factory=dict)
    edits: list[str] = field(default_factory=list)

    def send(self, chat_id: int, text: str, *, key: str, **_: Any) -> int:
        self.sent.setdefault(key, text)
        return 1

    def edit(self, chat_id: int, message_id: int, text: str, **_: Any) -> int:
        self.edits.append(text)
        return message_id


@pytest.fixture
def jobs(sqlite_db: Database) -> PhotoJobStore:
    return PhotoJobStore(sqlite_db)


def processing(jobs: PhotoJobStore, chat: Chat, tmp_path: Path) -> PhotoProcessing:
    return PhotoProcessing(jobs, cast(Courier, chat), cast(BotApi, None), tmp_path)


def test_a_stage_already_passed_is_neither_recorded_nor_shown_again(
    jobs: PhotoJobStore, tmp_path: Path
) -> None:
    job, _ = jobs.create(10, 7, "file-1", 1, "es")
    jobs.set_fields(job.id, status_message_id=33)
    chat = Chat()
    photos = processing(jobs, chat, tmp_path)

    photos.stage(job, PhotoState.MEDIANA)
    again = photos.stage(job, PhotoState.MINIATURA)  # a retried run passing its stages

    assert again.state is PhotoState.MEDIANA and again.progress == 60
    assert len(chat.edits) == 1 and "60%" in chat.edits[0]


def test_a_failure_is_told_once_with_its_first_reason_and_a_done_job_never_fails(
    jobs: PhotoJobStore, tmp_path: Path
) -> None:
    job, _ = jobs.create(10, 7, "file-1", 1, "es")
    jobs.set_fields(job.id, status_message_id=33)
    chat = Chat()
    photos = processing(jobs, chat, tmp_path)

    photos.fail(job.id, "too_big")
    photos.fail(job.id, "internal")  # a second failure (or its teller's retry)

    assert jobs.get(job.id).error == "too_big"
    [told] = chat.sent.values()
    assert "20 MB" in told
    assert all("20 MB" in edit for edit in chat.edits)

    done, _ = jobs.create(10, 7, "file-2", 2, "es")
    jobs.move(done.id, PhotoState.LISTO)
    photos.fail(done.id, "crashed")
    assert jobs.get(done.id).state is PhotoState.LISTO
    assert list(chat.sent) == [f"photo:{job.id}:failed"]
