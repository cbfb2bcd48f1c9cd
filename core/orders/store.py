"""The order store in Redis: orders as hashes, indexes as sorted sets, changes as Lua scripts.

Keys (all under the `pedidos:` prefix):
  order:{id}           hash   the order's fields (see Order.to_redis)
  chat:{chat_id}       zset   the chat's order ids by creation time (for /estado and /pedidos)
  open                 zset   ids of unfinished orders not yet alerted as stale, by creation time
  stale                zset   ids of unfinished orders already alerted as stale, by creation time
  finished             zset   `{chat}/{id}` of finished orders, by finish time (core.retention)
  update:{chat}:{msg}  string the order created from that Telegram message (re-delivery guard)
  created              zset   every order id by creation time (reports read ranges of it)

An unfinished order sits in exactly one of `open` and `stale` (core.watcher.index claims
from one into the other); a final one in neither.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping

import redis

from core.orders.model import Order, new_order_id
from core.orders.states import (
    TRANSITION_LUA,
    InvalidTransition,
    OrderState,
    allowed_from,
    step_number,
)
from core.recovery import starts
from core.redisio import as_strings, flat_hash, read_hash

PREFIX = "pedidos:"
# How long a Telegram update is remembered for re-delivery: Telegram keeps undelivered
# updates for 24 hours, so a re-delivered one cannot be older than that.
UPDATE_MEMORY_SECONDS = 48 * 3600

# KEYS: order, chat index, open index, guard, creation index[, pending starts].
# ARGV: id, created_at, guard ttl, guard value, then the hash fields as name/value pairs.
# The guard names where the order came from (a Telegram message, a CSV row): a second
# create from the same place returns the guard's value and creates nothing. With the sixth
# key the order also waits in core.recovery.starts until its chain is queued.
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

# KEYS: order. ARGV: field, value. Writes only to an existing order (never a stray hash).
_SET_IF_EXISTS = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
"""

# The latest error of a retried step (Order.extra), shown in the admins' digest.
LAST_ERROR_FIELD = "last_error"


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
        self._transition = client.register_script(TRANSITION_LUA)
        self._set_if_exists = client.register_script(_SET_IF_EXISTS)

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
                allowed_from(wanted),
                *_flatten(fields),
            ],
        )
        if status == -2:
            raise OrderNotFound(order_id)
        if status == -1:
            raise InvalidTransition(OrderState(current), wanted)
        return status == 1, Order.from_redis(flat_hash(rest[0]))

    def set_fields(self, order_id: str, **fields: str | int | float) -> None:
        """Record bookkeeping fields (status message id, task id) whatever the state."""
        self.redis.hset(self.key(order_id), mapping={k: str(v) for k, v in fields.items()})

    def get_many(self, order_ids: list[str]) -> list[Order]:
        """The orders that exist among `order_ids`, in that order (one round trip)."""
        pipe = self.redis.pipeline(transaction=False)
        for order_id in order_ids:
            pipe.hgetall(self.key(order_id))
        return [Order.from_redis(raw) for raw in pipe.execute() if raw]

    def note_error(self, order_id: str, error: str) -> None:
        """Remember the latest error of a retried step on the order (if it exists)."""
        self._set_if_exists(keys=[self.key(order_id)], args=[f"x:{LAST_ERROR_FIELD}", error])

    def state_of(self, order_id: str) -> OrderState | None:
        """Just the order's state, or None if there is no such order."""
        state = self.redis.hget(self.key(order_id), "state")
        return OrderState(str(state)) if state else None
