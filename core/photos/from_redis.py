"""The upgrade from the Redis photo job store to the system of record: every job hash
`pedidos:photo:F-…` copied into the database once (`make migrate-redis`, with the orders).

Run again, it copies nothing twice (a job id already in the database is skipped), so it can be
re-run after an interruption, or while old processes still finish their last jobs. An unfinished
job keeps its queued task: it is recorded as queued in the Redis it was read from (its epoch,
core.recovery.epoch), so the recovery sweep queues it again only if that Redis is lost."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace

import redis
from sqlalchemy import select

from core import records
from core.db.photos import PhotoJobRow
from core.photos.jobs import JOB_ID, PhotoJob, PhotoJobStore
from core.photos.rows import to_row
from core.recovery import epoch
from core.redisio import as_strings

OLD_JOB_PREFIX = "pedidos:photo:"
BATCH = 500


@dataclass
class CopiedJobs:
    copied: int = 0
    skipped: int = 0
    unreadable: int = 0


def _old_job_keys(client: redis.Redis) -> Iterator[list[str]]:
    keys: list[str] = []
    for key in as_strings(client.scan_iter(match=f"{OLD_JOB_PREFIX}F-*", count=1000)):
        # Only job hashes (`pedidos:photo:F-XXXXXX`), never another key under the prefix.
        if not JOB_ID.match(key.removeprefix(OLD_JOB_PREFIX)):
            continue
        keys.append(key)
        if len(keys) >= BATCH:
            yield keys
            keys = []
    if keys:
        yield keys


def _read(client: redis.Redis, keys: list[str], queued_in: str) -> list[PhotoJob | None]:
    pipe = client.pipeline(transaction=False)
    for key in keys:
        pipe.hgetall(key)
    found: list[PhotoJob | None] = []
    for raw in pipe.execute():
        flat = dict(zip(as_strings(raw.keys()), as_strings(raw.values()), strict=True))
        try:
            job = records.from_hash(PhotoJob, flat)
        except (KeyError, TypeError, ValueError):
            found.append(None)
            continue
        if job.task_id and not job.is_final:
            job = replace(job, queued_epoch=queued_in)
        found.append(job)
    return found


def copy_photo_jobs(client: redis.Redis, jobs: PhotoJobStore) -> CopiedJobs:
    """Copy every Redis photo job not yet in the database (in batches, one transaction each)."""
    counts = CopiedJobs()
    queued_in = epoch.current(client)
    for keys in _old_job_keys(client):
        batch = _read(client, keys, queued_in)
        found = [job for job in batch if job is not None]
        counts.unreadable += len(batch) - len(found)
        with jobs.db.transaction() as session:
            ids = [job.id for job in found]
            known = set(session.scalars(select(PhotoJobRow.id).where(PhotoJobRow.id.in_(ids))))
            for job in found:
                if job.id in known:
                    counts.skipped += 1
                    continue
                session.add(to_row(job, source=None))
                counts.copied += 1
    return counts
