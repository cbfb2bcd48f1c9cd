"""Import jobs in Redis: one per CSV document an admin sent, with its running counts.

Keys (under `pedidos:`):
  import:{id}                  hash    the job (ImportJob)
  import:update:{chat}:{msg}   string  the job made from that Telegram message (re-delivery)

A row's identity, `pedidos:import:row:{sha256}` (row_guard), is not a Redis key: it is the
source of the order the row created, unique in the database (core.importer.placing).
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from enum import StrEnum

import redis

from core import records
from core.orders.model import ID_ALPHABET
from core.orders.store import PREFIX, UPDATE_MEMORY_SECONDS
from core.redisio import read_hash, write_hash

# A row imported once is remembered this long: the same file sent again within a year
# creates nothing.
ROW_MEMORY_SECONDS = 400 * 24 * 3600
JOB_MEMORY_SECONDS = 90 * 24 * 3600


# Compare-and-extend and compare-and-delete of a job's lease.
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class ImportState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    REFUSED = "refused"  # too big, too many rows, not UTF-8, no header...


@dataclass
class ImportJob:
    id: str
    chat_id: int
    user_id: int
    file_id: str
    file_name: str
    file_size: int
    language: str
    status_message_id: int = 0
    task_id: str = ""
    state: ImportState = ImportState.QUEUED
    total: int = 0
    done: int = 0
    created: int = 0
    duplicates: int = 0
    rejected: int = 0
    created_at: float = 0.0
    finished_at: float = 0.0


def new_job_id() -> str:
    return "I-" + "".join(secrets.choice(ID_ALPHABET) for _ in range(6))


def row_guard(key: str) -> str:
    return f"{PREFIX}import:row:{key}"


class ImportJobs:
    def __init__(self, client: redis.Redis) -> None:
        self.redis = client
        self._renew = client.register_script(_RENEW)
        self._release = client.register_script(_RELEASE)

    @staticmethod
    def key(job_id: str) -> str:
        return f"{PREFIX}import:{job_id}"

    def create(
        self,
        chat_id: int,
        user_id: int,
        file_id: str,
        file_name: str,
        file_size: int,
        message_id: int,
        language: str,
    ) -> tuple[ImportJob, bool]:
        """A new job for the document in message `message_id`; a re-delivered message gets
        the job it made the first time, and False."""
        guard = f"{PREFIX}import:update:{chat_id}:{message_id}"
        job = ImportJob(
            id=new_job_id(),
            chat_id=chat_id,
            user_id=user_id,
            file_id=file_id,
            file_name=file_name,
            file_size=file_size,
            language=language,
            created_at=time.time(),
        )
        if not self.redis.set(guard, job.id, nx=True, ex=UPDATE_MEMORY_SECONDS):
            existing = self.get(str(self.redis.get(guard)))
            if existing is not None:
                return existing, False
        pipe = self.redis.pipeline(transaction=True)
        write_hash(pipe, self.key(job.id), records.to_hash(job))
        pipe.expire(self.key(job.id), JOB_MEMORY_SECONDS)
        pipe.execute()
        return job, True

    def get(self, job_id: str) -> ImportJob | None:
        raw = read_hash(self.redis, self.key(job_id))
        return records.from_hash(ImportJob, raw) if raw else None

    def take_lease(self, job_id: str, token: str, ms: int) -> bool:
        return bool(self.redis.set(self.key(job_id) + ":lease", token, nx=True, px=ms))

    def renew_lease(self, job_id: str, token: str, ms: int) -> None:
        """Extend the lease if it is still ours (a run that lost it goes on: rows are guarded)."""
        self._renew(keys=[self.key(job_id) + ":lease"], args=[token, ms])

    def release_lease(self, job_id: str, token: str) -> None:
        self._release(keys=[self.key(job_id) + ":lease"], args=[token])

    def update(self, job_id: str, **fields: str | int | float) -> None:
        self.redis.hset(self.key(job_id), mapping={k: str(v) for k, v in fields.items()})
