"""Two `celery beat` processes (an overlapping redeploy) give one schedule: RedBeat's lock in
Redis lets one send while the other waits, and hands over when the first one stops."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from datetime import datetime

import pytest
import redis

from sandbox import RunningSandbox
from tests.support.processes import Process, wait_until
from tests.support.system import System, running_system

SENT = "Sending due task revisar-pedidos-atrasados"


@pytest.fixture(scope="module")
def system(
    tmp_path_factory: pytest.TempPathFactory, sandbox_server: RunningSandbox
) -> Iterator[System]:
    """Redis only, and a watcher due every second; no worker, so what beat sends stays queued."""
    tmp = tmp_path_factory.mktemp("beat")
    with running_system(
        tmp, sandbox_server.url, sandbox_server.token, WATCH_INTERVAL="1s"
    ) as running:
        yield running


def sent(beat: Process) -> int:
    return beat.log().count(SENT)


def send_times(*beats: Process) -> list[datetime]:
    """When each run was sent, by whichever beat, in order."""
    lines = [line for beat in beats for line in beat.log().splitlines() if SENT in line]
    return sorted(datetime.fromisoformat(line.split()[0].removeprefix("ts=")) for line in lines)


def queued(system: System) -> int:
    """Watcher messages waiting in Redis (kombu keeps one list per queue and priority)."""
    client = redis.Redis.from_url(system.redis.url)
    return sum(int(client.llen(key)) for key in client.scan_iter(match=b"watcher*"))


def test_two_beats_send_each_run_once_and_hand_over_on_redeploy(system: System) -> None:
    # Given one beat that holds the lock and sends the watcher every second
    first = system.start_beat()
    wait_until(lambda: sent(first) >= 1, 30, "the first beat to send")
    assert "beat: Acquired lock" in first.log()

    # When a second beat starts (an overlapping redeploy)
    second = system.start_beat()
    wait_until(lambda: "beat: Acquiring lock" in second.log(), 30, "the second beat waiting")
    start, first_at_start = time.monotonic(), sent(first)
    wait_until(lambda: sent(first) >= first_at_start + 5, 15, "five more runs")
    elapsed = time.monotonic() - start

    # Then only the first sends, one run per interval, and Redis holds exactly what was sent
    assert sent(second) == 0 and "beat: Acquired lock" not in second.log()
    assert sent(first) - first_at_start <= elapsed + 2
    assert queued(system) == sent(first)

    # When the first beat stops (the old container goes away), the second takes over
    first.stop()
    assert "beat: Releasing lock" in first.log()
    wait_until(lambda: sent(second) >= 3, 15, "the second beat to take over")
    assert "beat: Acquired lock" in second.log()
    assert queued(system) == sent(first) + sent(second)
    # ...and across the handover no run was sent twice: one per interval, never two at once.
    times = send_times(first, second)
    gaps = [(later - earlier).total_seconds() for earlier, later in itertools.pairwise(times)]
    assert min(gaps) > 0.5, gaps
