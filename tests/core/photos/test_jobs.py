"""The photo job store's contract, on SQLite and on PostgreSQL: jobs in the system of record,
conditional state moves, re-delivery, what the recovery sweep and retention ask of it."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis

from core.db.engine import Database
from core.photos.jobs import STAGE_PERCENT, PhotoJobStore, PhotoState
from core.recovery.starts import KEY as STARTS_KEY
from core.recovery.starts import PendingStarts
from tests.support.processes import free_port


class Clock:
    def __init__(self, now: float = 1_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def jobs(database_url: str, clock: Clock) -> Iterator[PhotoJobStore]:
    db = Database(database_url)
    yield PhotoJobStore(db, clock=clock)
    db.dispose()


def test_a_created_job_is_pending_and_found_only_in_its_chat(jobs: PhotoJobStore) -> None:
    job, created = jobs.create(10, 7, "file-1", 1, "en")

    assert created and job.id.startswith("F-")
    stored = jobs.get(job.id)
    assert (stored.state, stored.progress, stored.file_id, stored.language) == (
        PhotoState.PENDIENTE,
        0,
        "file-1",
        "en",
    )
    assert jobs.find(job.id, 10) == stored
    assert jobs.find(job.id, 11) is None
    assert jobs.find("F-ZZZZZZ", 10) is None
    with pytest.raises(KeyError):
        jobs.get("F-ZZZZZZ")


def test_a_redelivered_photo_message_finds_its_first_job(jobs: PhotoJobStore) -> None:
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: jobs.create(10, 7, "file-1", 5, "es"), range(8)))

    assert len({job.id for job, _ in results}) == 1
    assert [created for _, created in results].count(True) == 1
    assert len(jobs.of_chat(10)) == 1


def test_stages_move_forward_only_and_each_move_is_made_once(jobs: PhotoJobStore) -> None:
    job, _ = jobs.create(10, 7, "file-1", 1, "es")

    with ThreadPoolExecutor(8) as pool:
        made = list(pool.map(lambda _: jobs.move(job.id, PhotoState.MEDIANA), range(8)))

    assert made.count(True) == 1
    assert not jobs.move(job.id, PhotoState.MINIATURA)  # a retried run: never back
    assert not jobs.move(job.id, PhotoState.MEDIANA)
    stored = jobs.get(job.id)
    assert (stored.state, stored.progress) == (PhotoState.MEDIANA, STAGE_PERCENT[stored.state])


def test_a_finished_job_keeps_its_renditions_and_moves_no_more(
    jobs: PhotoJobStore, clock: Clock
) -> None:
    job, _ = jobs.create(10, 7, "file-1", 1, "es")
    clock.now = 1_050.0
    names = ["miniatura-" + "a" * 32 + ".jpg", "grande-" + "b" * 32 + ".jpg"]

    assert jobs.move(job.id, PhotoState.LISTO, renditions=names)

    assert not jobs.move(job.id, PhotoState.FALLIDO, error="crashed")
    assert not jobs.move(job.id, PhotoState.ENVIANDO)
    stored = jobs.get(job.id)
    assert (stored.state, stored.progress, stored.finished_at) == (PhotoState.LISTO, 100, 1_050.0)
    assert stored.renditions == tuple(names) and stored.error == ""


def test_a_job_fails_from_any_unfinished_stage_once_with_its_reason(jobs: PhotoJobStore) -> None:
    job, _ = jobs.create(10, 7, "file-1", 1, "es")
    jobs.move(job.id, PhotoState.GRANDE)

    assert jobs.move(job.id, PhotoState.FALLIDO, error="too_big")
    assert not jobs.move(job.id, PhotoState.FALLIDO, error="internal")

    stored = jobs.get(job.id)
    assert (stored.state, stored.error) == (PhotoState.FALLIDO, "too_big")
    assert stored.is_final and stored.finished_at > 0


def test_the_sweep_finds_jobs_never_queued_and_jobs_queued_in_a_lost_redis(
    jobs: PhotoJobStore, clock: Clock
) -> None:
    unqueued, _ = jobs.create(10, 7, "file-1", 1, "es")
    old, _ = jobs.create(10, 7, "file-2", 2, "es")
    jobs.set_fields(old.id, task_id="t-old", queued_epoch="epoch-a")
    current, _ = jobs.create(10, 7, "file-3", 3, "es")
    jobs.set_fields(current.id, task_id="t-now", queued_epoch="epoch-b")
    done, _ = jobs.create(10, 7, "file-4", 4, "es")
    jobs.set_fields(done.id, task_id="t-done", queued_epoch="epoch-a")
    jobs.move(done.id, PhotoState.LISTO)

    assert jobs.never_queued(created_before=clock.now + 1, limit=10) == [unqueued.id]
    assert jobs.never_queued(created_before=clock.now, limit=10) == []
    assert [job.id for job in jobs.lost_in("epoch-b", 10)] == [old.id]

    with ThreadPoolExecutor(4) as pool:
        taken = list(
            pool.map(lambda n: jobs.requeue(old.id, "epoch-a", "epoch-b", f"t-{n}"), range(4))
        )
    assert taken.count(True) == 1  # two sweeps queue it once
    assert jobs.get(old.id).queued_epoch == "epoch-b"
    assert jobs.lost_in("epoch-b", 10) == []


def test_retention_deletes_only_jobs_finished_before_the_cutoff(
    jobs: PhotoJobStore, clock: Clock
) -> None:
    early, _ = jobs.create(10, 7, "file-1", 1, "es")
    jobs.move(early.id, PhotoState.LISTO)
    clock.now = 2_000.0
    late, _ = jobs.create(10, 7, "file-2", 2, "es")
    jobs.move(late.id, PhotoState.FALLIDO, error="too_big")
    running, _ = jobs.create(10, 7, "file-3", 3, "es")

    assert jobs.delete_finished_before(1_500.0, batch=1) == 1

    assert sorted(job.id for job in jobs.of_chat(10)) == sorted([late.id, running.id])


def test_an_upgraded_group_takes_its_jobs_along(jobs: PhotoJobStore) -> None:
    job, _ = jobs.create(-10, 7, "file-1", 1, "es")
    jobs.set_fields(job.id, status_message_id=55)

    assert jobs.move_chat(-10, -10010) == 1

    moved = jobs.get(job.id)
    assert (moved.chat_id, moved.status_message_id) == (-10010, 0)
    assert jobs.find(job.id, -10) is None


def test_a_new_job_waits_in_the_pending_starts_and_a_discarded_one_leaves_no_trace(
    database_url: str, redis_url: str
) -> None:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    db = Database(database_url)
    jobs = PhotoJobStore(db, PendingStarts(client))
    job, _ = jobs.create(10, 7, "file-1", 1, "es")
    assert client.zscore(STARTS_KEY, f"photo:{job.id}") is not None

    jobs.discard(job.id)

    assert jobs.find(job.id, 10) is None
    assert client.zscore(STARTS_KEY, f"photo:{job.id}") is None
    db.dispose()


def test_redis_unreachable_at_creation_takes_the_job_back_whole(database_url: str) -> None:
    gone = redis.Redis(port=free_port(), socket_connect_timeout=0.5)
    db = Database(database_url)
    jobs = PhotoJobStore(db, PendingStarts(gone))

    with pytest.raises(redis.ConnectionError):
        jobs.create(10, 7, "file-1", 1, "es")

    assert jobs.of_chat(10) == []
    db.dispose()
