"""Per-user quotas: how many orders and photos one person may start in a window, and how
many requests (commands and button presses: /estado, /pedidos and its pages…) they may make.

A quota is a sliding log in Redis (one sorted set per user and kind, scored by Redis's own
clock), so every bot replica counts the same requests and a window never lets through
twice the limit at its edge. The member is the Telegram message the request came in (or the
callback query of a press), so an update delivered twice counts once.

A refusal is told once per wait: a user hammering `/pedido` while over quota hears it the
first time and then nothing until the wait is over, so the refusal itself cannot become a
flood of replies.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import redis

if TYPE_CHECKING:
    from core.settings import Settings

PREFIX = "pedidos:quota:"

# KEYS[1] the user's log, KEYS[2] the "refusal told" marker.
# ARGV[1] window in µs, ARGV[2] limit, ARGV[3] member (chat:message).
# Returns {allowed (0/1), wait µs, tell (0/1)}.
_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local window = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZSCORE', KEYS[1], ARGV[3]) then return {1, 0, 0} end
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], math.ceil(window / 1000))
  return {1, 0, 0}
end
local oldest = tonumber(redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')[2])
local wait = math.max(1000, math.ceil(oldest + window - now))
local tell = redis.call('SET', KEYS[2], '1', 'NX', 'PX', math.ceil(wait / 1000))
return {0, wait, tell and 1 or 0}
"""


@dataclass(frozen=True)
class Quota:
    """At most `limit` requests of one kind per user in `window` seconds (0: no quota)."""

    kind: str
    limit: int
    window: float


@dataclass(frozen=True)
class Verdict:
    """Whether a request may go on; if not, how long until it may and whether to say so."""

    allowed: bool
    wait: float = 0.0
    tell: bool = False


class Quotas:
    """The per-user quotas on orders and photos, counted in Redis."""

    def __init__(
        self,
        client: redis.Redis,
        orders: Quota,
        photos: Quota,
        requests: Quota = Quota("requests", 0, 60.0),
    ) -> None:
        self.orders = orders
        self.photos = photos
        self.requests = requests
        self._take = client.register_script(_TAKE)

    @classmethod
    def from_settings(cls, client: redis.Redis, settings: Settings) -> Quotas:
        return cls(
            client,
            Quota("orders", settings.quota_orders_per_minute, 60.0),
            Quota("photos", settings.quota_photos_per_hour, 3600.0),
            Quota("requests", settings.quota_requests_per_minute, 60.0),
        )

    def take(self, quota: Quota, user_id: int, chat_id: int, message_id: int | str) -> Verdict:
        """Count one request of `user_id` (from that message, or press) against `quota`."""
        if quota.limit <= 0:
            return Verdict(True)
        key = f"{PREFIX}{quota.kind}:{user_id}"
        allowed, wait_us, tell = self._take(
            keys=[key, f"{key}:told"],
            args=[round(quota.window * 1_000_000), quota.limit, f"{chat_id}:{message_id}"],
        )
        return Verdict(bool(allowed), int(wait_us) / 1_000_000, bool(tell))
