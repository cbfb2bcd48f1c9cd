"""Telegram's flood limits, kept by every process together through one Redis.

The bot-wide limit is a sliding-window log: a send counts from the moment it is granted
until one second after Telegram answered it (while unanswered, it counts as in flight). A new
send is granted only while fewer than 30 sends count. However the requests are delayed on
their way, each one reaches Telegram between its grant and its answer, so no sliding second
at Telegram ever sees more than 30 (a plain bucket on grant times let two busy workers put 32
in one second there: requests granted 33 ms apart can arrive closer). The cost: a send's
round trip is added to its second, so the pace is 30 / (1 s + round trip).

The chat and group limits are buckets run as GCRA (the token bucket written as one
"theoretical arrival time" per key): 1/s per chat with a small burst, and 20/min per group.
One Lua script checks every limit a send touches and takes from all of them or from none, on
Redis's clock (`TIME`), so workers on different machines agree.

Two refinements keep the limits safe and the important messages first:

- Jitter margin: a request reaches Telegram a little later than we granted it, and not all
  by the same delay. The chat and group bursts are cut by `jitter` seconds, so a send that
  arrives that much early (relative to the one before) still finds a token at Telegram.
- Priority: progress edits leave one send's worth of every limit free, so a result or an
  alert finds its slot at once even while progress edits keep a chat or the bot busy.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import redis

if TYPE_CHECKING:
    from core.settings import Settings

log = logging.getLogger(__name__)

PREFIX = "pedidos:rate:"
# Waits up to this long are slept in place; longer ones go back to the queue with a countdown.
INLINE_WAIT = 1.2

# KEYS[1] bot-wide cooldown, KEYS[2] chat cooldown, KEYS[3] the bot-wide log (sorted set:
# one member per send, scored with when it stops counting minus the window), KEYS[4..] one
# arrival time per GCRA bucket.
# ARGV[1] cost (messages), ARGV[2] "1" when urgent, ARGV[3] bot-wide limit per window,
# ARGV[4] window_us, ARGV[5] flight_us (how long an unanswered send counts as in flight),
# ARGV[6] ticket (names this send's log members), then per GCRA bucket: interval_us,
# tolerance_us, reserve_us (what progress edits leave free).
# Returns 0 when every limit gave its slot, else the microseconds to wait (nothing taken).
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
local limit, window, flight = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - window)
local counted = redis.call('ZCARD', KEYS[3])
local full = 0
local room = limit
if not urgent then room = room - 1 end
if counted > 0 and counted + cost > room then
  -- The send whose leaving makes room: answered ones leave one window after their answer;
  -- one still in flight is asked about again shortly.
  local nth = counted + cost - room - 1
  local leaving = redis.call('ZRANGE', KEYS[3], nth, nth, 'WITHSCORES')
  local score = tonumber(leaving[2])
  local left = score + window - now
  if score > now then left = 20000 end
  -- Never rounded away below (as the GCRA waits are): one microsecond early is a 31st send.
  if left > full then full = left end
end
local after = {}
for b = 4, #KEYS do
  local a = 3 * b - 5
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
if wait > 1000 or full > 0 then return math.ceil(math.max(wait, full)) end
for b = 4, #KEYS do
  local ttl = math.ceil((after[b] - now) / 1000) + 1000
  redis.call('SET', KEYS[b], string.format('%.0f', after[b]), 'PX', ttl)
end
for j = 1, cost do
  redis.call('ZADD', KEYS[3], string.format('%.0f', now + flight), ARGV[6] .. ':' .. j)
end
redis.call('PEXPIRE', KEYS[3], math.ceil((window + flight) / 1000) + 1000)
return 0
"""

# KEYS[1] the bot-wide log. ARGV[1] ticket, ARGV[2] cost. Telegram answered (or the call
# failed): the send counts for one more window from now, no longer as in flight.
ANSWERED_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
for j = 1, tonumber(ARGV[2]) do
  redis.call('ZADD', KEYS[1], 'XX', string.format('%.0f', now), ARGV[1] .. ':' .. j)
end
return 1
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


GLOBAL_LOG_KEY = f"{PREFIX}global"
# The bot-wide window, and how long an unanswered send counts as in flight (past the
# Bot API client's timeouts, core.telegram.client.DEFAULT_TIMEOUT: by then it was abandoned).
WINDOW_US = 1_000_000
FLIGHT_US = 40_000_000


def new_ticket() -> str:
    """Names one send in the bot-wide log."""
    return secrets.token_hex(6)


@dataclass(frozen=True)
class Limits:
    """The numbers every process keeps to (defaults: Telegram's documented limits)."""

    # Sends counted in any sliding second, bot-wide (a count, not a rate: see the log above).
    global_per_second: float = 30.0
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
        """The GCRA buckets a send to `chat_id` takes from, each with its Redis key (the
        bot-wide limit is the log at GLOBAL_LOG_KEY)."""
        found = [
            (f"{PREFIX}chat:{chat_id}", Bucket(self.chat_per_second, self.chat_burst, self.jitter)),
        ]
        if is_group(chat_id):
            group = Bucket(self.group_per_minute / 60, self.group_burst, self.jitter)
            found.append((f"{PREFIX}group:{chat_id}", group))
        return found

    def acquire_call(
        self, chat_id: int | str, urgent: bool, cost: int, ticket: str = ""
    ) -> tuple[list[str], list[int | str]]:
        """KEYS and ARGV of ACQUIRE_SCRIPT for one send (`ticket` names it in the log)."""
        keys = [cooldown_key(None), cooldown_key(chat_id), GLOBAL_LOG_KEY]
        args: list[int | str] = [
            max(1, cost),
            1 if urgent else 0,
            max(1, int(self.global_per_second)),
            WINDOW_US,
            FLIGHT_US,
            ticket or new_ticket(),
        ]
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
        self._answered = client.register_script(ANSWERED_SCRIPT)
        self._sleep = sleep

    def try_acquire(
        self, chat_id: int | str, *, urgent: bool = True, cost: int = 1, ticket: str = ""
    ) -> float:
        """0.0 when the slot was taken, else the seconds to wait before asking again.

        A taken slot counts as in flight until `answered(ticket)`.
        """
        keys, args = self.limits.acquire_call(chat_id, urgent, cost, ticket)
        return int(self._acquire(keys=keys, args=args)) / 1_000_000

    def answered(self, ticket: str, cost: int = 1) -> None:
        """The send named `ticket` got its answer (or failed): it counts one more second.

        Bookkeeping only: with Redis unreachable the send still happened, so this never
        fails it (an unanswered ticket stops counting once its in-flight time is over)."""
        try:
            self._answered(keys=[GLOBAL_LOG_KEY], args=[ticket, max(1, cost)])
        except redis.RedisError as exc:
            log.warning("send %s answered, not recorded (Redis unavailable): %r", ticket, exc)

    def acquire(
        self,
        chat_id: int | str,
        *,
        urgent: bool = True,
        cost: int = 1,
        max_wait: float = INLINE_WAIT,
        known_wait: float | None = None,
        ticket: str = "",
    ) -> float:
        """Take a slot, sleeping through waits that keep within `max_wait` in all.

        0.0 when the slot is taken; otherwise the wait still ahead, which the caller should
        spend away from its worker slot (a countdown) before asking again. `known_wait` is
        the answer of a `try_acquire` the caller just made, so it is not asked twice.
        """
        deadline = time.monotonic() + max_wait
        ticket = ticket or new_ticket()
        wait = known_wait
        if wait is None:
            wait = self.try_acquire(chat_id, urgent=urgent, cost=cost, ticket=ticket)
        while wait > 0:
            if time.monotonic() + wait > deadline:
                return wait
            self._sleep(wait)
            wait = self.try_acquire(chat_id, urgent=urgent, cost=cost, ticket=ticket)
        return 0.0

    def cool_down(self, chat_id: int | str, seconds: float) -> bool:
        """Hold every send to `chat_id` for `seconds` (Telegram's 429 `retry_after`).

        Telegram does not say whether a 429 is the chat's limit or the bot's: when two
        different chats get one within a second, it is the bot's, and every send waits.
        True when the cooldown was taken as bot-wide.
        """
        keys, args = cooldown_call(chat_id, seconds)
        return bool(self._cooldown(keys=keys, args=args))
