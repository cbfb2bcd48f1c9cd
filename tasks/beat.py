"""RedBeat's scheduler, carrying on through a Redis failover, and beat's health check.

Celery's beat loop lets any error of `tick()` end the process. RedBeat asks Redis at every
tick (it extends its lock, reads the due entries), so a failover would stop the only beat
that sends. Here a tick that cannot reach Redis is tried again a second later, and a lock
lost meanwhile (its key expired, or the promoted replica never had the last extension) is
taken again the way beat takes it at start: wait until it is free.

Health: a beat is alive when it ticks, not when Redis answers (a beat stuck in a tick, or
whose ticks fail, still finds Redis up). Each successful tick, and each ask for the lock of
a standby beat, writes the time to a heartbeat file beside HEARTBEAT_FILE;
`python -m tasks.beat` (the container's health check) passes while it is fresh.

After beat was down, RedBeat would send every overdue job at once at the restart. Overdue
interval jobs (the watcher, retention) do run once then; a daily job whose time passed more
than `celeryconfig.DAILY_LATEST` ago is skipped until its next time
(`beat_cron_starting_deadline`). Each is said in the log, once per start.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import redis
from celery.schedules import crontab
from celery.signals import beat_init
from redbeat.schedulers import (
    LUA_EXTEND_TO_SCRIPT,
    RedBeatScheduler,
    acquire_distributed_beat_lock,
    get_redis,
)
from redis.exceptions import LockError

from celeryconfig import beat_loop
from core.settings import Settings, get_settings

log = logging.getLogger("celery.beat")

RETRY_SECONDS = 1.0
# A heartbeat older than this many beat loops means beat is stuck or gone.
STALE_LOOPS = 3


def heartbeat_path(settings: Settings) -> Path:
    """Beat's heartbeat file, beside the bot's (HEARTBEAT_FILE)."""
    return Path(settings.heartbeat_file).with_name("pedidos-beat.heartbeat")


def beat_now(path: Path) -> None:
    """Write the time now, atomically (a check never reads half a number)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(f"{time.time():.3f}\n")
    tmp.replace(path)


class FailoverScheduler(RedBeatScheduler):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.heartbeat = heartbeat_path(get_settings())
        self._told: set[str] = set()

    def tick(self, min: Any = min, **kwargs: Any) -> float:
        try:
            wait = float(super().tick(min=min, **kwargs))
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            # MasterNotFoundError is a ConnectionError: the Sentinels have no master yet.
            log.warning("beat: Redis unavailable (%s); trying again in %.0fs", exc, RETRY_SECONDS)
            return RETRY_SECONDS
        except LockError as exc:
            log.warning("beat: lost the lock (%s); waiting to take it again", exc)
            self._take_lock()
            return 0.0
        beat_now(self.heartbeat)
        return wait

    def maybe_due(self, entry: Any, **kwargs: Any) -> Any:
        if entry.name not in self._told:
            self._told.add(entry.name)
            say_if_missed(entry, self.max_interval)
        return super().maybe_due(entry, **kwargs)

    def _take_lock(self) -> None:
        """Block until this beat holds the lock (a standby beats meanwhile: it is alive)."""
        self.lock = None
        log.info("beat: Acquiring lock...")
        while True:
            try:
                client = get_redis(self.app)
                lock = client.lock(
                    self.lock_key, timeout=self.lock_timeout, sleep=self.max_interval
                )
                # RedBeat's extend script sets the lock's timeout rather than adding to it.
                lock.lua_extend = client.register_script(LUA_EXTEND_TO_SCRIPT)
                if lock.acquire(blocking=False):
                    break
                beat_now(self.heartbeat)
                time.sleep(self.max_interval)
            except (redis.ConnectionError, redis.TimeoutError) as exc:
                log.warning("beat: Redis unavailable (%s) while taking the lock", exc)
                time.sleep(RETRY_SECONDS)
        log.info("beat: Acquired lock")
        self.lock = lock
        beat_now(self.heartbeat)


def say_if_missed(entry: Any, loop: float) -> None:
    """Log what happens to a run the entry missed while beat was down (first look only)."""
    last: datetime | None = entry.last_run_at
    if last is None:
        return
    late = -entry.schedule.remaining_estimate(last).total_seconds()
    if late <= loop:
        return
    due, next_in = entry.is_due()
    if due:
        log.warning(
            "beat: %s was due %.0fs ago, while beat was down: runs once now", entry.name, late
        )
    elif isinstance(entry.schedule, crontab):
        log.warning(
            "beat: %s missed its run %.0fs ago, while beat was down: skipped, next in %.0fs",
            entry.name,
            late,
            next_in,
        )


# RedBeat takes its lock at start with one blocking call, in which a standby never beats:
# the same wait as after a lost lock instead.
beat_init.disconnect(acquire_distributed_beat_lock)


@beat_init.connect(weak=False)
def _take_lock_at_start(sender: Any = None, **_: Any) -> None:
    scheduler = sender.scheduler
    if isinstance(scheduler, FailoverScheduler) and scheduler.lock_key:
        scheduler._take_lock()
    elif scheduler.lock_key:
        acquire_distributed_beat_lock(sender)


def check(settings: Settings, now: float | None = None) -> tuple[bool, str]:
    """Whether beat's heartbeat is fresh: its last tick (or standby's ask) recent enough."""
    path = heartbeat_path(settings)
    try:
        last = float(path.read_text().strip() or 0)
    except (OSError, ValueError):
        return False, f"no heartbeat at {path}"
    age = (time.time() if now is None else now) - last
    limit = STALE_LOOPS * beat_loop(settings) + RETRY_SECONDS
    if age > limit:
        return False, f"last tick {age:.0f}s ago (limit {limit:.0f}s)"
    return True, f"last tick {age:.1f}s ago"


def main() -> None:
    healthy, detail = check(get_settings())
    print(json.dumps({"healthy": healthy, "detail": detail}, ensure_ascii=False))
    sys.exit(0 if healthy else 1)


if __name__ == "__main__":
    main()
