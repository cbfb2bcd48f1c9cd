"""The order store in Redis: orders as hashes, indexes as sorted sets, changes as Lua scripts.

Keys (all under the `pedidos:` prefix):
  order:{id}           hash   the order's fields (see Order.to_redis)
  chat:{chat_id}       zset   the chat's order ids by creation time (for /estado and /pedidos)
  open                 zset   ids of unfinished orders not yet alerted as stale, by creation time
  stale                zset   ids of unfinished orders already alerted as stale, by creation time
  finished             zset   `{chat}/{id}` of finished orders, by finish time (core.retention)
  update:{chat}:{msg}  string the order created from that Telegram message (re-delivery guard)
  created              zset   every order id by creation time (reports read ranges of it)
  watcher:run:{run}    list   the order ids one watcher run claimed (its retries resend these)
  watcher:pending      zset   runs that claimed and have not finished, by their latest attempt
  watcher:history      list   the latest finished runs, newest first (JSON)

An unfinished order sits in exactly one of `open` and `stale`; a final one in neither. So
the watcher's cost follows the number of newly stale orders, not of all orders ever made.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

import redis

from core import starts
from core.orders.model import (
    TRANSITIONS,
    InvalidTransition,
    Order,
    OrderState,
    new_order_id,
    step_number,
)
from core.redisio import as_strings, flat_hash, read_hash

PREFIX = "pedidos:"
# How long a Telegram update is remembered for re-delivery: Telegram keeps undelivered
# updates for 24 hours, so a re-delivered one cannot be older than that.
UPDATE_MEMORY_SECONDS = 48 * 3600

# KEYS: order, chat index, open index, guard, creation index[, pending starts].
# ARGV: id, created_at, guard ttl, guard value, then the hash fields as name/value pairs.
# The guard names where the order came from (a Telegram message, a CSV row): a second
# create from the same place returns the guard's value and creates nothing. With the sixth
# key the order also waits in core.starts until its chain is queued.
_CREATE = (
    """
local existing = redis.call('GET', KEYS[4])
if existing then return {0, existing} end
if redis.call('EXISTS', KEYS[1]) == 1 then return {-1, ''} end
for i = 5, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
redis.call('ZADD', KEYS[5], ARGV[2], ARGV[1])
redis.call('SET', KEYS[4], ARGV[4], 'EX', ARGV[3])
if #KEYS >= 6 then
"""
    + starts.create_lua(6, "'order:' .. ARGV[1]")
    + """
end
return {1, ARGV[1]}
"""
)

# KEYS: order, open index, stale index, finished index. ARGV: wanted state, is_final (0/1),
# now, allowed-from states joined by ',', then extra field name/value pairs.
# Returns {status, state}: 1 moved, 0 already there (a step run twice), -1 refused, -2 missing.
_TRANSITION = """
local current = redis.call('HGET', KEYS[1], 'state')
if not current then return {-2, ''} end
if current == ARGV[1] then return {0, current, redis.call('HGETALL', KEYS[1])} end
local allowed = false
for state in string.gmatch(ARGV[4], '[^,]+') do
  if state == current then allowed = true end
end
if not allowed then return {-1, current} end
redis.call('HSET', KEYS[1], 'state', ARGV[1], 'updated_at', ARGV[3])
for i = 5, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
if ARGV[2] == '1' then
  redis.call('HSET', KEYS[1], 'finished_at', ARGV[3])
  local id = redis.call('HGET', KEYS[1], 'id')
  redis.call('ZREM', KEYS[2], id)
  redis.call('ZREM', KEYS[3], id)
  redis.call('ZADD', KEYS[4], ARGV[3], redis.call('HGET', KEYS[1], 'chat_id') .. '/' .. id)
end
return {1, current, redis.call('HGETALL', KEYS[1])}
"""

# KEYS: order. ARGV: expected state, then field name/value pairs.
# Writes only while the order is still in the expected state, so a late progress report
# from a step cannot overwrite a cancellation or a later step.
_UPDATE_IF_STATE = """
local current = redis.call('HGET', KEYS[1], 'state')
if current ~= ARGV[1] then return 0 end
for i = 2, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
return 1
"""


# KEYS: open index, stale index, this run's claims, pending runs.
# ARGV: run id, cutoff, limit, now, adopt runs whose latest attempt began before this,
#       claims TTL, run key prefix, order key prefix, alerted field.
# Returns {resumed (0/1), claimed ids, more stale left (0/1)}. A run that already claimed
# (a retry or a re-delivery of the same task) gets its own ids back and claims nothing new.
# Otherwise it first takes over the claims of runs that died before finishing (no attempt
# for longer than any attempt may last), then moves the oldest stale ids from `open` to
# `stale` (claimed ones are never scanned or claimed again) and marks each order alerted,
# in the same step as the claim: an order that completes after it gets the follow-up.
_CLAIM_STALE = """
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

# KEYS: order. ARGV: field, value. Writes only to an existing order (never a stray hash).
_SET_IF_EXISTS = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
"""

# Order fields (Order.extra) the watcher leaves: when a run claimed the order to alert it,
# and the latest error of a retried step (shown in the admins' digest).
ALERTED_FIELD = "stale_alerted_at"
LAST_ERROR_FIELD = "last_error"
# A run's claimed ids outlive every retry of the run.
CLAIMS_TTL = 7 * 24 * 3600
WATCH_HISTORY = 50


@dataclass(frozen=True)
class StaleClaim:
    """What one watcher run has to alert: its claimed ids, oldest first."""

    ids: list[str]
    resumed: bool
    more: bool


def _allowed_from(wanted: OrderState) -> str:
    return ",".join(state.value for state, nexts in TRANSITIONS.items() if wanted in nexts)


def _flatten(fields: Mapping[str, str | int | float]) -> list[str]:
    return [str(part) for pair in fields.items() for part in pair]


class OrderNotFound(KeyError):
    """No order with that id."""


class OrderStore:
    """Orders kept in Redis, changed only through atomic scripts."""

    def __init__(self, client: redis.Redis, clock: Callable[[], float] = time.time) -> None:
        self.redis = client
        self.clock = clock
        self._create = client.register_script(_CREATE)
        self._transition = client.register_script(_TRANSITION)
        self._update_if_state = client.register_script(_UPDATE_IF_STATE)
        self._claim_stale = client.register_script(_CLAIM_STALE)
        self._set_if_exists = client.register_script(_SET_IF_EXISTS)

    @classmethod
    def from_url(cls, url: str) -> OrderStore:
        return cls(redis.Redis.from_url(url, decode_responses=True))

    @staticmethod
    def key(order_id: str) -> str:
        return f"{PREFIX}order:{order_id}"

    @staticmethod
    def chat_key(chat_id: int) -> str:
        return f"{PREFIX}chat:{chat_id}"

    OPEN_KEY = f"{PREFIX}open"
    CREATED_KEY = f"{PREFIX}created"
    STALE_KEY = f"{PREFIX}stale"
    FINISHED_KEY = f"{PREFIX}finished"
    RUN_PREFIX = f"{PREFIX}watcher:run:"
    PENDING_RUNS_KEY = f"{PREFIX}watcher:pending"
    WATCH_HISTORY_KEY = f"{PREFIX}watcher:history"

    def create(
        self,
        chat_id: int,
        user_id: int,
        text: str,
        source_message_id: int,
        language: str = "es",
    ) -> tuple[Order, bool]:
        """Store a new order; a re-delivered message returns its first order and False."""
        guard = f"{PREFIX}update:{chat_id}:{source_message_id}"
        while True:
            now = self.clock()
            order = Order(
                id=new_order_id(),
                chat_id=chat_id,
                user_id=user_id,
                text=text,
                created_at=now,
                updated_at=now,
                language=language,
            )
            status, order_id = self._create(
                keys=[*self._create_keys(order, guard), starts.KEY],
                args=[order.id, now, UPDATE_MEMORY_SECONDS, order.id, *_flatten(order.to_redis())],
            )
            if status == 1:
                return order, True
            if status == 0:
                return self.get(str(order_id)), False
            # status -1: the random id is taken (rare); draw another.

    def _create_keys(self, order: Order, guard: str) -> list[str]:
        return [
            self.key(order.id),
            self.chat_key(order.chat_id),
            self.OPEN_KEY,
            guard,
            self.CREATED_KEY,
        ]

    def create_guarded(
        self, orders: list[tuple[Order, str, str]], guard_ttl: int
    ) -> list[tuple[int, str]]:
        """Store new orders in one round trip, each under its (guard key, guard value).

        For each: (1, id) created; (0, value) the guard existed (nothing created: `value` is
        what the guard holds); (-1, '') the random id was taken (draw another and retry).
        """
        pipe = self.redis.pipeline(transaction=False)
        for order, guard, value in orders:
            self._create(
                keys=self._create_keys(order, guard),
                args=[order.id, order.created_at, guard_ttl, value, *_flatten(order.to_redis())],
                client=pipe,
            )
        return [(int(status), str(found)) for status, found in pipe.execute()]

    def created_between(self, start: float, end: float, batch: int = 500) -> Iterator[list[Order]]:
        """Orders created in [start, end), oldest first, `batch` at a time."""
        offset = 0
        while True:
            ids = as_strings(
                self.redis.zrangebyscore(
                    self.CREATED_KEY, start, f"({end}", start=offset, num=batch
                )
            )
            if not ids:
                return
            yield self.get_many(ids)
            offset += len(ids)

    def get(self, order_id: str) -> Order:
        raw = read_hash(self.redis, self.key(order_id))
        if not raw:
            raise OrderNotFound(order_id)
        return Order.from_redis(raw)

    def find(self, order_id: str, chat_id: int) -> Order | None:
        """The order if it exists and belongs to `chat_id`: other chats' orders do not exist."""
        try:
            order = self.get(order_id)
        except OrderNotFound:
            return None
        return order if order.chat_id == chat_id else None

    def recent(self, chat_id: int, limit: int = 5, offset: int = 0) -> list[Order]:
        """The chat's orders, newest first."""
        ids = as_strings(self.redis.zrevrange(self.chat_key(chat_id), offset, offset + limit - 1))
        orders = []
        for order_id in ids:
            try:
                orders.append(self.get(order_id))
            except OrderNotFound:
                continue
        return orders

    def count(self, chat_id: int) -> int:
        return int(self.redis.zcard(self.chat_key(chat_id)))

    def move(self, order_id: str, wanted: OrderState, **fields: str | int | float) -> bool:
        """Move an order to `wanted`; False if it was already there (idempotent re-run).

        Raises InvalidTransition when the state machine forbids it and OrderNotFound when
        the order does not exist.
        """
        moved, _ = self.advance(order_id, wanted, **fields)
        return moved

    def advance(
        self, order_id: str, wanted: OrderState, **fields: str | int | float
    ) -> tuple[bool, Order]:
        """Like `move`, also returning the order as it is after the change (one round trip)."""
        # A failed or cancelled order keeps the step it stopped at.
        if wanted not in (OrderState.FALLIDO, OrderState.CANCELADO) and "step" not in fields:
            fields["step"] = step_number(wanted)
        status, current, *rest = self._transition(
            keys=[self.key(order_id), self.OPEN_KEY, self.STALE_KEY, self.FINISHED_KEY],
            args=[
                wanted.value,
                "1" if wanted.is_final else "0",
                self.clock(),
                _allowed_from(wanted),
                *_flatten(fields),
            ],
        )
        if status == -2:
            raise OrderNotFound(order_id)
        if status == -1:
            raise InvalidTransition(OrderState(current), wanted)
        return status == 1, Order.from_redis(flat_hash(rest[0]))

    def update_if(self, order_id: str, expected: OrderState, **fields: str | int | float) -> bool:
        """Set fields only while the order is still in `expected`."""
        return bool(
            self._update_if_state(
                keys=[self.key(order_id)], args=[expected.value, *_flatten(fields)]
            )
        )

    def set_fields(self, order_id: str, **fields: str | int | float) -> None:
        """Record bookkeeping fields (status message id, task id) whatever the state."""
        self.redis.hset(self.key(order_id), mapping={k: str(v) for k, v in fields.items()})

    def open_older_than(self, cutoff: float, limit: int = 1000) -> list[str]:
        """Ids of unfinished orders created before `cutoff`, oldest first."""
        return as_strings(
            self.redis.zrangebyscore(self.OPEN_KEY, "-inf", cutoff, start=0, num=limit)
        )

    # --- the stale-order watcher's index ------------------------------------------------

    def get_many(self, order_ids: list[str]) -> list[Order]:
        """The orders that exist among `order_ids`, in that order (one round trip)."""
        pipe = self.redis.pipeline(transaction=False)
        for order_id in order_ids:
            pipe.hgetall(self.key(order_id))
        return [Order.from_redis(raw) for raw in pipe.execute() if raw]

    def claim_stale(
        self, run_id: str, cutoff: float, limit: int, now: float, adopt_before: float
    ) -> StaleClaim:
        """Claim for run `run_id` the unalerted orders created at or before `cutoff`.

        Atomic: concurrent runs never claim the same order, and the same run asked again
        (a retry) gets the same ids. Claims of runs whose latest attempt began before
        `adopt_before` and never finished are taken over. Each newly claimed order is
        marked alerted (Order.extra[ALERTED_FIELD]) in the same step.
        """
        resumed, ids, more = self._claim_stale(
            keys=[self.OPEN_KEY, self.STALE_KEY, self.RUN_PREFIX + run_id, self.PENDING_RUNS_KEY],
            args=[
                run_id,
                cutoff,
                limit,
                now,
                adopt_before,
                CLAIMS_TTL,
                self.RUN_PREFIX,
                self.key(""),
                f"x:{ALERTED_FIELD}",
            ],
        )
        return StaleClaim(ids=[str(i) for i in ids], resumed=bool(resumed), more=bool(more))

    def finish_watch_run(self, run_id: str, record: dict[str, str | int | float]) -> None:
        """The run delivered everything: it is no longer pending; remember it in the history."""
        pipe = self.redis.pipeline(transaction=True)
        pipe.zrem(self.PENDING_RUNS_KEY, run_id)
        pipe.lpush(self.WATCH_HISTORY_KEY, json.dumps({"run": run_id, **record}))
        pipe.ltrim(self.WATCH_HISTORY_KEY, 0, WATCH_HISTORY - 1)
        pipe.execute()

    def watch_history(self, limit: int = WATCH_HISTORY) -> list[dict[str, str | int | float]]:
        """The latest finished watcher runs, newest first."""
        return [json.loads(raw) for raw in self.redis.lrange(self.WATCH_HISTORY_KEY, 0, limit - 1)]

    def stale_now(self, cutoff: float, limit: int) -> tuple[int, list[Order]]:
        """How many unfinished orders are stale now, alerted or not, and the oldest `limit`."""
        pipe = self.redis.pipeline(transaction=True)
        pipe.zrange(self.STALE_KEY, 0, limit - 1, withscores=True)
        pipe.zcard(self.STALE_KEY)
        pipe.zrangebyscore(self.OPEN_KEY, "-inf", cutoff, start=0, num=limit, withscores=True)
        pipe.zcount(self.OPEN_KEY, "-inf", cutoff)
        alerted, alerted_count, unalerted, unalerted_count = pipe.execute()
        oldest = sorted([*alerted, *unalerted], key=lambda pair: pair[1])[:limit]
        return int(alerted_count) + int(unalerted_count), self.get_many([i for i, _ in oldest])

    def note_error(self, order_id: str, error: str) -> None:
        """Remember the latest error of a retried step on the order (if it exists)."""
        self._set_if_exists(keys=[self.key(order_id)], args=[f"x:{LAST_ERROR_FIELD}", error])

    def state_of(self, order_id: str) -> OrderState | None:
        """Just the order's state, or None if there is no such order."""
        state = self.redis.hget(self.key(order_id), "state")
        return OrderState(str(state)) if state else None
