"""Running work when Redis is full: wait for room, tell the admins once, or fail loudly.

Redis runs with `maxmemory` and `noeviction`: at the limit it refuses every write that may
grow it (core.admission refuses new orders whole). Work already running writes too (progress,
once-per-key sends, the next step's message), and a refused write used to end the run with an
error and the order stalled in its step for good. Now a run that meets a full Redis holds its
message (nothing new is written) and waits for room (`wait_for_room`): Redis frees memory as
queues drain and keys expire, or when an admin raises `maxmemory`. The run then starts again
from the top (every step is idempotent). Past `FULL_WAIT` it fails with an error in the log.

The admins hear it once an hour at most, from whichever process met it first (`alert_once`,
a key written even at the limit: the script says `allow-oom`), straight through the Bot API
(the limiter and the once-per-key sends write to Redis too).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable

import redis

from core import texts
from core.recovery.leases import PREFIX
from core.telegram.client import BotApi, BotApiError

log = logging.getLogger(__name__)

ALERTED_KEY = f"{PREFIX}redis_full:alerted"
ROOM_KEY = f"{PREFIX}redis_full:room"
# How long a run waits for room before it fails (well inside the task's soft time limit).
FULL_WAIT = 120.0
# One alert an hour at most while Redis stays full.
ALERT_EVERY_MS = 3600_000

# A Redis 7 script flag: runs even at maxmemory (one tiny key, with a TTL).
_ALERT = """#!lua flags=allow-oom
if redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[1]) then return 1 end
return 0
"""


class RedisFull(RuntimeError):
    """Redis stayed full for longer than a run may wait: the run failed, not stalled."""


class FullRedis:
    """What a process does when Redis refuses its writes for lack of memory."""

    def __init__(
        self,
        client: redis.Redis,
        bot_api: BotApi,
        admin_chat_ids: Iterable[int],
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.redis = client
        self.bot_api = bot_api
        self.admin_chat_ids = tuple(admin_chat_ids)
        self.sleep = sleep
        self._alert = client.register_script(_ALERT)

    def alert_once(self, what: str) -> bool:
        """Tell the admins Redis is full, unless someone did within the hour; True if sent."""
        if not self._alert(keys=[ALERTED_KEY], args=[ALERT_EVERY_MS]):
            return False
        log.error("Redis is full (maxmemory): %s waits for room; admins alerted", what)
        for chat_id in self.admin_chat_ids:
            message = texts.text("es", "recovery.redis_full", what=what, wait=round(FULL_WAIT))
            try:
                self.bot_api.call(
                    "sendMessage", {"chat_id": chat_id, "text": message, "parse_mode": "HTML"}
                )
            except BotApiError as exc:
                log.error("Redis full alert not sent to chat %s: %s", chat_id, exc)
        return True

    def has_room(self) -> bool:
        """Whether Redis takes a write again (a tiny one, expiring at once)."""
        try:
            self.redis.set(ROOM_KEY, "1", px=1000)
        except redis.exceptions.OutOfMemoryError:
            return False
        return True

    def wait_for_room(self, what: str, timeout: float = FULL_WAIT, every: float = 1.0) -> None:
        """Alert (once) and wait until Redis takes writes again; RedisFull after `timeout`."""
        self.alert_once(what)
        deadline = time.monotonic() + timeout
        while not self.has_room():
            if time.monotonic() >= deadline:
                log.error("Redis still full after %.0fs: %s fails", timeout, what)
                raise RedisFull(f"Redis full for over {timeout:.0f}s: {what} failed")
            self.sleep(every)
        log.warning("Redis has room again: %s carries on", what)
