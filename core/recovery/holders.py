"""Which worker holds which broker message, so a dead worker's messages go back at once.

A worker takes messages from Redis ahead of running them (prefetch) and keeps them, unacked, in
its memory. Redis itself gives an unacked message back only after VISIBILITY_TIMEOUT (1 h), and
a lease (`leases`) exists only once a run has started: a message taken and not started is in no
lease. So each worker notes the delivery tag of every message it takes (`took`, before the
message can run) in its own set, and beats every few seconds from its main process. A worker
whose beat is older than the lease (its machine died, or it was SIGKILLed) is dead: the sweep
claims its set (`claim_dead`) and the tasks side puts each of those messages, still unacked,
back at the head of its queue, as the broker would an hour later (`restored` once done).

A message given back is the same message (same task id): one that was running meets its own
lease (an expired one counts a crash, a live one means another copy runs: it stands down), one
that never started runs as if just delivered. Tags of messages a live worker acked leave its
set at its next beat. Times are Redis's clock (ms).
"""

from __future__ import annotations

import secrets

import redis

from core.recovery.leases import ALLOW_OOM, NOW_LUA, PREFIX, SWEEP_BATCH, holder_name

WORKERS_KEY = f"{PREFIX}workers"
RESTORING_KEY = f"{PREFIX}restoring"
# The broker's hash of unacked messages (kombu's Redis transport, `unacked_key`).
UNACKED_KEY = "unacked"

# KEYS: workers, this worker's set, unacked. ARGV: worker. The beat: alive now; the tags of
# messages acked since (gone from unacked) leave the set. Returns how many it still holds.
_BEAT = (
    ALLOW_OOM
    + NOW_LUA
    + """
redis.call('ZADD', KEYS[1], now, ARGV[1])
local held = 0
for _, tag in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  if redis.call('HEXISTS', KEYS[3], tag) == 1 then
    held = held + 1
  else
    redis.call('SREM', KEYS[2], tag)
  end
end
return held
"""
)

# KEYS: workers, restoring, unacked. ARGV: beat ms, set prefix, limit. Claims the sets of the
# workers not seen for `beat ms` (each tag moves to `restoring`, with its dead worker), then
# returns {tag, worker} for every claimed tag still unacked and held by no live worker: a
# claim a dead sweep left is tried again, a tag gone from unacked dropped.
_CLAIM_DEAD = (
    ALLOW_OOM
    + NOW_LUA
    + """
local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[1]))
for _, worker in ipairs(dead) do
  local set = ARGV[2] .. worker
  for _, tag in ipairs(redis.call('SMEMBERS', set)) do
    redis.call('HSET', KEYS[2], tag, worker)
  end
  redis.call('DEL', set)
  redis.call('ZREM', KEYS[1], worker)
end
local live = redis.call('ZRANGE', KEYS[1], 0, -1)
local out = {}
for _, tag in ipairs(redis.call('HKEYS', KEYS[2])) do
  local held = redis.call('HEXISTS', KEYS[3], tag) == 1
  for _, worker in ipairs(live) do
    if held and redis.call('SISMEMBER', ARGV[2] .. worker, tag) == 1 then held = false end
  end
  if not held then
    redis.call('HDEL', KEYS[2], tag)
  elseif #out < tonumber(ARGV[3]) then
    out[#out + 1] = {tag, redis.call('HGET', KEYS[2], tag)}
  end
end
return out
"""
)


# KEYS: the worker's set. ARGV: tag. Noted even at maxmemory (a tag is a few bytes).
_TOOK = ALLOW_OOM + "return redis.call('SADD', KEYS[1], ARGV[1])"


def worker_name() -> str:
    """A name for one worker's run (a restarted worker with the same pid is another one)."""
    return f"{holder_name()}:{secrets.token_hex(3)}"


class Holders:
    """Delivery tags each worker holds, its beats, and the claim of a dead worker's tags."""

    def __init__(
        self, client: redis.Redis, beat_seconds: float, unacked_key: str = UNACKED_KEY
    ) -> None:
        self.redis = client
        self.beat_ms = max(1, round(beat_seconds * 1000))
        self.unacked_key = unacked_key
        self._beat = client.register_script(_BEAT)
        self._claim_dead = client.register_script(_CLAIM_DEAD)
        self._took = client.register_script(_TOOK)

    @staticmethod
    def key(worker: str) -> str:
        return f"{PREFIX}held:{worker}"

    def took(self, worker: str, tag: str) -> None:
        """`worker` took the message `tag` from the broker (before it may start)."""
        self._took(keys=[self.key(worker)], args=[tag])

    def beat(self, worker: str) -> int:
        """`worker` is alive; how many of its messages are still unacked."""
        keys = [WORKERS_KEY, self.key(worker), self.unacked_key]
        return int(self._beat(keys=keys, args=[worker]))

    def leave(self, worker: str) -> None:
        """A worker that stopped cleanly (its broker connection gave its messages back)."""
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.zrem(WORKERS_KEY, worker)
            pipe.delete(self.key(worker))
            pipe.execute()

    def claim_dead(self, limit: int = SWEEP_BATCH) -> list[tuple[str, str]]:
        """(tag, dead worker) of the unacked messages whose worker died: to give back, then
        `restored` each."""
        rows = self._claim_dead(
            keys=[WORKERS_KEY, RESTORING_KEY, self.unacked_key],
            args=[self.beat_ms, self.key(""), limit],
        )
        return [(str(tag), str(worker)) for tag, worker in rows]

    def restored(self, tag: str) -> None:
        self.redis.hdel(RESTORING_KEY, tag)

    def alive(self) -> int:
        return int(self.redis.zcard(WORKERS_KEY))
