"""One Bot API call in the limits every process shares.

A call first takes a slot from the shared limiter (core.telegram.rate_limiter), sleeping through a
short wait; a longer one raises Throttled for the caller to hand over. A 429 holds the chat
(or the bot) in every process for its `retry_after`, and a group upgraded to a supergroup is
followed to its new id.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import redis

from core import metrics
from core.chats import ChatMoves
from core.telegram.client import (
    BadRequest,
    BotApi,
    ChatMigrated,
    Forbidden,
    TooManyRequests,
)
from core.telegram.rate_limiter import (
    ACQUIRE_SCRIPT,
    ANSWERED_SCRIPT,
    GLOBAL_LOG_KEY,
    INLINE_WAIT,
    RateLimiter,
    new_ticket,
)
from core.telegram.reachability import is_unreachable
from core.telegram.saturation import KEY as SATURATION_KEY
from core.telegram.saturation import NOTE_SCRIPT, Saturation

log = logging.getLogger(__name__)

# 429s in a row one call sleeps through before giving the wait back to its task.
MAX_429_INLINE = 3


def after_call_and(script: str) -> str:
    """A script that does a call's bookkeeping, then `script`, in one round trip: the send
    counts one more window from its answer (the limiter's ANSWERED_SCRIPT) and joins the
    saturation level (its NOTE_SCRIPT; noted at the answer rather than the grant, a few
    milliseconds later). KEYS: the bot-wide log, the level, then `script`'s; ARGV: ticket,
    cost, then `script`'s. Its answer is `script`'s."""
    return f"""
local function answered(KEYS, ARGV)
{ANSWERED_SCRIPT}
end
local function noted(KEYS, ARGV)
{NOTE_SCRIPT}
end
local function and_then(KEYS, ARGV)
{script}
end
answered({{KEYS[1]}}, {{ARGV[1], ARGV[2]}})
noted({{KEYS[2]}}, {{ARGV[2]}})
local keys, args = {{}}, {{}}
for i = 3, #KEYS do keys[#keys + 1] = KEYS[i] end
for i = 3, #ARGV do args[#args + 1] = ARGV[i] end
return and_then(keys, args)
"""


def and_slot(script: str, go: str) -> str:
    """A script that runs `script` (a claim before a call) and, when its answer `answer`
    meets the Lua condition `go`, tries a slot of the shared limits (the limiter's
    ACQUIRE_SCRIPT) in the same round trip, appending that answer (0: taken, else the
    microseconds to wait). KEYS: `script`'s, then the slot's. ARGV: how many of KEYS are
    `script`'s, how many of ARGV after these two are, `script`'s, then the slot's (`go` may
    set `slot_args[2]`, urgent: '1' or '0')."""
    return f"""
local function claim(KEYS, ARGV)
{script}
end
local function acquire(KEYS, ARGV)
{ACQUIRE_SCRIPT}
end
local nk, na = tonumber(ARGV[1]), tonumber(ARGV[2])
local claim_keys, claim_args, slot_keys, slot_args = {{}}, {{}}, {{}}, {{}}
for i = 1, #KEYS do
  if i <= nk then table.insert(claim_keys, KEYS[i]) else table.insert(slot_keys, KEYS[i]) end
end
for i = 3, #ARGV do
  if i <= na + 2 then table.insert(claim_args, ARGV[i]) else table.insert(slot_args, ARGV[i]) end
end
local answer = claim(claim_keys, claim_args)
if {go} then answer[#answer + 1] = acquire(slot_keys, slot_args) end
return answer
"""


AFTER_CALL_SCRIPT = after_call_and("return 1")


@dataclass
class AfterCall:
    """A script run in a call's own bookkeeping round trip once Telegram answered (e.g. the
    record that a keyed message was sent): `args_of(result)` gives its KEYS and ARGV; its
    answer lands in `reply` (`ran` once it did)."""

    script: str
    args_of: Callable[[Any], tuple[list[str], list[Any]]]
    reply: Any = None
    ran: bool = False

    @classmethod
    def fixed(cls, script: str, keys: list[str], args: list[Any]) -> AfterCall:
        """One whose KEYS and ARGV do not depend on the call's result."""
        return cls(script, lambda _result: (keys, args))


@dataclass(frozen=True)
class Slot:
    """A slot asked for in the caller's own round trip (`and_slot`): its ticket, and the
    limiter's answer (0.0: taken, else seconds to wait)."""

    ticket: str
    wait: float


# Files of a multipart call: field -> (file name, content, MIME type).
Files = Mapping[str, tuple[str, bytes, str]]


class Throttled(TooManyRequests):
    """The shared limiter says wait `retry_after` seconds: a 429 Telegram never had to send.

    `held`: the limiter itself holds the chat that long (a slot, a 429's cooldown), so a
    next try sleeps out whatever is left of the wait. Not so for a wait on another process
    (a key being sent, a message being edited) or on traffic easing.
    """

    def __init__(self, method: str, wait: float, *, held: bool = True) -> None:
        super().__init__(method, 429, f"waiting {wait:.2f}s for a slot", wait)
        self.held = held


def held_by_limiter(exc: BaseException) -> bool:
    """Whether the wait `exc` asks for is kept to the millisecond by the shared limiter: a
    429 (its `retry_after` is the chat's cooldown in Redis) or a slot. A run for after such a
    wait may start early: its first call sleeps out the rest in place."""
    if isinstance(exc, Throttled):
        return exc.held
    return isinstance(exc, TooManyRequests)


class LimitedCalls:
    """Calls the Bot API for one chat at a time, each in a slot of the shared limits."""

    def __init__(
        self, api: BotApi, client: redis.Redis, limiter: RateLimiter, saturation: Saturation
    ) -> None:
        self.api = api
        self.redis = client
        self.limiter = limiter
        self.saturation = saturation
        self.chat_moves = ChatMoves(client)
        self._after_call = client.register_script(AFTER_CALL_SCRIPT)
        self._scripts: dict[str, Any] = {}
        # Upgraded groups this process met (old id -> new id), so it asks Telegram once.
        self._moved: dict[int, int] = {}

    def call(
        self,
        chat_id: int,
        method: str,
        params: Mapping[str, Any],
        files: Files | None = None,
        *,
        cost: int = 1,
        urgent: bool = True,
        max_wait: float = INLINE_WAIT,
        slot: Slot | None = None,
        then: AfterCall | None = None,
    ) -> Any:
        """Take a slot, call, and on a 429 hold the chat (or the bot) for its `retry_after`.

        The caller has just checked that the chat is reachable (in its claim's round trip),
        maybe taking the slot there too (`slot`); `then` runs in the call's last round trip."""
        attempt, redirected, sending = 0, False, method.startswith("send")
        if sending and chat_id in self._moved:
            params = {**params, "chat_id": self._moved[chat_id]}
        while True:
            attempt += 1
            ticket, known = (slot.ticket, slot.wait) if slot else (new_ticket(), None)
            slot = None  # the caller's slot is this first attempt's
            waited = self._take_slot(chat_id, method, urgent, cost, max_wait, ticket, known)
            answered = False
            try:
                if waited and is_unreachable(self.redis, chat_id):  # found blocked meanwhile
                    raise Forbidden(method, 403, "chat marked unreachable")
                result = self.api.call(method, params, files)
                answered = True
            except ChatMigrated as exc:
                self._follow(int(params["chat_id"]), exc.new_chat_id)
                # An old message cannot be edited any more: it counts as gone, and the edit
                # becomes a new message in the new chat.
                if not sending or redirected:
                    raise BadRequest(method, 400, "message to edit not found (upgraded)") from exc
                params = {**params, "chat_id": exc.new_chat_id}
                redirected = True
            except TooManyRequests as exc:
                self._hold(chat_id, method, exc.retry_after)
                if attempt == MAX_429_INLINE:
                    raise
            finally:  # the bot-wide limit counts this send until a second after its answer
                if not (answered and then is not None):
                    self._answered(ticket, cost)
            if answered:
                if then is not None:  # the bookkeeping and `then` in one round trip
                    self._answered_then(ticket, cost, then, result)
                return result

    def slot_call(
        self, chat_id: int, urgent: bool = True, cost: int = 1
    ) -> tuple[str, list[str], list[Any]]:
        """A fresh ticket, and the KEYS and ARGV of a slot for it (for `and_slot` scripts)."""
        ticket = new_ticket()
        keys, args = self.limiter.limits.acquire_call(chat_id, urgent, cost, ticket)
        return ticket, keys, args

    def script(self, text: str) -> Any:
        """A script registered once per process (the combined ones are built per caller)."""
        found = self._scripts.get(text)
        if found is None:
            found = self._scripts[text] = self.redis.register_script(text)
        return found

    def _answered_then(self, ticket: str, cost: int, then: AfterCall, result: Any) -> None:
        """The bookkeeping and the caller's `then`, in one round trip (its errors are the
        caller's: what `then` records did not happen)."""
        keys, args = then.args_of(result)
        then.reply = self.script(after_call_and(then.script))(
            keys=[GLOBAL_LOG_KEY, SATURATION_KEY, *keys], args=[ticket, max(1, cost), *args]
        )
        then.ran = True

    def _answered(self, ticket: str, cost: int) -> None:
        """The send got its answer (or failed): counted in the bot-wide log and the level.
        Bookkeeping only: with Redis unreachable the send still happened (an unanswered
        ticket stops counting once its in-flight time is over)."""
        try:
            self._after_call(keys=[GLOBAL_LOG_KEY, SATURATION_KEY], args=[ticket, max(1, cost)])
        except redis.RedisError as exc:
            log.warning("send %s answered, not recorded (Redis unavailable): %r", ticket, exc)

    def _take_slot(
        self,
        chat_id: int,
        method: str,
        urgent: bool,
        cost: int,
        max_wait: float,
        ticket: str,
        known: float | None = None,
    ) -> bool:
        """Take a slot, sleeping through a short wait; True when it had to wait. `known`: the
        answer of a try the caller made already with `ticket`."""
        first = known
        if first is None:
            first = self.limiter.try_acquire(chat_id, urgent=urgent, cost=cost, ticket=ticket)
        if first == 0:
            return False
        metrics.send_delayed(urgent)
        wait = self.limiter.acquire(
            chat_id, urgent=urgent, cost=cost, max_wait=max_wait, known_wait=first, ticket=ticket
        )
        if wait > 0:
            raise Throttled(method, wait)
        return True

    def _follow(self, old: int, new: int) -> None:
        """The group is a supergroup now: its records follow it, and so do later sends."""
        self._moved[old] = new
        self.chat_moves.move(old, new)
        log.warning("chat=%s was upgraded to a supergroup: now %s", old, new)

    def _hold(self, chat_id: int, method: str, seconds: float) -> None:
        """Telegram answered 429: every process holds the chat (or the bot) that long."""
        whole_bot = self.limiter.cool_down(chat_id, seconds)
        log.warning(
            "429 on %s chat=%s: holding %s for %.1fs",
            method,
            chat_id,
            "the bot" if whole_bot else "the chat",
            seconds,
        )
