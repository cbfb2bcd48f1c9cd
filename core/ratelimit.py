"""Telegram's flood limits, kept by every process together through one Redis.

Each limit is a bucket run as GCRA (the token bucket written as one "theoretical arrival
time" per key): about 30 messages/s for the whole bot, 1/s per chat with a small burst, and
20/min per group. One Lua script checks every bucket a send touches and takes from all of
them or from none, on Redis's clock (`TIME`), so workers on different machines agree.

Two refinements keep the limits safe and the important messages first:

- Jitter margin: a request reaches Telegram a little later than we granted it, and not all
  by the same delay. The chat and group bursts are cut by `jitter` seconds, so a send that
  arrives that much early (relative to the one before) still finds a token at Telegram.
  The bot-wide bucket needs no margin: we keep a steady pace far inside Telegram's burst.
- Priority: progress edits leave one send's worth of every bucket free, so a result or an
  alert finds its slot at once even while progress edits keep a chat busy. In a bucket
  without burst (the bot-wide one) a progress edit takes a slot only once it has stayed
  free for a quarter interval: an urgent send waiting for that slot always gets it first.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import redis

if TYPE_CHECKING:
    from core.settings import Settings

PREFIX = "pedidos:rate:"
# Waits up to this long are slept in place; longer ones go back to the queue with a countdown.
INLINE_WAIT = 1.2

# KEYS[1] bot-wide cooldown, KEYS[2] chat cooldown, KEYS[3..] one arrival time per bucket.
# ARGV[1] cost (messages), ARGV[2] "1" when urgent, then per bucket: interval_us, tolerance_us,
# reserve_us (what progress edits leave free).
# Returns 0 when every bucket gave its slot, else the microseconds to wait (nothing taken).
# A send may go up to 1 ms early: far inside the jitter margin and the bot-wide slack.
ACQUIRE_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local cost = tonumber(ARGV[1])
local urgent = ARGV[2] == '1'
local wait = 0
for i = 1, 2 do
  local cool = tonumber(redis.call('GET', KEYS[i]) or 0)
  if cool - now > wait then wait = cool - now end
end
local after = {}
for b = 3, #KEYS do
  local a = 3 * b - 6
  local interval = tonumber(ARGV[a])
  local tolerance = tonumber(ARGV[a + 1])
  local tat = tonumber(redis.call('GET', KEYS[b]) or 0)
  -- A send costing more than the whole bucket may go once the bucket is full.
  local allowed = math.max(tolerance - cost * interval, 0)
  if not urgent then allowed = allowed - tonumber(ARGV[a + 2]) end
  if tat - now - allowed > wait then wait = tat - now - allowed end
  after[b] = math.max(tat, now) + cost * interval
end
-- Redis's clock is the wall clock and may step back a few microseconds between calls:
-- a wait shorter than a millisecond is that, not a full bucket.
if wait > 1000 then return math.ceil(wait) end
for b = 3, #KEYS do
  local ttl = math.ceil((after[b] - now) / 1000) + 1000
  redis.call('SET', KEYS[b], string.format('%.0f', after[b]), 'PX', ttl)
end
return 0
"""

# KEYS[1] chat cooldown, KEYS[2] bot-wide cooldown, KEYS[3] chats answered 429 lately.
# ARGV[1] wait_us, ARGV[2] chat. Returns 1 when the cooldown was taken as bot-wide.
COOLDOWN_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local wait = tonumber(ARGV[1])
local function extend(key)
  local current = tonumber(redis.call('GET', key) or 0)
  if now + wait > current then
    redis.call('SET', key, string.format('%.0f', now + wait), 'PX', math.ceil(wait / 1000) + 1000)
  end
end
extend(KEYS[1])
redis.call('SADD', KEYS[3], ARGV[2])
redis.call('PEXPIRE', KEYS[3], 1000)
if redis.call('SCARD', KEYS[3]) >= 2 then
  extend(KEYS[2])
  return 1
end
return 0
"""


@dataclass(frozen=True)
class Bucket:
    """`rate` sends per second, up to `burst` at once; `margin` seconds cut from the burst."""

    rate: float
    burst: float
    margin: float = 0.0

    @property
    def interval_us(self) -> int:
        return round(1_000_000 / self.rate)

    @property
    def tolerance_us(self) -> int:
        """How far ahead of now the bucket's arrival time may run after a send."""
        margin = min(self.margin * 1_000_000, (self.burst - 1) * self.interval_us)
        return round(self.burst * self.interval_us - max(margin, 0))

    @property
    def reserve_us(self) -> int:
        """What progress edits leave free for urgent sends."""
        return self.interval_us if self.burst >= 2 else self.interval_us // 4


@dataclass(frozen=True)
class Limits:
    """The numbers every process keeps to (defaults: Telegram's documented limits)."""

    global_per_second: float = 30.0
    # A steady pace, no real burst (never above 30 in any second): the extra quarter only
    # lets a send granted a little late keep the pace instead of losing its slot.
    global_burst: float = 1.25
    chat_per_second: float = 1.0
    chat_burst: float = 3
    group_per_minute: float = 20.0
    group_burst: float = 3
    # Our chat burst is Telegram's whole burst, so it is cut by the delay a request may take
    # more than the one before it to reach Telegram.
    jitter: float = 0.2

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        return cls(
            global_per_second=settings.rate_global_per_second,
            chat_per_second=settings.rate_chat_per_second,
            chat_burst=settings.rate_chat_burst,
            group_per_minute=settings.rate_group_per_minute,
        )

    def buckets(self, chat_id: int | str) -> list[tuple[str, Bucket]]:
        """The buckets a send to `chat_id` takes from, each with its Redis key."""
        found = [
            (f"{PREFIX}global", Bucket(self.global_per_second, self.global_burst)),
            (f"{PREFIX}chat:{chat_id}", Bucket(self.chat_per_second, self.chat_burst, self.jitter)),
        ]
        if is_group(chat_id):
            group = Bucket(self.group_per_minute / 60, self.group_burst, self.jitter)
            found.append((f"{PREFIX}group:{chat_id}", group))
        return found

    def acquire_call(
        self, chat_id: int | str, urgent: bool, cost: int
    ) -> tuple[list[str], list[int]]:
        """KEYS and ARGV of ACQUIRE_SCRIPT for one send."""
        keys = [cooldown_key(None), cooldown_key(chat_id)]
        args = [max(1, cost), 1 if urgent else 0]
        for key, bucket in self.buckets(chat_id):
            keys.append(key)
            args += [bucket.interval_us, bucket.tolerance_us, bucket.reserve_us]
        return keys, args


def is_group(chat_id: int | str) -> bool:
    """Groups, supergroups and channels have negative ids (or an `@username`)."""
    if isinstance(chat_id, str) and not chat_id.lstrip("-").isdigit():
        return True
    return int(chat_id) < 0


def cooldown_key(chat_id: int | str | None) -> str:
    return f"{PREFIX}cool:global" if chat_id is None else f"{PREFIX}cool:chat:{chat_id}"


def cooldown_call(chat_id: int | str, seconds: float) -> tuple[list[str], list[Any]]:
    """KEYS and ARGV of COOLDOWN_SCRIPT for a 429 on `chat_id`."""
    keys = [cooldown_key(chat_id), cooldown_key(None), f"{PREFIX}recent429"]
    return keys, [max(1, round(seconds * 1_000_000)), str(chat_id)]


class RateLimiter:
    """Slots in the shared buckets for one process's sends (blocking, for workers)."""

    def __init__(
        self,
        client: redis.Redis,
        limits: Limits | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.limits = limits or Limits()
        self._acquire = client.register_script(ACQUIRE_SCRIPT)
        self._cooldown = client.register_script(COOLDOWN_SCRIPT)
        self._sleep = sleep

    def try_acquire(self, chat_id: int | str, *, urgent: bool = True, cost: int = 1) -> float:
        """0.0 when the slot was taken, else the seconds to wait before asking again."""
        keys, args = self.limits.acquire_call(chat_id, urgent, cost)
        return int(self._acquire(keys=keys, args=args)) / 1_000_000

    def acquire(
        self,
        chat_id: int | str,
        *,
        urgent: bool = True,
        cost: int = 1,
        max_wait: float = INLINE_WAIT,
        known_wait: float | None = None,
    ) -> float:
        """Take a slot, sleeping through waits that keep within `max_wait` in all.

        0.0 when the slot is taken; otherwise the wait still ahead, which the caller should
        spend away from its worker slot (a countdown) before asking again. `known_wait` is
        the answer of a `try_acquire` the caller just made, so it is not asked twice.
        """
        deadline = time.monotonic() + max_wait
        wait = known_wait
        if wait is None:
            wait = self.try_acquire(chat_id, urgent=urgent, cost=cost)
        while wait > 0:
            if time.monotonic() + wait > deadline:
                return wait
            self._sleep(wait)
            wait = self.try_acquire(chat_id, urgent=urgent, cost=cost)
        return 0.0

    def cool_down(self, chat_id: int | str, seconds: float) -> bool:
        """Hold every send to `chat_id` for `seconds` (Telegram's 429 `retry_after`).

        Telegram does not say whether a 429 is the chat's limit or the bot's: when two
        different chats get one within a second, it is the bot's, and every send waits.
        True when the cooldown was taken as bot-wide.
        """
        keys, args = cooldown_call(chat_id, seconds)
        return bool(self._cooldown(keys=keys, args=args))
