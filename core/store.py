"""The order store in Redis: orders as hashes, indexes as sorted sets, changes as Lua scripts.

Keys (all under the `pedidos:` prefix):
  order:{id}           hash   the order's fields (see Order.to_redis)
  chat:{chat_id}       zset   the chat's order ids by creation time (for /estado and /pedidos)
  open                 zset   ids of orders not yet final, by creation time (the watcher's index)
  update:{chat}:{msg}  string the order created from that Telegram message (re-delivery guard)
"""

from __future__ import annotations

import time
from collections.abc import Callable

import redis

from core.orders import (
    TRANSITIONS,
    InvalidTransition,
    Order,
    OrderState,
    new_order_id,
    step_number,
)

PREFIX = "pedidos:"
# How long a Telegram update is remembered for re-delivery: Telegram keeps undelivered
# updates for 24 hours, so a re-delivered one cannot be older than that.
UPDATE_MEMORY_SECONDS = 48 * 3600

# KEYS: order, chat index, open index, update guard.
# ARGV: id, created_at, chat score, then the hash fields as name/value pairs.
_CREATE = """
local existing = redis.call('GET', KEYS[4])
if existing then return {0, existing} end
if redis.call('EXISTS', KEYS[1]) == 1 then return {-1, ''} end
for i = 4, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
redis.call('SET', KEYS[4], ARGV[1], 'EX', ARGV[3])
return {1, ARGV[1]}
"""

# KEYS: order, open index. ARGV: wanted state, is_final (0/1), now, allowed-from states
# joined by ',', then extra field name/value pairs.
# Returns {status, state}: 1 moved, 0 already there (a step run twice), -1 refused, -2 missing.
_TRANSITION = """
local current = redis.call('HGET', KEYS[1], 'state')
if not current then return {-2, ''} end
if current == ARGV[1] then return {0, current} end
local allowed = false
for state in string.gmatch(ARGV[4], '[^,]+') do
  if state == current then allowed = true end
end
if not allowed then return {-1, current} end
redis.call('HSET', KEYS[1], 'state', ARGV[1], 'updated_at', ARGV[3])
for i = 5, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
if ARGV[2] == '1' then
  redis.call('HSET', KEYS[1], 'finished_at', ARGV[3])
  redis.call('ZREM', KEYS[2], redis.call('HGET', KEYS[1], 'id'))
end
return {1, current}
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


def _allowed_from(wanted: OrderState) -> str:
    return ",".join(state.value for state, nexts in TRANSITIONS.items() if wanted in nexts)


def _flatten(fields: dict[str, str | int | float]) -> list[str]:
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
                keys=[self.key(order.id), self.chat_key(chat_id), self.OPEN_KEY, guard],
                args=[order.id, now, UPDATE_MEMORY_SECONDS, *_flatten(order.to_redis())],
            )
            if status == 1:
                return order, True
            if status == 0:
                return self.get(str(order_id)), False
            # status -1: the random id is taken (rare); draw another.

    def get(self, order_id: str) -> Order:
        raw = self.redis.hgetall(self.key(order_id))
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
        ids = self.redis.zrevrange(self.chat_key(chat_id), offset, offset + limit - 1)
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
        # A failed or cancelled order keeps the step it stopped at.
        if wanted not in (OrderState.FALLIDO, OrderState.CANCELADO) and "step" not in fields:
            fields["step"] = step_number(wanted)
        status, current = self._transition(
            keys=[self.key(order_id), self.OPEN_KEY],
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
        return bool(status == 1)

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
        return list(self.redis.zrangebyscore(self.OPEN_KEY, "-inf", cutoff, start=0, num=limit))
