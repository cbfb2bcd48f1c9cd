"""core.recovery.full: a run that meets a full Redis tells the admins once and waits for room;
past its wait it fails loudly instead of stalling."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import redis

from core.recovery.full import FullRedis, RedisFull


class Api:
    """The Bot API as far as the alert goes: what was sent where."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def call(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        self.sent.append({"method": method, **params})
        return {"message_id": len(self.sent)}


@pytest.fixture
def client(redis_url: str) -> redis.Redis:
    return redis.Redis.from_url(redis_url, decode_responses=True)


@pytest.fixture
def full(client: redis.Redis) -> Iterator[redis.Redis]:
    """Redis at its maxmemory: every write that may grow it refused."""
    client.config_set("maxmemory", 1)
    yield client
    client.config_set("maxmemory", 0)


def test_the_admins_hear_of_a_full_redis_once(full: redis.Redis) -> None:
    api = Api()
    workers = [FullRedis(full, api, [11, 12], sleep=lambda s: None) for _ in range(2)]  # type: ignore[arg-type]
    assert [w.alert_once("order:P-1") for w in workers] == [True, False]
    assert [m["chat_id"] for m in api.sent] == [11, 12]
    assert all("Redis está lleno" in m["text"] for m in api.sent)


def test_a_run_waits_for_room_then_carries_on(full: redis.Redis) -> None:
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 3:
            full.config_set("maxmemory", 0)  # an admin raised it

    FullRedis(full, Api(), [11], sleep=sleep).wait_for_room("order:P-2")  # type: ignore[arg-type]
    assert len(waits) == 3


def test_a_run_that_finds_no_room_fails_loudly(full: redis.Redis) -> None:
    watcher = FullRedis(full, Api(), [], sleep=lambda s: None)  # type: ignore[arg-type]
    with pytest.raises(RedisFull):
        watcher.wait_for_room("order:P-3", timeout=0.05, every=0.01)
