"""The cart of each chat, in Redis (shared by every bot replica, kept across restarts), as a
hash SKU → quantity that expires CART_TTL after its last change. Quantities stay within
1–99 per line and 50 lines; prices are never stored here: checkout prices the cart on the
server as the catalogue is then (core.orders.pricing)."""

from __future__ import annotations

import redis

from core.catalogue.matching import MAX_LINES, MAX_QUANTITY
from core.redisio import read_hash

PREFIX = "pedidos:cart:"

# KEYS: cart. ARGV: sku, delta, max quantity, max lines, ttl seconds. The line's new quantity
# (0: removed), or -1 when a new line would pass the line limit. Atomic: two presses at once
# add both.
_ADD = """
local current = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if current == 0 and tonumber(ARGV[2]) > 0
   and redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[4]) then
  return -1
end
local wanted = math.max(0, math.min(tonumber(ARGV[3]), current + tonumber(ARGV[2])))
if wanted == 0 then
  redis.call('HDEL', KEYS[1], ARGV[1])
else
  redis.call('HSET', KEYS[1], ARGV[1], wanted)
end
redis.call('EXPIRE', KEYS[1], ARGV[5])
return wanted
"""


class CartFull(Exception):
    """The cart has as many lines as an order may have."""


class CartStore:
    def __init__(self, client: redis.Redis, ttl: float) -> None:
        self.redis = client
        self.ttl = max(1, int(ttl))
        self._add = client.register_script(_ADD)

    @staticmethod
    def key(chat_id: int) -> str:
        return f"{PREFIX}{chat_id}"

    def add(self, chat_id: int, sku: str, delta: int) -> int:
        """Change a line by `delta` (negative removes); its new quantity. CartFull when a new
        line would pass MAX_LINES."""
        found = int(
            self._add(
                keys=[self.key(chat_id)], args=[sku, delta, MAX_QUANTITY, MAX_LINES, self.ttl]
            )
        )
        if found < 0:
            raise CartFull()
        return found

    def items(self, chat_id: int) -> dict[str, int]:
        return {sku: int(qty) for sku, qty in read_hash(self.redis, self.key(chat_id)).items()}

    def clear(self, chat_id: int) -> None:
        self.redis.delete(self.key(chat_id))

    def move(self, old: int, new: int) -> None:
        """A group upgraded to a supergroup takes its cart along (never over a newer one)."""
        self.redis.renamenx(self.key(old), self.key(new))
