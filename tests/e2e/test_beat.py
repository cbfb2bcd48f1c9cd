"""Two `celery beat` processes (an overlapping redeploy) give one schedule: RedBeat's lock in
Redis lets one send while the other waits, and hands over when the first one stops. A beat
is healthy while it ticks (or, standing by, asks for the lock); a daily job missed while beat
was down waits for its time instead of running at the restart."""

from __future__ import annotations

import itertools
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis
from celery import Celery
from celery.schedules import crontab
from redbeat import RedBeatSchedulerEntry

from sandbox import RunningSandbox
from tests.support.processes import ROOT, Process, wait_until
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
    # Generous: a starved beat sends late, never more often (checked just below).
    wait_until(lambda: sent(first) >= first_at_start + 5, 45, "five more runs")
    elapsed = time.monotonic() - start

    # Then only the first sends, one run per interval, and Redis holds exactly what was sent
    assert sent(second) == 0 and "beat: Acquired lock" not in second.log()
    assert sent(first) - first_at_start <= elapsed + 2
    assert queued(system) == sent(first)

    # When the first beat stops (the old container goes away), the second takes over
    first.stop()
    assert "beat: Releasing lock" in first.log()
    wait_until(lambda: sent(second) >= 3, 45, "the second beat to take over")
    assert "beat: Acquired lock" in second.log()
    assert queued(system) == sent(first) + sent(second)
    # ...and across the handover no run was sent twice: one per interval, never two at once.
    times = send_times(first, second)
    gaps = [(later - earlier).total_seconds() for earlier, later in itertools.pairwise(times)]
    assert min(gaps) > 0.5, gaps


def stop_beats(system: System) -> None:
    beats = [p for p in system.processes if p.name.startswith("beat") and p.running]
    for process in beats:
        process.stop()
    wait_until(lambda: not any(p.running for p in beats), 15, "the beats to stop")


def beat_health(system: System, heartbeat_file: Path) -> bool:
    """The container's health check of the beat whose HEARTBEAT_FILE is `heartbeat_file`."""
    env = {**system.env, "HEARTBEAT_FILE": str(heartbeat_file)}
    check = subprocess.run(
        [sys.executable, "-m", "tasks.beat"], env=env, cwd=ROOT, capture_output=True, timeout=60
    )
    return check.returncode == 0


def test_beats_health_is_its_last_tick_not_whether_redis_answers(system: System) -> None:
    stop_beats(system)
    active_file = system.tmp / "active" / "bot.heartbeat"
    standby_file = system.tmp / "standby" / "bot.heartbeat"
    assert not beat_health(system, active_file)  # never ran: no heartbeat

    active = system.start_beat(HEARTBEAT_FILE=str(active_file))
    wait_until(lambda: sent(active) >= 1, 30, "the beat to send")
    standby = system.start_beat(HEARTBEAT_FILE=str(standby_file))
    wait_until(lambda: "beat: Acquiring lock" in standby.log(), 30, "the standby waiting")
    # Both alive: one ticks, the other keeps asking for the lock.
    wait_until(lambda: beat_health(system, active_file), 30, "the active beat healthy")
    wait_until(lambda: beat_health(system, standby_file), 30, "the standby beat healthy")

    # A beat that stops ticking (frozen) is unhealthy, though Redis answers every ping.
    assert active.popen is not None
    active.popen.send_signal(signal.SIGSTOP)
    try:
        wait_until(lambda: not beat_health(system, active_file), 30, "the frozen beat unhealthy")
        assert redis.Redis.from_url(system.redis.url).ping()
    finally:
        active.popen.send_signal(signal.SIGCONT)
    wait_until(lambda: beat_health(system, active_file), 30, "the thawed beat healthy again")
    stop_beats(system)


def test_a_daily_job_missed_while_beat_was_down_runs_at_its_time_not_at_the_restart(
    system: System,
) -> None:
    stop_beats(system)
    # The daily summary is due every day two hours ago; beat last sent it two days ago, and
    # was down since (so it missed yesterday's run and today's).
    now = datetime.now(UTC)
    daily_at = now - timedelta(hours=2)
    app = Celery("beat-test")
    app.conf.update(
        timezone="UTC",
        redbeat_redis_url=system.redis.url,
        redbeat_key_prefix="pedidos:redbeat:",
    )
    entry = RedBeatSchedulerEntry(
        "resumen-diario",
        "resumen_diario",
        crontab(minute=daily_at.minute, hour=daily_at.hour),
        options={"expires": 3600},
        app=app,
    )
    entry.save()
    entry.reschedule(last_run_at=daily_at - timedelta(days=2))

    beat = system.start_beat(DAILY_REPORT_AT=f"{daily_at:%H:%M}")
    wait_until(lambda: "beat: Acquired lock" in beat.log(), 30, "the beat to take the lock")
    start = sent(beat)
    wait_until(lambda: sent(beat) >= start + 3, 30, "three more watcher runs")

    # Then the summary waits for its time (tomorrow), and the log says the run was skipped.
    assert "Sending due task resumen-diario" not in beat.log()
    assert "resumen-diario missed its run" in beat.log() and "skipped, next in" in beat.log()
    stop_beats(system)
