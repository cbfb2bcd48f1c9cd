"""Leases on units of work: held while a task runs, renewed by its process, recovered by
the sweep when they expire (the holder died). Crash counts ride on them."""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass

import redis

log = logging.getLogger(__name__)

PREFIX = "pedidos:recovery:"
LEASES_KEY = f"{PREFIX}leases"
# How long a superseded task id is remembered: past the broker's own redelivery of it.
SUPERSEDED_TTL_S = 3 * 24 * 3600
# Units or entries one sweep handles at most (the next sweep takes the rest).
SWEEP_BATCH = 200

# Redis 7's script flag: the script writes even at maxmemory. Lease bookkeeping is a few tiny
# keys per running task; a run that meets a full Redis must still hold its lease while it waits
# for room (core.recovery.full), and the sweep must not take it, or a worker, for dead.
ALLOW_OOM = "#!lua flags=allow-oom\n"

# Redis's clock in ms as `now`, so every machine agrees.
NOW_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
"""

# KEYS: leases, the unit's lease hash, this task id's superseded marker.
# ARGV: unit, task id, payload, lease ms, max crashes, holder.
# A run whose lease shows an earlier start that never finished (the same message given back,
# or a lease nobody renewed) counts a crash. Returns {verdict, crashes}.
_BEGIN = (
    ALLOW_OOM
    + NOW_LUA
    + """
if redis.call('EXISTS', KEYS[3]) == 1 then return {'superseded', 0} end
local h = redis.call('HMGET', KEYS[2], 'task_id', 'running', 'crashes')
local crashes = tonumber(h[3] or '0')
if h[2] == '1' then
  local expiry = tonumber(redis.call('ZSCORE', KEYS[1], ARGV[1]) or '0')
  if h[1] == ARGV[2] or expiry <= now then crashes = crashes + 1 end
end
if crashes >= tonumber(ARGV[5]) then
  redis.call('ZREM', KEYS[1], ARGV[1])
  redis.call('DEL', KEYS[2])
  return {'give_up', crashes}
end
redis.call('HSET', KEYS[2], 'task_id', ARGV[2], 'payload', ARGV[3], 'running', '1',
  'crashes', crashes, 'holder', ARGV[6])
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[4]), ARGV[1])
return {'run', crashes}
"""
)

# KEYS: leases, then one lease hash per unit. ARGV: lease ms, then unit, task id pairs.
# Pushes back the expiry of the leases this process still holds.
_RENEW = (
    ALLOW_OOM
    + NOW_LUA
    + """
local n = 0
for i = 2, #KEYS do
  local unit, task = ARGV[2 * i - 2], ARGV[2 * i - 1]
  if redis.call('HGET', KEYS[i], 'task_id') == task then
    redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[1]), unit)
    n = n + 1
  end
end
return n
"""
)

# KEYS: leases, the unit's lease hash. ARGV: unit, task id, ms. The recovered copy `task id`
# is queued: its lease waits that long for it to start (a queue may be long).
_SENT = (
    ALLOW_OOM
    + NOW_LUA
    + """
local h = redis.call('HMGET', KEYS[2], 'task_id', 'running')
if h[1] ~= ARGV[2] or h[2] == '1' then return 0 end
redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[3]), ARGV[1])
return 1
"""
)

# KEYS: leases, the unit's lease hash. ARGV: unit, task id. Ends the lease if still ours.
_END = (
    ALLOW_OOM
    + """
if redis.call('HGET', KEYS[2], 'task_id') ~= ARGV[2] then return 0 end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('DEL', KEYS[2])
return 1
"""
)

# KEYS: leases. ARGV: lease hash prefix, superseded prefix, superseded ttl s, lease ms,
# then fresh task ids (one per unit this sweep may recover).
# Each expired lease is handed to a new task id: a crash counted if it was running, the old
# id superseded, the lease kept (not running) for one lease: a sweep that dies before sending
# the copy leaves it to expire again soon (`sent` pushes it back once the copy is queued).
# Returns {unit, old id, new id, payload, crashes} per recovered unit.
_RECOVER = (
    ALLOW_OOM
    + NOW_LUA
    + """
local limit = #ARGV - 4
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, limit)
local out = {}
for i, unit in ipairs(expired) do
  local key = ARGV[1] .. unit
  local h = redis.call('HMGET', key, 'task_id', 'payload', 'running', 'crashes')
  if not h[2] then
    redis.call('ZREM', KEYS[1], unit)
  else
    local crashes = tonumber(h[4] or '0')
    if h[3] == '1' then crashes = crashes + 1 end
    local fresh = ARGV[4 + i]
    redis.call('HSET', key, 'task_id', fresh, 'running', '0', 'crashes', crashes)
    redis.call('ZADD', KEYS[1], now + tonumber(ARGV[4]), unit)
    if h[1] then redis.call('SET', ARGV[2] .. h[1], '1', 'EX', ARGV[3]) end
    out[#out + 1] = {unit, h[1] or '', fresh, h[2], crashes}
  end
end
return out
"""
)


@dataclass(frozen=True)
class Verdict:
    """What a starting run should do: `run`, `give_up` (too many crashes) or `superseded`."""

    action: str
    crashes: int


@dataclass(frozen=True)
class Recovered:
    """A unit whose holder died: its payload goes out again under `new_id`."""

    unit: str
    old_id: str
    new_id: str
    payload: str
    crashes: int


def holder_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Leases:
    """Leases on units of work, their crash counts, and the sweep that recovers them."""

    def __init__(self, client: redis.Redis, lease_seconds: float, max_crashes: int) -> None:
        self.redis = client
        self.lease_ms = max(1, round(lease_seconds * 1000))
        self.max_crashes = max_crashes
        self._begin = client.register_script(_BEGIN)
        self._renew = client.register_script(_RENEW)
        self._end = client.register_script(_END)
        self._recover = client.register_script(_RECOVER)
        self._sent = client.register_script(_SENT)

    @staticmethod
    def key(unit: str) -> str:
        return f"{PREFIX}lease:{unit}"

    @staticmethod
    def superseded_key(task_id: str) -> str:
        return f"{PREFIX}superseded:{task_id}"

    def begin(self, unit: str, task_id: str, payload: str) -> Verdict:
        """Take the lease on `unit` for this run of `task_id` (its payload re-sends it)."""
        action, crashes = self._begin(
            keys=[LEASES_KEY, self.key(unit), self.superseded_key(task_id)],
            args=[unit, task_id, payload, self.lease_ms, self.max_crashes, holder_name()],
        )
        return Verdict(str(action), int(crashes))

    def renew(self, held: list[tuple[str, str]]) -> int:
        """Push back the leases (unit, task id) still held by these runs; how many were."""
        if not held:
            return 0
        keys = [LEASES_KEY, *(self.key(unit) for unit, _ in held)]
        args: list[str | int] = [self.lease_ms]
        for unit, task_id in held:
            args += [unit, task_id]
        return int(self._renew(keys=keys, args=args))

    def end(self, unit: str, task_id: str) -> bool:
        """The run finished (done, failed for good, or handed to the schedule)."""
        return bool(self._end(keys=[LEASES_KEY, self.key(unit)], args=[unit, task_id]))

    def recover(self, new_id: Callable[[], str]) -> list[Recovered]:
        """Hand every expired lease to a fresh task id; the units to send again (`sent` each
        once queued, or its lease expires again within a lease)."""
        fresh = [new_id() for _ in range(SWEEP_BATCH)]
        rows = self._recover(
            keys=[LEASES_KEY],
            args=[self.key(""), self.superseded_key(""), SUPERSEDED_TTL_S, self.lease_ms, *fresh],
        )
        return [Recovered(str(u), str(o), str(n), str(p), int(c)) for u, o, n, p, c in rows]

    def sent(self, unit: str, task_id: str, queued_seconds: float) -> bool:
        """The recovered copy `task_id` is queued: it has `queued_seconds` to start before it
        is sent once more (a backlog costs a duplicate that stands down, not a loss)."""
        ms = max(1, round(queued_seconds * 1000))
        return bool(self._sent(keys=[LEASES_KEY, self.key(unit)], args=[unit, task_id, ms]))

    def held(self) -> int:
        return int(self.redis.zcard(LEASES_KEY))


class LeaseKeeper:
    """Renews the leases one process holds, from a daemon thread, while its runs go on.

    When the process dies the renewals stop with it, and the leases expire.
    """

    def __init__(self, leases: Leases, every: float) -> None:
        self.leases = leases
        self.every = every
        self._held: dict[str, str] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid = 0

    def hold(self, unit: str, task_id: str) -> None:
        with self._lock:
            self._held[unit] = task_id
        # A forked child does not inherit its parent's thread: start one per process.
        if self._thread is None or self._pid != os.getpid() or not self._thread.is_alive():
            self._pid = os.getpid()
            self._thread = threading.Thread(target=self._loop, name="lease-keeper", daemon=True)
            self._thread.start()

    def drop(self, unit: str) -> None:
        with self._lock:
            self._held.pop(unit, None)

    def _loop(self) -> None:
        event = threading.Event()
        while not event.wait(self.every):
            with self._lock:
                held = list(self._held.items())
            try:
                self.leases.renew(held)
            except redis.RedisError as exc:  # Redis away for a moment: try again next time
                log.warning("lease renewal failed: %s", exc)
