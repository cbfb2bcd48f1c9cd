"""The one path every worker message takes to Telegram: once per logical message, in limits.

`Courier.send` takes a `key` naming the logical message (e.g. `order:P-7K2Q4F:completed`);
a key already delivered is not sent again, so a retried or re-delivered task cannot make
the chat see a message twice. Every call first takes a slot from the limiter shared by all
processes (core.telegram.limits); results and alerts are urgent, progress edits are not.

Edits are coalesced per message: `edit` records the text the message should show, and
whoever flushes that message sends only the latest text, and nothing when the chat already
shows it. A wait too long to sleep through in a worker hands the message to `Later`
(the Celery tasks in tasks/delivery.py) instead of holding the worker.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

import redis

from core.chats import ChatMoves
from core.telegram.client import (
    BadRequest,
    BotApi,
    ChatMigrated,
    Forbidden,
    TooManyRequests,
    TransientError,
)
from core.telegram.limits import INLINE_WAIT, RateLimiter, new_ticket
from core.telegram.pressure import Pressure

log = logging.getLogger(__name__)

PREFIX = "pedidos:delivery:"
# Chats that blocked the bot (a 403): nothing more is sent there until they write again,
# one key per chat. It expires after UNREACHABLE_TTL: a send then finds out afresh.
UNREACHABLE_PREFIX = f"{PREFIX}unreachable:"
UNREACHABLE_TTL = 30 * 24 * 3600


def unreachable_key(chat_id: int | str) -> str:
    return f"{UNREACHABLE_PREFIX}{chat_id}"


# Delivered keys are remembered long enough to outlive any retry or re-delivery.
DELIVERED_TTL = 7 * 24 * 3600
# A send in flight holds its key this long at most (a crashed sender lets go by then).
CLAIM_TTL_MS = 60_000
# When another process is sending the same key right now, look again after this.
CLAIM_WAIT = 1.0
# 429s in a row one call sleeps through before giving the wait back to its task.
MAX_429_INLINE = 3
# First retry of a message handed over after a 5xx or a dropped connection.
FIRST_BACKOFF = 1.0
# A progress edit that gave way to urgent sends (core.telegram.pressure) is looked at again after
# this, unless a later edit of its message (at the latest the final one) showed it first.
SHED_DELAY = 5.0

# Compare-and-delete: let go of a claim only if it is still ours.
RELEASE_SCRIPT = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

# Before a send: KEYS[1] the chat's unreachable mark, KEYS[2] the claim, KEYS[3] the
# delivered record; ARGV[1] chat, ARGV[2] claim token, ARGV[3] claim ms. One round trip
# answers whether the key was delivered ({1, message id}), the chat blocked the bot ({2}),
# another process is sending it right now ({3}), or it is ours to send ({0}).
CLAIM_SEND_SCRIPT = """
local sent = redis.call('GET', KEYS[3])
if sent then return {1, sent} end
if redis.call('EXISTS', KEYS[1]) == 1 then return {2} end
if not redis.call('SET', KEYS[2], ARGV[2], 'NX', 'PX', ARGV[3]) then return {3} end
return {0}
"""

# After a send went out: record its message id and let go of the claim if still ours.
RECORD_SENT_SCRIPT = """
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
if redis.call('GET', KEYS[2]) == ARGV[3] then redis.call('DEL', KEYS[2]) end
return 1
"""

# Before an edit: KEYS[1] the chat's unreachable mark, KEYS[2] the message's edit state, KEYS[3] its
# claim, KEYS[4] its replacement (if the customer deleted it); ARGV[1] chat, ARGV[2] the
# wanted text as JSON ('' to flush what is recorded), ARGV[3] state ttl s, ARGV[4] claim
# token, ARGV[5] claim ms. Records the wish and tries the claim in one round trip:
# {-1} unreachable; {0, replaced, claim pttl} claimed by another;
# {1, replaced, version, want, shown}.
BEGIN_EDIT_SCRIPT = """
if redis.call('EXISTS', KEYS[1]) == 1 then return {-1} end
if ARGV[2] ~= '' then
  redis.call('HSET', KEYS[2], 'want', ARGV[2])
  redis.call('HINCRBY', KEYS[2], 'version', 1)
  redis.call('EXPIRE', KEYS[2], ARGV[3])
end
local replaced = redis.call('GET', KEYS[4])
if not redis.call('SET', KEYS[3], ARGV[4], 'NX', 'PX', ARGV[5]) then
  return {0, replaced, redis.call('PTTL', KEYS[3])}
end
local v = redis.call('HMGET', KEYS[2], 'version', 'want', 'shown')
return {1, replaced, v[1], v[2], v[3]}
"""

# After an edit went out: record what the chat shows; when no newer text arrived meanwhile,
# clear the wish and let go of the message in the same step, so a writer who found the
# message claimed can rely on the holder to see its text. 1 when done, 0 to go again.
EDITED_SCRIPT = """
redis.call('HSET', KEYS[1], 'shown', ARGV[2])
if redis.call('HGET', KEYS[1], 'version') ~= ARGV[1] then return 0 end
redis.call('HDEL', KEYS[1], 'want')
if redis.call('GET', KEYS[2]) == ARGV[3] then redis.call('DEL', KEYS[2]) end
return 1
"""


class Throttled(TooManyRequests):
    """The shared limiter says wait `retry_after` seconds: a 429 Telegram never had to send."""

    def __init__(self, method: str, wait: float) -> None:
        super().__init__(method, 429, f"waiting {wait:.2f}s for a slot", wait)


@dataclass(frozen=True)
class Outgoing:
    """One logical text message, in the JSON-safe shape a Celery task can carry."""

    chat_id: int
    text: str
    key: str
    reply_markup: dict[str, Any] | None = None
    urgent: bool = True
    # Further sendMessage parameters (a bot reply handed over: its quote, parse mode...).
    params: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Outgoing:
        return cls(
            chat_id=int(data["chat_id"]),
            text=str(data["text"]),
            key=str(data["key"]),
            reply_markup=data.get("reply_markup"),
            urgent=bool(data.get("urgent", True)),
            params=data.get("params"),
        )


class Later(Protocol):
    """Runs a delivery later, away from the caller's worker slot (Celery countdowns)."""

    def send(self, message: Outgoing, countdown: float) -> None: ...

    def flush(self, chat_id: int, message_id: int, countdown: float) -> None: ...


@dataclass(frozen=True)
class DeadLetter:
    """A message Telegram kept refusing; admins see it in /entregas and may replay it."""

    id: str
    kind: str  # "send" or "edit"
    chat_id: int
    text: str
    error: str
    attempts: int
    at: float
    message: dict[str, Any] | None = None  # an Outgoing, for sends
    message_id: int | None = None  # for edits
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, raw: str) -> DeadLetter:
        return cls(**json.loads(raw))


# Dead letters kept at most (DEAD_LETTERS_MAX); beyond it the oldest go and are counted.
DEAD_LETTERS_MAX = 1000

# KEYS: items hash, order zset, dropped counter. ARGV: id, json, at, cap.
# Adds the letter unless its id is taken (-1: draw another), then drops the oldest beyond
# the cap; returns how many were dropped.
ADD_DEAD_LETTER_SCRIPT = """
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then return -1 end
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
local excess = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[4])
if excess <= 0 then return 0 end
local oldest = redis.call('ZPOPMIN', KEYS[2], excess)
for i = 1, #oldest, 2 do redis.call('HDEL', KEYS[1], oldest[i]) end
redis.call('INCRBY', KEYS[3], excess)
return excess
"""


class DeadLetters:
    """The dead-letter list in Redis: newest first, each taken out at most once, capped."""

    def __init__(self, client: redis.Redis, cap: int = DEAD_LETTERS_MAX) -> None:
        self.redis = client
        self.cap = max(1, cap)
        self._items = f"{PREFIX}dead"
        self._order = f"{PREFIX}dead:order"
        self._dropped = f"{PREFIX}dead:dropped"
        self._add = client.register_script(ADD_DEAD_LETTER_SCRIPT)

    def add(self, letter: DeadLetter) -> DeadLetter:
        """Store the letter under a new id (drawn again if taken: never over another)."""
        while True:
            dropped = int(
                self._add(
                    keys=[self._items, self._order, self._dropped],
                    args=[letter.id, letter.to_json(), letter.at, self.cap],
                )
            )
            if dropped >= 0:
                break
            letter = replace(letter, id=new_letter_id())
        if dropped:
            log.warning("dead letters over %s: dropped the %s oldest", self.cap, dropped)
        return letter

    def dropped(self) -> int:
        """How many letters were dropped, oldest first, to keep the list within its cap."""
        return int(self.redis.get(self._dropped) or 0)

    def add_send(self, message: Outgoing, error: str, attempts: int) -> DeadLetter:
        return self.add(
            DeadLetter(
                id=new_letter_id(),
                kind="send",
                chat_id=message.chat_id,
                text=message.text,
                error=error,
                attempts=attempts,
                at=time.time(),
                message=message.to_dict(),
            )
        )

    def add_edit(
        self, chat_id: int, message_id: int, text: str, error: str, attempts: int
    ) -> DeadLetter:
        return self.add(
            DeadLetter(
                id=new_letter_id(),
                kind="edit",
                chat_id=chat_id,
                text=text,
                error=error,
                attempts=attempts,
                at=time.time(),
                message_id=message_id,
            )
        )

    def count(self) -> int:
        return int(self.redis.zcard(self._order))

    def ids(self) -> list[str]:
        return [str(i) for i in self.redis.zrevrange(self._order, 0, -1)]

    def latest(self, limit: int = 10) -> list[DeadLetter]:
        ids = [str(i) for i in self.redis.zrevrange(self._order, 0, limit - 1)]
        raws = self.redis.hmget(self._items, ids) if ids else []
        return [DeadLetter.from_json(str(raw)) for raw in raws if raw]

    def take(self, letter_id: str) -> DeadLetter | None:
        """Remove one letter and return it; None if it is gone (or someone took it first)."""
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.hget(self._items, letter_id)
            pipe.hdel(self._items, letter_id)
            pipe.zrem(self._order, letter_id)
            raw, removed, _ = pipe.execute()
        return DeadLetter.from_json(raw) if raw and removed else None


def new_letter_id() -> str:
    """E- and 40 random bits: short enough to type in /entregas, and never reused (HSETNX)."""
    return f"E-{secrets.token_hex(5).upper()}"


class Courier:
    """Sends and edits chat messages through the Bot API, once per key, in shared limits."""

    def __init__(
        self,
        api: BotApi,
        client: redis.Redis,
        limiter: RateLimiter | None = None,
        later: Later | None = None,
        dead_letters_max: int = DEAD_LETTERS_MAX,
        fence: Callable[[], object] | None = None,
    ) -> None:
        self.api = api
        # After a message is recorded as sent: a replica must hold the record too, or a
        # failover could forget it and a re-run task would send the message again.
        self.fence = fence
        self.redis = client
        # Without an explicit limiter, still the shared buckets with Telegram's numbers.
        self.limiter = limiter or RateLimiter(client)
        self.pressure = Pressure(client, self.limiter.limits.global_per_second)
        self.later = later
        self.dead_letters = DeadLetters(client, dead_letters_max)
        self._release = client.register_script(RELEASE_SCRIPT)
        self._claim_send = client.register_script(CLAIM_SEND_SCRIPT)
        self._record_sent = client.register_script(RECORD_SENT_SCRIPT)
        self._begin_edit = client.register_script(BEGIN_EDIT_SCRIPT)
        self._edited = client.register_script(EDITED_SCRIPT)
        self.chat_moves = ChatMoves(client)
        # Upgraded groups this process met (old id -> new id), so it asks Telegram once.
        self._moved: dict[int, int] = {}

    # --- what the chats can and did receive -------------------------------------------

    def _delivered_key(self, key: str) -> str:
        return f"{PREFIX}sent:{key}"

    def unreachable(self, chat_id: int) -> bool:
        """Whether the chat blocked the bot (a 403), so nothing more is sent there."""
        return bool(self.redis.exists(unreachable_key(chat_id)))

    def mark_unreachable(self, chat_id: int) -> None:
        self.redis.set(unreachable_key(chat_id), 1, ex=UNREACHABLE_TTL)

    def mark_reachable(self, chat_id: int) -> None:
        """The chat wrote to the bot again, so it unblocked it."""
        mark_reachable(self.redis, chat_id)

    def already_sent(self, key: str) -> int | None:
        """The message id delivered under `key`, if it was."""
        value = self.redis.get(self._delivered_key(key))
        return int(value) if value is not None else None

    # --- sends ------------------------------------------------------------------------

    def send(
        self,
        chat_id: int,
        text: str,
        *,
        key: str,
        reply_markup: dict[str, Any] | None = None,
        urgent: bool = True,
    ) -> int | None:
        """Send `text` once under `key`; the message id, or None if not delivered now.

        None means the chat is unreachable, or the message was handed to `Later` (a long
        wait for a slot, or Telegram failing) and will arrive from there, still once.
        """
        message = Outgoing(chat_id, text, key, reply_markup, urgent)
        try:
            return self.deliver(message)
        except (TooManyRequests, TransientError) as exc:
            if self.later is None:
                raise
            countdown = exc.retry_after if isinstance(exc, TooManyRequests) else FIRST_BACKOFF
            log.info("chat=%s key=%s handed over for %.2fs: %s", chat_id, key, countdown, exc)
            self.later.send(message, countdown)
            return None

    def deliver(self, message: Outgoing) -> int | None:
        """Send one message now, sleeping through short waits.

        Raises Throttled for a long wait, TransientError when Telegram fails, BadRequest when
        it refuses the message; None when the chat is unreachable.
        """
        params = {
            "chat_id": message.chat_id,
            "text": message.text,
            "parse_mode": "HTML",
            "reply_markup": message.reply_markup,
            "link_preview_options": {"is_disabled": True},
            **(message.params or {}),
        }
        result = self._send_once(
            message.chat_id, message.key, "sendMessage", params, urgent=message.urgent
        )
        return int(result["message_id"]) if isinstance(result, dict) else result

    def send_album(
        self, chat_id: int, items: Sequence[tuple[Path, str]], *, key: str
    ) -> int | None:
        """Send photos (path, caption) as one album once under `key`; its first message id.

        The files are on this worker's disk, so an album is never handed to another task:
        a long wait raises Throttled and a failure TransientError, for the caller's task to
        retry as a whole.
        """
        media = [
            {
                "type": "photo",
                "media": f"attach://photo{i}",
                "caption": caption,
                "parse_mode": "HTML",
            }
            for i, (_, caption) in enumerate(items)
        ]
        files = {
            f"photo{i}": (path.name, path.read_bytes(), "image/jpeg")
            for i, (path, _) in enumerate(items)
        }
        result = self._send_once(
            chat_id,
            key,
            "sendMediaGroup",
            {"chat_id": chat_id, "media": media},
            files=files,
            cost=len(items),
        )
        if isinstance(result, list):
            return int(result[0]["message_id"])
        return result

    def send_file(
        self,
        chat_id: int,
        method: str,
        path: Path,
        *,
        key: str,
        caption: str = "",
        file_name: str | None = None,
        mime_type: str = "application/octet-stream",
    ) -> int | None:
        """sendDocument or sendPhoto of a file on this worker's disk, once under `key`.

        Like an album, never handed to another task: a long wait raises Throttled and a
        failure TransientError, for the caller's task to retry.
        """
        field = "photo" if method == "sendPhoto" else "document"
        # Bytes, not a file object: a 429 inside the call sends the same body again.
        result = self._send_once(
            chat_id,
            key,
            method,
            {"chat_id": chat_id, "caption": caption or None, "parse_mode": "HTML"},
            files={field: (file_name or path.name, path.read_bytes(), mime_type)},
        )
        return int(result["message_id"]) if isinstance(result, dict) else result

    def _send_once(
        self,
        chat_id: int,
        key: str,
        method: str,
        params: dict[str, Any],
        *,
        files: Mapping[str, tuple[str, bytes, str]] | None = None,
        cost: int = 1,
        urgent: bool = True,
        max_wait: float = INLINE_WAIT,
    ) -> Any:
        """Call `method` unless `key` was delivered; the API result, an earlier id, or None."""
        # Two runs of one task (a re-delivery while the first still runs) must not both send.
        claim = f"{PREFIX}sending:{key}"
        delivered = self._delivered_key(key)
        token = secrets.token_hex(8)
        status, *found = self._claim_send(
            keys=[unreachable_key(chat_id), claim, delivered], args=[chat_id, token, CLAIM_TTL_MS]
        )
        if status == 1:
            return int(found[0])
        if status == 2:
            return None
        if status == 3:
            raise Throttled(method, CLAIM_WAIT)
        recorded = False
        try:
            result = self._call_in_limits(chat_id, method, params, files, cost, urgent, max_wait)
            first = result[0] if isinstance(result, list) else result
            self._record_sent(
                keys=[delivered, claim], args=[int(first["message_id"]), DELIVERED_TTL, token]
            )
            recorded = True
            if self.fence is not None:
                self.fence()
            return result
        except Forbidden:
            self.mark_unreachable(chat_id)
            log.warning("chat=%s blocked the bot; not sending there any more", chat_id)
            return None
        finally:
            if not recorded:
                self._release(keys=[claim], args=[token])

    def _call_in_limits(
        self,
        chat_id: int,
        method: str,
        params: Mapping[str, Any],
        files: Mapping[str, tuple[str, bytes, str]] | None,
        cost: int,
        urgent: bool,
        max_wait: float = INLINE_WAIT,
    ) -> Any:
        """Take a slot, call, and on a 429 hold the chat (or the bot) for its `retry_after`.

        The caller has just checked that the chat is reachable (in its claim's round trip).
        """
        attempt = 0
        redirected = False
        sending = method.startswith("send")
        if sending and chat_id in self._moved:
            params = {**params, "chat_id": self._moved[chat_id]}
        while True:
            attempt += 1
            ticket = new_ticket()
            waited = self._take_slot(chat_id, method, urgent, cost, max_wait, ticket)
            self.pressure.note_sent(cost)
            try:
                # While this waited for its slot, another send may have found the chat blocked.
                if waited and self.unreachable(chat_id):
                    raise Forbidden(method, 403, "chat marked unreachable")
                return self.api.call(method, params, files)
            except ChatMigrated as exc:
                # The group is a supergroup now: its records follow it, and the message goes
                # there. An old message cannot be edited any more: it counts as gone, and the
                # edit becomes a new message in the new chat.
                old = int(params["chat_id"])
                self._moved[old] = exc.new_chat_id
                self.chat_moves.move(old, exc.new_chat_id)
                log.warning("chat=%s was upgraded to a supergroup: now %s", old, exc.new_chat_id)
                if not sending or redirected:
                    raise BadRequest(method, 400, "message to edit not found (upgraded)") from exc
                params = {**params, "chat_id": exc.new_chat_id}
                redirected = True
            except TooManyRequests as exc:
                whole_bot = self.limiter.cool_down(chat_id, exc.retry_after)
                log.warning(
                    "429 on %s chat=%s: holding %s for %.1fs",
                    method,
                    chat_id,
                    "the bot" if whole_bot else "the chat",
                    exc.retry_after,
                )
                if attempt == MAX_429_INLINE:
                    raise
            finally:
                # The bot-wide limit counts this send until a second after its answer.
                self.limiter.answered(ticket, cost)

    def _take_slot(
        self, chat_id: int, method: str, urgent: bool, cost: int, max_wait: float, ticket: str
    ) -> bool:
        """Take a slot, sleeping through a short wait; True when it had to wait."""
        first = self.limiter.try_acquire(chat_id, urgent=urgent, cost=cost, ticket=ticket)
        if first == 0:
            return False
        wait = self.limiter.acquire(
            chat_id, urgent=urgent, cost=cost, max_wait=max_wait, known_wait=first, ticket=ticket
        )
        if wait > 0:
            raise Throttled(method, wait)
        return True

    def remove_buttons(self, chat_id: int, message_id: int) -> None:
        """Take the inline keyboard off a message, in the shared limits like every call.

        Raises BotApiError (a ForceReply question has no keyboard: 400), Throttled for a
        long wait; a blocked chat is marked unreachable.
        """
        params = {
            "chat_id": chat_id,
            "message_id": message_id,
            "reply_markup": {"inline_keyboard": []},
        }
        try:
            self._call_in_limits(chat_id, "editMessageReplyMarkup", params, None, 1, urgent=False)
        except Forbidden:
            self.mark_unreachable(chat_id)
            raise

    # --- coalesced edits --------------------------------------------------------------

    def _edit_state(self, chat_id: int, message_id: int) -> str:
        return f"{PREFIX}edit:{chat_id}:{message_id}"

    def _replaced_key(self, chat_id: int, message_id: int) -> str:
        return f"{PREFIX}replaced:{chat_id}:{message_id}"

    def showing(self, chat_id: int, message_id: int) -> int:
        """The message that shows what `message_id` should (its replacement if deleted)."""
        for _ in range(5):  # a replacement can itself be deleted and replaced
            newer = self.redis.get(self._replaced_key(chat_id, message_id))
            if newer is None:
                break
            message_id = int(newer)
        return message_id

    def edit(
        self,
        chat_id: int,
        message_id: int,
        text: str,
        *,
        reply_markup: dict[str, Any] | None = None,
        key: str | None = None,
        final: bool = False,
    ) -> int | None:
        """Show `text` in a message; the id of the message showing it (new if it was deleted).

        The text replaces any older one of this message not yet sent, and is skipped when
        the chat already shows it. Plain progress (no `key`) never waits: without a free
        slot it is left to one later flush, which shows whatever text is newest by then. A
        `key` names a state worth seeing (an order's step): it waits briefly for its slot,
        so a quick succession of states still shows each one. When the wait is long the
        text is left to a flush too; the id returned is the message that will show it.

        A `final` text (the message's last form: an order done, failed or cancelled) is as
        urgent as a result. Any other text gives way while sends saturate the bot
        (core.telegram.pressure): it is only recorded, for the next edit or a flush to show.
        """
        wanted = json.dumps(
            {"text": text, "reply_markup": reply_markup, "final": final}, ensure_ascii=False
        )
        if not final and self.pressure.saturated():
            self._record_wish(chat_id, message_id, wanted)
            if self.later is not None:
                self.flush_later(chat_id, message_id, SHED_DELAY)
            return self.showing(chat_id, message_id)
        try:
            return self._flush(chat_id, message_id, INLINE_WAIT if key or final else 0.0, wanted)
        except (TooManyRequests, TransientError) as exc:
            if self.later is None:
                raise
            countdown = exc.retry_after if isinstance(exc, TooManyRequests) else FIRST_BACKOFF
            self.flush_later(chat_id, message_id, countdown)
            return self.showing(chat_id, message_id)

    def _record_wish(self, chat_id: int, message_id: int, wanted: str) -> None:
        """Record the text a message should show, without sending it (BEGIN_EDIT's first
        half: whoever holds or next takes the message sends the newest wish)."""
        state = self._edit_state(chat_id, message_id)
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(state, "want", wanted)
            pipe.hincrby(state, "version", 1)
            pipe.expire(state, DELIVERED_TTL)
            pipe.execute()

    def flush_later(self, chat_id: int, message_id: int, countdown: float) -> None:
        """Have `Later` flush the message, unless a flush is already on its way."""
        assert self.later is not None
        marker = f"{PREFIX}flush:{chat_id}:{message_id}"
        if self.redis.set(marker, 1, nx=True, px=int((countdown + 30) * 1000)):
            self.later.flush(chat_id, message_id, countdown)

    def flush_started(self, chat_id: int, message_id: int) -> None:
        """A scheduled flush runs now: later edits may schedule the next one."""
        self.redis.delete(f"{PREFIX}flush:{chat_id}:{message_id}")

    def pending_text(self, chat_id: int, message_id: int) -> str | None:
        """The text a message should show and does not yet, if any."""
        raw = self.redis.hget(self._edit_state(chat_id, message_id), "want")
        return str(json.loads(raw)["text"]) if raw else None

    def flush(self, chat_id: int, message_id: int, max_wait: float = INLINE_WAIT) -> int | None:
        """Show the latest wanted text of a message now; the id of the message showing it.

        Raises Throttled for a long wait and TransientError when Telegram fails; the wanted
        text stays recorded, so a later flush shows it (or a newer one).
        """
        return self._flush(chat_id, message_id, max_wait, wanted="")

    def _flush(self, chat_id: int, message_id: int, max_wait: float, wanted: str) -> int | None:
        """Record `wanted` (unless empty) and flush, starting with one round trip."""
        state = self._edit_state(chat_id, message_id)
        claim = f"{PREFIX}editing:{chat_id}:{message_id}"
        token = secrets.token_hex(8)
        status, *found = self._begin_edit(
            keys=[unreachable_key(chat_id), state, claim, self._replaced_key(chat_id, message_id)],
            args=[chat_id, wanted, DELIVERED_TTL, token, CLAIM_TTL_MS],
        )
        if status == -1:
            return None
        # A deleted message's replacement can itself be replaced: follow the chain (rare).
        target = message_id if found[0] is None else self.showing(chat_id, message_id)
        if status == 0:
            # Whoever holds the message sees our text before letting go (EDITED_SCRIPT). A
            # holder that died between Telegram's answer and that step never lets go: the claim
            # expires, and a flush at that moment shows the text (a no-op if the holder did).
            if self.later is not None:
                self.flush_later(chat_id, message_id, max(int(found[1]), 0) / 1000 + 0.1)
            return target
        version, want, shown = found[1:4]
        released = False
        try:
            progress = bool(want) and not json.loads(want).get("final")
            if not wanted and progress and self.pressure.saturated():
                # A scheduled flush of progress: still giving way while sends saturate the bot.
                raise Throttled("editMessageText", SHED_DELAY)
            while True:
                if want is None:
                    return target
                shown_in: int | None = target
                if want != shown:
                    shown_in = self._edit_now(chat_id, target, json.loads(want), max_wait)
                    if shown_in is None:
                        return None
                if self._edited(keys=[state, claim], args=[version or "", want, token]):
                    released = True
                    return shown_in
                # A newer text arrived while this one went out: show that one too.
                target = self.showing(chat_id, message_id)
                version, want, shown = self.redis.hmget(state, "version", "want", "shown")
        finally:
            if not released:
                self._release(keys=[claim], args=[token])

    def _edit_now(
        self, chat_id: int, target: int, wanted: dict[str, Any], max_wait: float
    ) -> int | None:
        """One editMessageText in limits; the id now showing the text, None if unreachable."""
        params = {
            "chat_id": chat_id,
            "message_id": target,
            "text": wanted["text"],
            "parse_mode": "HTML",
            "reply_markup": wanted.get("reply_markup"),
            "link_preview_options": {"is_disabled": True},
        }
        urgent = bool(wanted.get("final"))
        try:
            self._call_in_limits(
                chat_id, "editMessageText", params, None, 1, urgent=urgent, max_wait=max_wait
            )
        except BadRequest as exc:
            if exc.not_modified:
                return target  # the chat already shows it: that is what we wanted
            if not exc.message_gone:
                raise
            # The customer deleted the message: show the text in a new one, sent once.
            sent = self._send_once(
                chat_id,
                f"replace:{chat_id}:{target}",
                "sendMessage",
                {**params, "message_id": None},
                urgent=urgent,
                max_wait=max_wait,
            )
            if sent is None:
                return None
            new_id = int(sent["message_id"]) if isinstance(sent, dict) else int(sent)
            self.redis.set(self._replaced_key(chat_id, target), new_id, ex=DELIVERED_TTL)
            log.info("chat=%s message=%s was deleted; now shown in %s", chat_id, target, new_id)
            return new_id
        except Forbidden:
            self.mark_unreachable(chat_id)
            log.warning("chat=%s blocked the bot; not sending there any more", chat_id)
            return None
        return target


def mark_reachable(client: redis.Redis, chat_id: int) -> None:
    """The chat wrote to the bot, so it no longer blocks it: sending there may resume."""
    client.delete(unreachable_key(chat_id))
