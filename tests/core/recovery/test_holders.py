"""core.recovery.holders: a worker that stops beating gives back, once, the messages it still
held unacked; a live worker's messages, and the ones it acked, stay where they are."""

from __future__ import annotations

import pytest
import redis

from core.recovery.holders import RESTORING_KEY, UNACKED_KEY, WORKERS_KEY, Holders


@pytest.fixture
def client(redis_url: str) -> redis.Redis:
    return redis.Redis.from_url(redis_url, decode_responses=True)


def take(client: redis.Redis, holders: Holders, worker: str, tag: str) -> None:
    """What the broker and the worker do when it takes a message: unacked first, then noted."""
    client.hset(UNACKED_KEY, tag, '[{}, "orders", "orders"]')
    holders.took(worker, tag)


def die(client: redis.Redis, worker: str) -> None:
    """As if the worker's last beat were long ago (the claim reads Redis's clock)."""
    client.zadd(WORKERS_KEY, {worker: 0}, xx=True)


def test_a_dead_workers_unacked_messages_are_claimed_once(client: redis.Redis) -> None:
    holders = Holders(client, beat_seconds=15)
    for worker in ("dead", "alive"):
        holders.beat(worker)
    take(client, holders, "dead", "t1")
    take(client, holders, "dead", "t2")
    take(client, holders, "alive", "t3")
    holders.took("dead", "acked")  # acked since: not in unacked any more
    die(client, "dead")

    claimed = holders.claim_dead()
    assert sorted(claimed) == [("t1", "dead"), ("t2", "dead")]
    assert client.zrange(WORKERS_KEY, 0, -1) == ["alive"]
    # Until each is given back, a sweep that died half-way leaves them to the next one.
    holders.restored("t1")
    assert holders.claim_dead() == [("t2", "dead")]
    holders.restored("t2")
    assert holders.claim_dead() == []


def test_a_given_back_message_a_live_worker_took_again_is_not_claimed(
    client: redis.Redis,
) -> None:
    holders = Holders(client, beat_seconds=15)
    holders.beat("dead")
    holders.beat("next")
    take(client, holders, "dead", "t1")
    die(client, "dead")
    assert holders.claim_dead() == [("t1", "dead")]
    # The sweep gave it back and died before saying so; the next worker took it (same tag).
    take(client, holders, "next", "t1")
    assert holders.claim_dead() == []
    assert not client.hexists(RESTORING_KEY, "t1")


def test_a_beat_forgets_what_its_worker_acked(client: redis.Redis) -> None:
    holders = Holders(client, beat_seconds=15)
    take(client, holders, "w", "t1")
    take(client, holders, "w", "t2")
    client.hdel(UNACKED_KEY, "t1")  # acked
    assert holders.beat("w") == 1
    assert client.smembers(Holders.key("w")) == {"t2"}
    assert holders.claim_dead() == []  # alive: nothing to give back
