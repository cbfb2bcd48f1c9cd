"""RedBeat's scheduler, carrying on through a Redis failover instead of exiting.

Celery's beat loop lets any error of `tick()` end the process. RedBeat asks Redis at every
tick (it extends its lock, reads the due entries), so a failover would stop the only beat
that sends. Here a tick that cannot reach Redis is tried again a second later, and a lock
lost meanwhile (its key expired, or the promoted replica never had the last extension) is
taken again the way beat takes it at start: wait until it is free.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import redis
from redbeat.schedulers import LUA_EXTEND_TO_SCRIPT, RedBeatScheduler, get_redis
from redis.exceptions import LockError

log = logging.getLogger("celery.beat")

RETRY_SECONDS = 1.0


class FailoverScheduler(RedBeatScheduler):
    def tick(self, min: Any = min, **kwargs: Any) -> float:
        try:
            return float(super().tick(min=min, **kwargs))
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            # MasterNotFoundError is a ConnectionError: the Sentinels have no master yet.
            log.warning("beat: Redis unavailable (%s); trying again in %.0fs", exc, RETRY_SECONDS)
            return RETRY_SECONDS
        except LockError as exc:
            log.warning("beat: lost the lock (%s); waiting to take it again", exc)
            self._take_lock()
            return 0.0

    def _take_lock(self) -> None:
        """Block until this beat holds the lock again (as `beat: Acquiring lock...` does)."""
        self.lock = None
        while True:
            try:
                client = get_redis(self.app)
                lock = client.lock(
                    self.lock_key, timeout=self.lock_timeout, sleep=self.max_interval
                )
                # RedBeat's extend script sets the lock's timeout rather than adding to it.
                lock.lua_extend = client.register_script(LUA_EXTEND_TO_SCRIPT)
                lock.acquire()
            except (redis.ConnectionError, redis.TimeoutError) as exc:
                log.warning("beat: Redis unavailable (%s) while taking the lock", exc)
                time.sleep(RETRY_SECONDS)
                continue
            log.info("beat: Acquired lock")
            self.lock = lock
            return
