"""The watcher's index in Redis: which unfinished orders are stale, and which run alerts them.

Keys (under `pedidos:`), next to the orders' own `open` and `stale` sets (core.orders.store):
  watcher:run:{run}    list   the order ids one watcher run claimed (its retries resend these)
  watcher:pending      zset   runs that claimed and have not finished, by their latest attempt
  watcher:history      list   the latest finished runs, newest first (JSON)

An unfinished order sits in exactly one of `open` and `stale`; a final one in neither. So
the watcher's cost follows the number of newly stale orders, not of all orders ever made.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from core.orders.model import Order
from core.orders.store import PREFIX, OrderStore

RUN_PREFIX = f"{PREFIX}watcher:run:"
PENDING_RUNS_KEY = f"{PREFIX}watcher:pending"
WATCH_HISTORY_KEY = f"{PREFIX}watcher:history"

# KEYS: open index, stale index, this run's claims, pending runs.
# ARGV: run id, cutoff, limit, now, adopt runs whose latest attempt began before this,
#       claims TTL, run key prefix, order key prefix, alerted field.
# Returns {resumed (0/1), claimed ids, more stale left (0/1)}. A run that already claimed
# (a retry or a re-delivery of the same task) gets its own ids back and claims nothing new.
# Otherwise it first takes over the claims of runs that died before finishing (no attempt
# for longer than any attempt may last), then moves the oldest stale ids from `open` to
# `stale` (claimed ones are never scanned or claimed again) and marks each order alerted,
# in the same step as the claim: an order that completes after it gets the follow-up.
_CLAIM = """
local function chunks(list, size, fn)
  for i = 1, #list, size do fn({unpack(list, i, math.min(i + size - 1, #list))}) end
end
local function more()
  return redis.call('ZCOUNT', KEYS[1], '-inf', ARGV[2]) > 0 and 1 or 0
end
local mine = redis.call('LRANGE', KEYS[3], 0, -1)
if #mine > 0 then
  redis.call('ZADD', KEYS[4], ARGV[4], ARGV[1])
  return {1, mine, more()}
end
local claimed = {}
for _, run in ipairs(redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', ARGV[5])) do
  for _, id in ipairs(redis.call('LRANGE', ARGV[7] .. run, 0, -1)) do
    claimed[#claimed + 1] = id
  end
  redis.call('DEL', ARGV[7] .. run)
  redis.call('ZREM', KEYS[4], run)
end
local found = redis.call(
  'ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[2], 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[3]))
local ids, scored = {}, {}
for i = 1, #found, 2 do
  ids[#ids + 1] = found[i]
  scored[#scored + 1] = found[i + 1]
  scored[#scored + 1] = found[i]
  claimed[#claimed + 1] = found[i]
  local order = ARGV[8] .. found[i]
  if redis.call('EXISTS', order) == 1 then redis.call('HSET', order, ARGV[9], ARGV[4]) end
end
chunks(ids, 500, function(part) redis.call('ZREM', KEYS[1], unpack(part)) end)
chunks(scored, 1000, function(part) redis.call('ZADD', KEYS[2], unpack(part)) end)
if #claimed > 0 then
  chunks(claimed, 500, function(part) redis.call('RPUSH', KEYS[3], unpack(part)) end)
  redis.call('EXPIRE', KEYS[3], ARGV[6])
  redis.call('ZADD', KEYS[4], ARGV[4], ARGV[1])
end
return {0, claimed, more()}
"""

# The order field (Order.extra) a run sets when it claims the order to alert it.
ALERTED_FIELD = "stale_alerted_at"
# A run's claimed ids outlive every retry of the run.
CLAIMS_TTL = 7 * 24 * 3600
WATCH_HISTORY = 50


@dataclass(frozen=True)
class StaleClaim:
    """What one watcher run has to alert: its claimed ids, oldest first."""

    ids: list[str]
    resumed: bool
    more: bool


class StaleIndex:
    """Claims of stale orders for watcher runs, and the runs' history (atomic scripts)."""

    def __init__(self, store: OrderStore) -> None:
        self.store = store
        self._claim = store.redis.register_script(_CLAIM)

    def claim(
        self, run_id: str, cutoff: float, limit: int, now: float, adopt_before: float
    ) -> StaleClaim:
        """Claim for run `run_id` the unalerted orders created at or before `cutoff`.

        Atomic: concurrent runs never claim the same order, and the same run asked again
        (a retry) gets the same ids. Claims of runs whose latest attempt began before
        `adopt_before` and never finished are taken over. Each newly claimed order is
        marked alerted (Order.extra[ALERTED_FIELD]) in the same step.
        """
        resumed, ids, more = self._claim(
            keys=[OrderStore.OPEN_KEY, OrderStore.STALE_KEY, RUN_PREFIX + run_id, PENDING_RUNS_KEY],
            args=[
                run_id,
                cutoff,
                limit,
                now,
                adopt_before,
                CLAIMS_TTL,
                RUN_PREFIX,
                OrderStore.key(""),
                f"x:{ALERTED_FIELD}",
            ],
        )
        return StaleClaim(ids=[str(i) for i in ids], resumed=bool(resumed), more=bool(more))

    def finish_run(self, run_id: str, record: dict[str, str | int | float]) -> None:
        """The run delivered everything: it is no longer pending; remember it in the history."""
        pipe = self.store.redis.pipeline(transaction=True)
        pipe.zrem(PENDING_RUNS_KEY, run_id)
        pipe.lpush(WATCH_HISTORY_KEY, json.dumps({"run": run_id, **record}))
        pipe.ltrim(WATCH_HISTORY_KEY, 0, WATCH_HISTORY - 1)
        pipe.execute()

    def history(self, limit: int = WATCH_HISTORY) -> list[dict[str, str | int | float]]:
        """The latest finished watcher runs, newest first."""
        return [json.loads(raw) for raw in self.store.redis.lrange(WATCH_HISTORY_KEY, 0, limit - 1)]

    def stale_now(self, cutoff: float, limit: int) -> tuple[int, list[Order]]:
        """How many unfinished orders are stale now, alerted or not, and the oldest `limit`."""
        pipe = self.store.redis.pipeline(transaction=True)
        pipe.zrange(OrderStore.STALE_KEY, 0, limit - 1, withscores=True)
        pipe.zcard(OrderStore.STALE_KEY)
        pipe.zrangebyscore(OrderStore.OPEN_KEY, "-inf", cutoff, start=0, num=limit, withscores=True)
        pipe.zcount(OrderStore.OPEN_KEY, "-inf", cutoff)
        alerted, alerted_count, unalerted, unalerted_count = pipe.execute()
        oldest = sorted([*alerted, *unalerted], key=lambda pair: pair[1])[:limit]
        return int(alerted_count) + int(unalerted_count), self.store.get_many(
            [i for i, _ in oldest]
        )
