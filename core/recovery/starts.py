"""Work stored and not yet queued: nothing a customer was told about waits for ever.

The bot stores an order (or a photo job), answers with its status message, then enqueues its
task. A bot killed, or cut off from Redis, between the store and the enqueue would leave an
order the customer saw "en cola" that no worker will ever run. So the script that stores a
unit also adds it here, due `START_GRACE_MS` later. Whoever enqueues it takes the entry first
(the bot at once; the recovery sweep once it is due, when the bot never did), and the entry
leaves when the unit's task id is recorded. A taken entry that is never finished (its taker
died) falls due again after another grace, so the sweep tries again; a unit whose task id is
already recorded is not queued twice.

Members are `kind:id` (`order:P-…`, `photo:F-…`). Times are Redis's clock (ms).
"""

from __future__ import annotations

import redis

from core.recovery.leases import NOW_LUA

KEY = "pedidos:starts"
CLAIMS_KEY = "pedidos:starts:claims"
# Long enough that a bot which answered slowly (Telegram timeouts) still queues its own work;
# short enough that a customer whose bot died waits well under a minute.
START_GRACE_MS = 30_000

# A fragment for the scripts that create units: KEYS[n] is `KEY`, `member` a Lua expression.
ADD_LUA = """
local t = redis.call('TIME')
redis.call('ZADD', KEYS[{key}], tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  + {grace}, {member})
"""


# KEYS: starts, claims. ARGV: member, holder, grace ms. The unit's creator takes it: only
# while nobody else has (a sweep that took it first queues it instead); the same holder
# again (retrying after Redis came back) keeps it. 1 when taken.
_TAKE = (
    NOW_LUA
    + """
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
local holder = redis.call('HGET', KEYS[2], ARGV[1])
if holder and holder ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[3]), ARGV[1])
return 1
"""
)

# KEYS: starts, claims. ARGV: holder, grace ms, limit. The due entries, each taken by the
# sweep and pushed back by a grace (they fall due again if this sweep dies).
_TAKE_DUE = (
    NOW_LUA
    + """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[3]))
for _, member in ipairs(due) do
  redis.call('HSET', KEYS[2], member, ARGV[1])
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), member)
end
return due
"""
)


# KEYS: starts. ARGV: member. Adds the member due a grace from now, unless it is there.
_ADD = (
    NOW_LUA
    + f"""
redis.call('ZADD', KEYS[1], 'NX', now + {START_GRACE_MS}, ARGV[1])
return 1
"""
)


def create_lua(key_index: int, member: str) -> str:
    """The Lua lines a create script runs to add its new unit (KEYS[key_index] is `KEY`)."""
    return ADD_LUA.format(key=key_index, grace=START_GRACE_MS, member=member)


def member(kind: str, unit_id: str) -> str:
    return f"{kind}:{unit_id}"


def drop(pipe: redis.client.Pipeline, kind: str, unit_id: str) -> None:
    """Queue on `pipe` the removal of a unit from the pending set (it was queued, or is gone)."""
    pipe.zrem(KEY, member(kind, unit_id))
    pipe.hdel(CLAIMS_KEY, member(kind, unit_id))


class PendingStarts:
    """The stored units no one has queued yet (see the module docstring)."""

    def __init__(self, client: redis.Redis) -> None:
        self.redis = client
        self._take = client.register_script(_TAKE)
        self._add = client.register_script(_ADD)
        self._take_due = client.register_script(_TAKE_DUE)

    def add(self, kind: str, unit_id: str) -> None:
        """A unit was stored (in the database): it waits here until someone queues it. An entry
        already there keeps its time and its taker."""
        self._add(keys=[KEY], args=[member(kind, unit_id)])

    def take(self, kind: str, unit_id: str, holder: str) -> bool:
        """The creator's claim: True when this caller is the one to queue the unit."""
        taken = self._take(
            keys=[KEY, CLAIMS_KEY], args=[member(kind, unit_id), holder, START_GRACE_MS]
        )
        return bool(taken)

    def take_due(self, holder: str, limit: int = 200) -> list[tuple[str, str]]:
        """(kind, id) of the units whose creator never queued them, taken by `holder`."""
        due = self._take_due(keys=[KEY, CLAIMS_KEY], args=[holder, START_GRACE_MS, limit])
        return [tuple(str(m).split(":", 1)) for m in due]  # type: ignore[misc]

    def done(self, kind: str, unit_id: str) -> None:
        """The unit is queued (or gone): it leaves the pending set."""
        pipe = self.redis.pipeline(transaction=True)
        drop(pipe, kind, unit_id)
        pipe.execute()
