"""Photo jobs: one per photo a customer sends, tracked like an order (`/estado F-…`)."""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

import redis

from core import records
from core.orders.model import ID_ALPHABET, ID_LENGTH
from core.orders.store import UPDATE_MEMORY_SECONDS
from core.recovery import starts
from core.redisio import read_hash, write_hash

PREFIX = "pedidos:"
JOB_ID = re.compile(rf"^F-[{ID_ALPHABET}]{{{ID_LENGTH}}}$")
# `{chat}/{id}` of finished jobs by finish time, for core.retention.
FINISHED_KEY = f"{PREFIX}photos:finished"

# KEYS: update guard, job, chat index, pending starts (core.recovery.starts). ARGV: job id,
# created_at, guard ttl, then the job's fields as name/value pairs. All or nothing, so a
# refused write (Redis out of memory) leaves no guard pointing at a job that was never
# stored, and never over another job.
# Returns {1, id}, {0, first id} for a re-delivered message, or {-1} when the drawn id is
# taken (draw again).
_CREATE = (
    """
local existing = redis.call('GET', KEYS[1])
if existing then return {0, existing} end
if redis.call('EXISTS', KEYS[2]) == 1 then return {-1, ''} end
for i = 4, #ARGV, 2 do redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]) end
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[3])
"""
    + starts.create_lua(4, "'photo:' .. ARGV[1]")
    + """
return {1, ARGV[1]}
"""
)


class PhotoState(StrEnum):
    """Where a photo job is; the rendition stages are what the status message shows."""

    PENDIENTE = "pendiente"
    DESCARGANDO = "descargando"
    MINIATURA = "miniatura"
    MEDIANA = "mediana"
    GRANDE = "grande"
    ENVIANDO = "enviando"
    LISTO = "listo"
    FALLIDO = "fallido"

    @property
    def is_final(self) -> bool:
        return self in (PhotoState.LISTO, PhotoState.FALLIDO)


# Progress shown at each stage (the rendition names come from core.photos.renditions.RENDITIONS).
STAGE_PERCENT = {
    PhotoState.PENDIENTE: 0,
    PhotoState.DESCARGANDO: 10,
    PhotoState.MINIATURA: 40,
    PhotoState.MEDIANA: 60,
    PhotoState.GRANDE: 80,
    PhotoState.ENVIANDO: 90,
    PhotoState.LISTO: 100,
}


@dataclass
class PhotoJob:
    """One photo to turn into renditions."""

    id: str
    chat_id: int
    user_id: int
    file_id: str
    state: PhotoState = PhotoState.PENDIENTE
    progress: int = 0
    created_at: float = 0.0
    updated_at: float = 0.0
    finished_at: float = 0.0
    status_message_id: int = 0
    task_id: str = ""
    error: str = ""
    language: str = "es"

    @property
    def is_final(self) -> bool:
        return self.state.is_final

    def to_redis(self) -> dict[str, str]:
        return records.to_hash(self)

    @classmethod
    def from_redis(cls, raw: dict[str, str]) -> PhotoJob:
        return records.from_hash(cls, raw)


def new_job_id() -> str:
    return "F-" + "".join(secrets.choice(ID_ALPHABET) for _ in range(ID_LENGTH))


def normalize_job_id(raw: str) -> str | None:
    candidate = raw.strip().upper()
    return candidate if JOB_ID.match(candidate) else None


class PhotoJobStore:
    """Photo jobs as Redis hashes; a re-delivered update finds its first job."""

    def __init__(self, client: redis.Redis, clock: Callable[[], float] = time.time) -> None:
        self.redis = client
        self.clock = clock
        self._create = client.register_script(_CREATE)

    @staticmethod
    def key(job_id: str) -> str:
        return f"{PREFIX}photo:{job_id}"

    @staticmethod
    def chat_key(chat_id: int) -> str:
        return f"{PREFIX}photos:{chat_id}"

    def create(
        self, chat_id: int, user_id: int, file_id: str, source_message_id: int, language: str
    ) -> tuple[PhotoJob, bool]:
        """Store a new job for a photo message; a re-delivered message returns the first.

        Atomic, and never over another job: an id drawn twice (31^6 of them) is drawn again.
        """
        guard = f"{PREFIX}photo-update:{chat_id}:{source_message_id}"
        while True:
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
            fields = [part for pair in job.to_redis().items() for part in pair]
            status, found = self._create(
                keys=[guard, self.key(job.id), self.chat_key(chat_id), starts.KEY],
                args=[job.id, now, UPDATE_MEMORY_SECONDS, *fields],
            )
            if status == 1:
                return job, True
            if status == 0:
                return self.get(str(found)), False

    def forget(self, job: PhotoJob, source_message_id: int) -> None:
        """Remove a job that never started (its task could not be queued): no trace left.

        Not a MULTI: Redis over `maxmemory` refuses every command queued in one, even DEL."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.delete(self.key(job.id), f"{PREFIX}photo-update:{job.chat_id}:{source_message_id}")
        pipe.zrem(self.chat_key(job.chat_id), job.id)
        starts.drop(pipe, "photo", job.id)
        pipe.execute()

    def get(self, job_id: str) -> PhotoJob:
        raw = read_hash(self.redis, self.key(job_id))
        if not raw:
            raise KeyError(job_id)
        return PhotoJob.from_redis(raw)

    def find(self, job_id: str, chat_id: int) -> PhotoJob | None:
        """The job if it exists and belongs to `chat_id`."""
        try:
            job = self.get(job_id)
        except KeyError:
            return None
        return job if job.chat_id == chat_id else None

    def update(self, job_id: str, **fields: str | int | float) -> None:
        values = {k: (v.value if isinstance(v, StrEnum) else str(v)) for k, v in fields.items()}
        values["updated_at"] = str(self.clock())
        pipe = self.redis.pipeline(transaction=True)
        if fields.get("state") in (PhotoState.LISTO, PhotoState.FALLIDO):
            values["finished_at"] = values["updated_at"]
            chat_id = str(self.redis.hget(self.key(job_id), "chat_id"))
            pipe.zadd(FINISHED_KEY, {f"{chat_id}/{job_id}": float(values["finished_at"])})
        write_hash(pipe, self.key(job_id), values)
        pipe.execute()
