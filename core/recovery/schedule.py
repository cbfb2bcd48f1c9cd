"""Waits kept in Redis instead of broker countdowns: entries the sweep sends when due.

A countdown is held unacked by a worker, lost with it until the visibility timeout, and run
twice when longer than it; an entry here is in Redis until the sweep has sent it.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import redis

from core.recovery.leases import NOW_LUA, PREFIX, SWEEP_BATCH

SCHEDULE_KEY = f"{PREFIX}schedule"
SCHEDULE_ITEMS_KEY = f"{PREFIX}schedule:items"
# A scheduled entry taken by a sweep comes back if the sweep dies before sending it.
SCHEDULE_CLAIM_MS = 30_000

# KEYS: schedule, items. ARGV: entry id, delay ms, payload.
_SCHEDULE = (
    NOW_LUA
    + """
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
return now + tonumber(ARGV[2])
"""
)

# KEYS: schedule, items. ARGV: limit, claim ms. The due entries, each pushed back by the
# claim (it comes back if the sweep dies before sending it); {id, payload} pairs.
_TAKE_DUE = (
    NOW_LUA
    + """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[1]))
local out = {}
for _, id in ipairs(due) do
  local payload = redis.call('HGET', KEYS[2], id)
  if payload then
    redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), id)
    out[#out + 1] = {id, payload}
  else
    redis.call('ZREM', KEYS[1], id)
  end
end
return out
"""
)


@dataclass(frozen=True)
class Due:
    """A scheduled payload whose time has come."""

    id: str
    payload: str


class Schedule:
    """Payloads to send at a later time, kept in Redis instead of a broker countdown."""

    def __init__(self, client: redis.Redis) -> None:
        self.redis = client
        self._schedule = client.register_script(_SCHEDULE)
        self._take_due = client.register_script(_TAKE_DUE)

    def add(self, payload: str, delay: float, entry_id: str | None = None) -> str:
        """Send `payload` in `delay` seconds (by Redis's clock); the entry's id."""
        entry = entry_id or secrets.token_hex(8)
        self._schedule(
            keys=[SCHEDULE_KEY, SCHEDULE_ITEMS_KEY],
            args=[entry, max(0, round(delay * 1000)), payload],
        )
        return entry

    def take_due(self, limit: int = SWEEP_BATCH) -> list[Due]:
        """Due entries, claimed for `SCHEDULE_CLAIM_MS`; `done` each once it is sent."""
        rows = self._take_due(
            keys=[SCHEDULE_KEY, SCHEDULE_ITEMS_KEY], args=[limit, SCHEDULE_CLAIM_MS]
        )
        return [Due(str(i), str(p)) for i, p in rows]

    def done(self, entry_id: str) -> None:
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.zrem(SCHEDULE_KEY, entry_id)
            pipe.hdel(SCHEDULE_ITEMS_KEY, entry_id)
            pipe.execute()

    def pending(self) -> list[tuple[str, float]]:
        """Every entry and when it is due (epoch seconds), soonest first."""
        entries: list[Any] = list(self.redis.zrange(SCHEDULE_KEY, 0, -1, withscores=True))
        return [(str(entry), float(score) / 1000) for entry, score in entries]
