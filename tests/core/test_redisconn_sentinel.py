"""Our Redis clients on Sentinel: a SIGKILLed master is replaced, and a client made before
the failover carries on against the promoted replica — its Lua scripts loaded again there,
the orders, the flood-limit buckets and the delivery keys written before still in place.

Real redis-servers: a master, one replica and three Sentinels on loopback, with the test's
Sentinel timing (tests/support/sentinel.py); the clients use the product's defaults."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from core import redisconn
from core.recovery.starts import KEY, PendingStarts
from core.settings import Settings
from core.telegram.rate_limiter import Limits, RateLimiter, cooldown_key
from tests.support.sentinel import ReplicatedRedis


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[ReplicatedRedis]:
    with ReplicatedRedis(tmp_path) as running:
        yield running


def test_clients_find_the_promoted_replica_with_scripts_and_keys(cluster: ReplicatedRedis) -> None:
    settings = Settings.from_env(cluster.env())
    client = redisconn.connect(settings)
    fence = redisconn.ReplicaFence.from_settings(client, settings)
    starts = PendingStarts(client)
    limiter = RateLimiter(client, Limits(chat_per_second=1.0, chat_burst=1))

    # Given a unit waiting to be queued, a chat held by a 429 for a minute, a message recorded
    # as sent, all fenced
    starts.add("photo", "F-AAAAAA")
    assert limiter.try_acquire(9) == 0
    limiter.cool_down(7, 60)
    client.set("pedidos:sent:order:demo:completed", "42")
    seen = fence()
    assert seen.replicas == 1
    old_master = cluster.current_master_port()

    # When the master is SIGKILLed
    cluster.kill_master()
    killed_at = time.monotonic()

    # Then the same client reaches the promoted replica: a script call (NOSCRIPT there, so
    # loaded again) goes through as soon as the Sentinels name it, with no new client
    assert starts.take("photo", "F-AAAAAA", "bot-1")
    starts.add("photo", "F-BBBBBB")
    carried_on = time.monotonic() - killed_at
    assert carried_on < settings.redis_failover_timeout
    assert cluster.current_master_port() == cluster.replica.port != old_master
    # ...what was written before the kill is all there
    assert client.zscore(KEY, "photo:F-AAAAAA") is not None
    assert client.zscore(KEY, "photo:F-BBBBBB") is not None
    assert client.get("pedidos:sent:order:demo:completed") == "42"
    # ...and the limits survived: the held chat waits out its minute, another chat sends
    assert client.exists(cooldown_key(7))
    assert limiter.try_acquire(7) > 50
    assert limiter.try_acquire(10) == 0
    # ...the fence now answers at once, seeing no replica to wait for (and says whose master)
    started = time.monotonic()
    after = fence()
    after = fence()
    assert after.replicas == 0 and after.master_id != seen.master_id
    assert time.monotonic() - started < 0.5 + 0.5  # at most one WAIT timeout, then none


def test_the_async_client_carries_on_too(cluster: ReplicatedRedis) -> None:
    settings = Settings.from_env(cluster.env())

    async def scenario() -> str:
        client = redisconn.connect_async(settings, decode_responses=True)
        script = client.register_script("return redis.call('INCR', KEYS[1])")
        assert await script(keys=["pedidos:async"]) == 1
        await asyncio.to_thread(cluster.kill_master)
        assert await script(keys=["pedidos:async"]) >= 1  # loaded again on the new master
        answer = str(await client.get("pedidos:async"))
        await client.aclose()
        return answer

    assert asyncio.run(scenario()) in ("1", "2")
    assert cluster.current_master_port() == cluster.replica.port
