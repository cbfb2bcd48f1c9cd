"""Every record is created atomically and never over another: ids drawn twice are drawn again.

The id generators are narrowed to a few thousand values here, so collisions are certain (a
real id space only makes them rare): 2,000 photo jobs created at once from 16 threads must
still be 2,000 jobs, each as its creator wrote it, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis

import core.photos.jobs
import core.telegram.dead_letters
from core.db.engine import Database
from core.photos.jobs import PhotoJobStore
from core.telegram.dead_letters import DeadLetters
from core.telegram.handover import Outgoing

# Photo jobs are database rows, each a committed transaction.
PHOTO_JOBS = 2_000
CHAT = -100_555


@pytest.fixture
def client(redis_url: str) -> redis.Redis:
    return redis.Redis.from_url(redis_url, decode_responses=True, max_connections=32)


def narrow(values: int, prefix: str) -> object:
    """An id generator with only `values` ids: a second draw of one is likely."""
    return lambda: f"{prefix}{random.randrange(values):06d}"


@pytest.mark.parametrize("space", ["narrow", "real"])
def test_two_thousand_photo_jobs_at_once_overwrite_nothing(
    database_url: str, monkeypatch: pytest.MonkeyPatch, space: str
) -> None:
    if space == "narrow":
        # 2,000 jobs among 3,000 ids: hundreds of draws hit a taken id, some several times.
        monkeypatch.setattr(core.photos.jobs, "new_job_id", narrow(3_000, "F-"))
        monkeypatch.setattr(core.photos.jobs, "ID_ATTEMPTS", 100)
    db = Database(database_url)
    store = PhotoJobStore(db)

    def create(n: int) -> tuple[str, str]:
        job, created = store.create(CHAT, 7, f"file-{n}", source_message_id=n, language="es")
        assert created
        return job.id, f"file-{n}"

    with ThreadPoolExecutor(16) as pool:
        made = list(pool.map(create, range(PHOTO_JOBS), chunksize=50))

    ids = [job_id for job_id, _ in made]
    assert len(set(ids)) == PHOTO_JOBS
    # Each job is still the one its creator wrote: no later job replaced it.
    assert [store.get(job_id).file_id for job_id, _ in made] == [f for _, f in made]
    assert len(store.of_chat(CHAT, limit=PHOTO_JOBS + 1)) == PHOTO_JOBS
    db.dispose()


def test_a_redelivered_photo_finds_its_job_even_when_raced(sqlite_db: Database) -> None:
    store = PhotoJobStore(sqlite_db)
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: store.create(CHAT, 7, "f", 42, "es"), range(8)))
    assert len({job.id for job, _ in results}) == 1
    assert sum(created for _, created in results) == 1


def test_dead_letters_never_overwrite_each_other(
    client: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(core.telegram.dead_letters, "new_letter_id", narrow(3_000, "E-"))
    letters = DeadLetters(client, cap=10_000)  # none dropped for room here

    def add(n: int) -> str:
        message = Outgoing(chat_id=CHAT, text=f"mensaje {n}", key=f"k{n}")
        return letters.add_send(message, "HTTP 502", attempts=5).id

    with ThreadPoolExecutor(16) as pool:
        ids = list(pool.map(add, range(2_000), chunksize=20))

    assert len(set(ids)) == 2_000 and letters.count() == 2_000
    texts = {letter.id: letter.text for letter in letters.latest(2_000)}
    assert [texts[i] for i in ids] == [f"mensaje {n}" for n in range(2_000)]


def test_real_ids_are_long_enough() -> None:
    # Dead letters: 40 random bits (was 24: one collision likely after ~5,000 letters).
    assert len(core.telegram.dead_letters.new_letter_id()) == len("E-") + 10
    assert core.photos.jobs.normalize_job_id(core.photos.jobs.new_job_id())
