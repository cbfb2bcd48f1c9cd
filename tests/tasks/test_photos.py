"""The photo tasks' side of recovery, on the real store (SQLite) and redis-server: a job is
queued with its task id and Redis epoch recorded, a failed publish leaves it to be queued
again, and the sweep queues the jobs a lost Redis took with it."""

from __future__ import annotations

import time
from typing import Any

import pytest
import redis
from kombu.exceptions import OperationalError

from core.db.engine import Database
from core.photos.jobs import PhotoJobStore, PhotoState
from core.recovery import starts
from core.recovery.starts import PendingStarts
from tasks import clients
from tasks import context as ctx
from tasks import photos as photo_tasks


class Publish:
    """procesar_imagen's publish: recorded, or refused like a broker that went away."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []
        self.refuse = False

    def __call__(self, args: tuple[str], **options: Any) -> None:
        if self.refuse:
            raise OperationalError("Error 111 connecting to Redis")
        self.sent.append((args[0], options["task_id"]))


@pytest.fixture
def client(redis_url: str) -> redis.Redis:
    return redis.Redis.from_url(redis_url, decode_responses=True)


@pytest.fixture
def jobs(
    sqlite_db: Database, client: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> PhotoJobStore:
    store = PhotoJobStore(sqlite_db, PendingStarts(client))
    monkeypatch.setattr(ctx, "photo_jobs", lambda: store)
    monkeypatch.setattr(clients, "starts", lambda: PendingStarts(client))
    monkeypatch.setattr(clients, "epoch", lambda: "epoch-now")
    return store


@pytest.fixture
def publish(monkeypatch: pytest.MonkeyPatch) -> Publish:
    fake = Publish()
    monkeypatch.setattr(photo_tasks.procesar_imagen, "apply_async", fake)
    return fake


def test_a_queued_job_records_its_task_and_epoch_and_a_refused_one_records_none(
    jobs: PhotoJobStore, publish: Publish
) -> None:
    job, _ = jobs.create(10, 7, "file-1", 1, "es")

    task_id = photo_tasks.enqueue_photo(job.id)

    assert publish.sent == [(job.id, task_id)]
    queued = jobs.get(job.id)
    assert (queued.task_id, queued.queued_epoch) == (task_id, "epoch-now")

    other, _ = jobs.create(10, 7, "file-2", 2, "es")
    publish.refuse = True
    with pytest.raises(OperationalError):
        photo_tasks.enqueue_photo(other.id)
    # Still a job nobody queued: the sweep's pending start (or never_queued) queues it.
    assert jobs.get(other.id).task_id == ""
    publish.refuse = False
    photo_tasks.start_unqueued_photo(other.id)
    assert [sent for sent, _ in publish.sent] == [job.id, other.id]


def test_the_sweep_queues_again_what_a_lost_redis_held_and_only_that(
    jobs: PhotoJobStore, publish: Publish, client: redis.Redis
) -> None:
    jobs.clock = lambda: time.time() - 60  # stored a minute ago, past the start's grace
    lost, _ = jobs.create(10, 7, "file-1", 1, "es")
    jobs.set_fields(lost.id, task_id="t-1", queued_epoch="epoch-gone")
    current, _ = jobs.create(10, 7, "file-2", 2, "es")
    jobs.set_fields(current.id, task_id="t-2", queued_epoch="epoch-now")
    finished, _ = jobs.create(10, 7, "file-3", 3, "es")
    jobs.set_fields(finished.id, task_id="t-3", queued_epoch="epoch-gone")
    jobs.move(finished.id, PhotoState.LISTO)
    never, _ = jobs.create(10, 7, "file-4", 4, "es")
    client.delete(starts.KEY)  # Redis lost the pending starts too

    assert photo_tasks.resume_lost_photos() == 2
    assert photo_tasks.resume_lost_photos() == 1  # the unqueued one waits for its start

    [(job_id, task_id)] = publish.sent
    assert job_id == lost.id
    assert (jobs.get(lost.id).task_id, jobs.get(lost.id).queued_epoch) == (task_id, "epoch-now")
    assert client.zscore(starts.KEY, starts.member("photo", never.id)) is not None
