"""Stored work waits in core.recovery.starts until someone queues it: its bot at once, or the sweep
once the grace is over; never both."""

from __future__ import annotations

import pytest
import redis

from core.db.engine import Database
from core.orders.store import OrderStore
from core.photos.jobs import PhotoJobStore
from core.recovery import starts
from core.recovery.starts import PendingStarts


@pytest.fixture
def client(redis_url: str) -> redis.Redis:
    return redis.Redis.from_url(redis_url, decode_responses=True)


@pytest.fixture
def db(sqlite_db: Database) -> Database:
    return sqlite_db


def make_due(client: redis.Redis, member: str) -> None:
    """As if the grace were over (the sweep's clock is Redis's own)."""
    client.zadd(starts.KEY, {member: 0}, xx=True)


def test_a_new_order_and_photo_job_wait_to_be_queued(client: redis.Redis, db: Database) -> None:
    order, _ = OrderStore(db, PendingStarts(client)).create(10, 7, "2 pizzas", source_message_id=1)
    job, _ = PhotoJobStore(db, PendingStarts(client)).create(10, 7, "file", 2, "es")
    pending = PendingStarts(client)
    assert pending.redis.zscore(starts.KEY, starts.member("order", order.id)) is not None
    assert pending.redis.zscore(starts.KEY, starts.member("photo", job.id)) is not None
    # Not due yet: the bot that stored them is still about to queue them.
    assert pending.take_due("sweep") == []


def test_the_bot_queues_its_own_order_and_the_sweep_leaves_it(
    client: redis.Redis, db: Database
) -> None:
    order, _ = OrderStore(db, PendingStarts(client)).create(10, 7, "2 pizzas", source_message_id=1)
    pending = PendingStarts(client)
    assert pending.take("order", order.id, "bot-1")
    # The same bot trying again (Redis was back) still holds it; another does not get it.
    assert pending.take("order", order.id, "bot-1")
    assert not pending.take("order", order.id, "bot-2")
    pending.done("order", order.id)
    make_due(client, starts.member("order", order.id))
    assert pending.take_due("sweep") == []
    assert pending.redis.zscore(starts.KEY, starts.member("order", order.id)) is None


def test_the_sweep_takes_what_its_bot_never_queued_and_the_bot_then_leaves_it(
    client: redis.Redis, db: Database
) -> None:
    order, _ = OrderStore(db, PendingStarts(client)).create(10, 7, "2 pizzas", source_message_id=1)
    pending = PendingStarts(client)
    make_due(client, starts.member("order", order.id))
    assert pending.take_due("sweep") == [("order", order.id)]
    # Taken: pushed back by a grace, so a second sweep does not queue it again meanwhile.
    assert pending.take_due("sweep") == []
    # A late bot finds the sweep holds it.
    assert not pending.take("order", order.id, "bot-1")


def test_a_redelivered_message_adds_nothing(client: redis.Redis, db: Database) -> None:
    store = OrderStore(db, PendingStarts(client))
    first, _ = store.create(10, 7, "2 pizzas", source_message_id=9)
    PendingStarts(client).done("order", first.id)
    again, created = store.create(10, 7, "2 pizzas", source_message_id=9)
    assert (again.id, created) == (first.id, False)
    assert client.zcard(starts.KEY) == 0
