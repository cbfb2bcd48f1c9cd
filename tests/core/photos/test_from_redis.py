"""The upgrade: photo jobs of the Redis store copied into the database once each."""

from __future__ import annotations

import redis

from core import records
from core.db.engine import Database
from core.photos.from_redis import OLD_JOB_PREFIX, copy_photo_jobs
from core.photos.jobs import PhotoJob, PhotoJobStore, PhotoState
from core.recovery import epoch


def old_job(client: redis.Redis, job: PhotoJob) -> None:
    """A job hash as the Redis photo job store wrote it."""
    for name, value in records.to_hash(job).items():
        if name != "queued_epoch":  # the Redis store had no such field
            client.hset(f"{OLD_JOB_PREFIX}{job.id}", name, value)


def test_old_jobs_are_copied_once_and_answer_as_before(redis_url: str, sqlite_db: Database) -> None:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    done = PhotoJob("F-AAAAAA", 10, 7, "file-a", PhotoState.LISTO, 100, 1.0, 5.0, 5.0, 31)
    running = PhotoJob("F-BBBBBB", 11, 8, "file-b", PhotoState.MEDIANA, 60, 2.0, 3.0, task_id="t")
    for job in (done, running):
        old_job(client, job)
    client.hset(f"{OLD_JOB_PREFIX}F-CCCCCC", mapping={"id": "F-CCCCCC"})  # damaged
    client.zadd(f"{OLD_JOB_PREFIX}F-DDDDDD:lease", {"x": 1})  # not a job: left alone
    jobs = PhotoJobStore(sqlite_db)

    first = copy_photo_jobs(client, jobs)
    again = copy_photo_jobs(client, jobs)

    assert (first.copied, first.skipped, first.unreadable) == (2, 0, 1)
    assert (again.copied, again.skipped) == (0, 2)
    copied = jobs.find("F-AAAAAA", 10)
    assert copied is not None
    assert (copied.state, copied.status_message_id, copied.finished_at) == (
        PhotoState.LISTO,
        31,
        5.0,
    )
    # Still queued in the Redis it came from: the sweep leaves it to its queued task.
    moved = jobs.get("F-BBBBBB")
    assert (moved.state, moved.task_id) == (PhotoState.MEDIANA, "t")
    assert jobs.lost_in(epoch.current(client), 10) == []
