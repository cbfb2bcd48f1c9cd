"""Once-per-key sends: a retried or re-delivered task never makes a chat see a message twice.

Every send names its logical message with a `key` (e.g. `order:P-7K2Q4F:completed`). Before
the call, one round trip answers whether the key was delivered already, the chat blocked the
bot, or another process is sending it right now; otherwise the sender holds a claim on the
key until the message id is recorded as delivered.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import redis

from core.telegram.client import Forbidden, TooManyRequests, TransientError
from core.telegram.handover import FIRST_BACKOFF, PREFIX, Later, Outgoing
from core.telegram.limited_calls import (
    AfterCall,
    Files,
    LimitedCalls,
    Slot,
    Throttled,
    and_slot,
    held_by_limiter,
)
from core.telegram.rate_limiter import INLINE_WAIT
from core.telegram.reachability import mark_unreachable, unreachable_key

log = logging.getLogger(__name__)

# Delivered keys are remembered long enough to outlive any retry or re-delivery.
DELIVERED_TTL = 7 * 24 * 3600
# A send in flight holds its key this long at most (a crashed sender lets go by then).
CLAIM_TTL_MS = 60_000
# When another process is sending the same key right now, look again after this.
CLAIM_WAIT = 1.0

# Compare-and-delete: let go of a claim only if it is still ours (sends' and edits' claims).
# KEYS[1] the claim; ARGV[1] our token.
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

# After a send went out: KEYS[1] the delivered record, KEYS[2] the claim; ARGV[1] the message
# id, ARGV[2] the record's ttl s, ARGV[3] claim token. Records the message id and lets go of
# the claim if still ours.
RECORD_SENT_SCRIPT = """
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
if redis.call('GET', KEYS[2]) == ARGV[3] then redis.call('DEL', KEYS[2]) end
return 1
"""


# The claim, and the call's slot when the key is ours to send ({0, slot answer}): see
# limited_calls.and_slot.
CLAIM_SEND_AND_SLOT = and_slot(CLAIM_SEND_SCRIPT, "answer[1] == 0")


def _first_id(result: Any) -> int:
    """The message id a send returned (an album's first)."""
    first = result[0] if isinstance(result, list) else result
    return int(first["message_id"])


def _not_ours(status: int, found: list[Any], method: str) -> int | None:
    """A key the claim says not to send now: its earlier message id (1), None for a chat
    that blocked the bot (2), Throttled while another process sends it (3)."""
    if status == 1:
        return int(found[0])
    if status == 2:
        return None
    raise Throttled(method, CLAIM_WAIT, held=False)


def delivered_key(key: str) -> str:
    return f"{PREFIX}sent:{key}"


class Sends:
    """Sends messages through the Bot API, each once under its key, in the shared limits."""

    def __init__(
        self,
        calls: LimitedCalls,
        client: redis.Redis,
        later: Later | None = None,
        fence: Callable[[], object] | None = None,
    ) -> None:
        self.calls = calls
        self.redis = client
        self.later = later
        # After a message is recorded as sent: a replica must hold the record too, or a
        # failover could forget it and a re-run task would send the message again.
        self.fence = fence
        self._release = client.register_script(RELEASE_SCRIPT)

    def already_sent(self, key: str) -> int | None:
        """The message id delivered under `key`, if it was."""
        value = self.redis.get(delivered_key(key))
        return int(value) if value is not None else None

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
            self.later.send(message, countdown, held=held_by_limiter(exc))
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
        result = self.send_once(
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
        result = self.send_once(
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
        result = self.send_once(
            chat_id,
            key,
            method,
            {"chat_id": chat_id, "caption": caption or None, "parse_mode": "HTML"},
            files={field: (file_name or path.name, path.read_bytes(), mime_type)},
        )
        return int(result["message_id"]) if isinstance(result, dict) else result

    def send_once(
        self,
        chat_id: int,
        key: str,
        method: str,
        params: dict[str, Any],
        *,
        files: Files | None = None,
        cost: int = 1,
        urgent: bool = True,
        max_wait: float = INLINE_WAIT,
    ) -> Any:
        """Call `method` unless `key` was delivered; the API result, an earlier id, or None."""
        # Two runs of one task (a re-delivery while the first still runs) must not both send.
        claim, delivered, token = f"{PREFIX}sending:{key}", delivered_key(key), secrets.token_hex(8)
        status, found, slot = self._claim(chat_id, claim, delivered, token, urgent, cost)
        if status != 0:
            return _not_ours(status, found, method)
        # Once Telegram answered, the message id is recorded as delivered (and the claim let
        # go) in the call's own last round trip.
        record = AfterCall(
            RECORD_SENT_SCRIPT,
            lambda result: ([delivered, claim], [_first_id(result), DELIVERED_TTL, token]),
        )
        try:
            result = self.calls.call(
                chat_id,
                method,
                params,
                files,
                cost=cost,
                urgent=urgent,
                max_wait=max_wait,
                slot=slot,
                then=record,
            )
            if self.fence is not None:
                self.fence()
            return result
        except Forbidden:
            mark_unreachable(self.redis, chat_id)
            log.warning("chat=%s blocked the bot; not sending there any more", chat_id)
            return None
        finally:
            if not record.ran:
                self.release(claim, token)

    def _claim(
        self, chat_id: int, claim: str, delivered: str, token: str, urgent: bool, cost: int
    ) -> tuple[int, list[Any], Slot]:
        """The claim on a key and, when it is ours to send, the call's slot: one round trip
        (CLAIM_SEND_AND_SLOT). Its status, what came with it, and the slot."""
        ticket, slot_keys, slot_args = self.calls.slot_call(chat_id, urgent, cost)
        claim_keys = [unreachable_key(chat_id), claim, delivered]
        status, *found = self.calls.script(CLAIM_SEND_AND_SLOT)(
            keys=[*claim_keys, *slot_keys],
            args=[len(claim_keys), 3, chat_id, token, CLAIM_TTL_MS, *slot_args],
        )
        wait = int(found[0]) / 1_000_000 if status == 0 else 0.0
        return int(status), found, Slot(ticket, wait)

    def release(self, claim: str, token: str) -> None:
        """Let go of a claim (a send's or an edit's) if it is still ours."""
        self._release(keys=[claim], args=[token])
