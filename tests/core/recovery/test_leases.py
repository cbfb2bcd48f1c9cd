"""core.recovery.leases: a recovered copy the sweep never got to send (it died in between) is
recovered again within a lease, not after the long wait a queued copy gets."""

from __future__ import annotations

import itertools

import pytest
import redis

from core.recovery.leases import LEASES_KEY, Leases

LEASE_S = 15.0
QUEUED_S = 300.0


@pytest.fixture
def leases(redis_url: str) -> Leases:
    return Leases(redis.Redis.from_url(redis_url, decode_responses=True), LEASE_S, 3)


def expire(leases: Leases, unit: str) -> None:
    """As if the lease's time had run out (the sweep reads Redis's clock)."""
    leases.redis.zadd(LEASES_KEY, {unit: 0}, xx=True)


def due_in(leases: Leases, unit: str) -> float:
    score = leases.redis.zscore(LEASES_KEY, unit)
    assert score is not None
    now_s, now_us = leases.redis.time()
    return (score - (now_s * 1000 + now_us // 1000)) / 1000


def test_a_copy_never_sent_is_recovered_again_within_a_lease(leases: Leases) -> None:
    ids = (f"copy-{n}" for n in itertools.count())
    assert leases.begin("order:P-1", "first", "{}").action == "run"
    expire(leases, "order:P-1")  # its worker died

    [copy] = leases.recover(lambda: next(ids))
    assert (copy.old_id, copy.crashes) == ("first", 1)
    # The sweep died before sending it: the unit is due again within a lease.
    assert 0 < due_in(leases, "order:P-1") <= LEASE_S
    expire(leases, "order:P-1")
    [again] = leases.recover(lambda: next(ids))
    assert again.old_id == copy.new_id and again.crashes == 1  # not a crash: it never ran
    assert leases.begin("order:P-1", copy.new_id, "{}").action == "superseded"


def test_a_sent_copy_has_the_long_wait_to_start(leases: Leases) -> None:
    assert leases.begin("photo:F-1", "first", "{}").action == "run"
    expire(leases, "photo:F-1")
    [copy] = leases.recover(lambda: "copy")
    assert copy.new_id == "copy" and leases.sent("photo:F-1", "copy", QUEUED_S)
    assert LEASE_S < due_in(leases, "photo:F-1") <= QUEUED_S
    assert leases.begin("photo:F-1", "copy", "{}").action == "run"
    assert not leases.sent("photo:F-1", "copy", QUEUED_S)  # running: the renewals rule
