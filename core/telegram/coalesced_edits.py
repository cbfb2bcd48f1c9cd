"""Coalesced status edits: a message shows its newest text, sent once, whoever edits it.

`edit` records the text a message should show; the holder of the message's edit claim sends
only the latest text, none the chat already shows. A writer finding the message claimed leaves
its text to the holder (EDITED_SCRIPT); a long wait hands it to `Later` for a flush. While
sends saturate the bot (core.telegram.saturation), progress edits give way to final texts.
"""

from __future__ import annotations

import json
import logging
import secrets
from typing import Any

import redis

from core.telegram.client import BadRequest, Forbidden, TooManyRequests, TransientError
from core.telegram.handover import FIRST_BACKOFF, PREFIX, Later
from core.telegram.limited_calls import (
    AfterCall,
    LimitedCalls,
    Slot,
    Throttled,
    and_slot,
    held_by_limiter,
)
from core.telegram.once_per_key import CLAIM_TTL_MS, DELIVERED_TTL, Sends
from core.telegram.rate_limiter import INLINE_WAIT
from core.telegram.reachability import mark_unreachable, unreachable_key
from core.telegram.saturation import KEY as SATURATION_KEY
from core.telegram.saturation import LEVEL_SCRIPT, Saturation

log = logging.getLogger(__name__)

# A progress edit that gave way to urgent sends (core.telegram.saturation) is looked at again
# after this, unless a later edit of its message (at the latest the final one) showed it first.
SHED_DELAY = 5.0
# A claimed message is flushed this soon (and again while claimed), not when the claim ends.
HOLDER_RECHECK = 5.0

# Before an edit: KEYS[1] the chat's unreachable mark, KEYS[2] the message's edit state, KEYS[3] its
# claim, KEYS[4] its replacement (if the customer deleted it); ARGV[1] chat, ARGV[2] the
# wanted text as JSON ('' to flush what is recorded), ARGV[3] state ttl s, ARGV[4] claim
# token, ARGV[5] claim ms. Records the wish and tries the claim in one round trip:
# {-1} unreachable; {0, replaced, claim pttl} claimed by another;
# {1, replaced, version, want, shown}.
# With ARGV[6] > 0 (a progress text: the saturation threshold) and KEYS[5] the saturation
# level at or past it, the wish is only recorded: {-2} (core.telegram.saturation).
BEGIN_EDIT_SCRIPT = f"""
local function level(KEYS)
{LEVEL_SCRIPT}
end
if redis.call('EXISTS', KEYS[1]) == 1 then return {{-1}} end
if ARGV[2] ~= '' then
  redis.call('HSET', KEYS[2], 'want', ARGV[2])
  redis.call('HINCRBY', KEYS[2], 'version', 1)
  redis.call('EXPIRE', KEYS[2], ARGV[3])
end
if tonumber(ARGV[6]) > 0 and tonumber(level({{KEYS[5]}})) >= tonumber(ARGV[6]) then
  return {{-2}}
end
local replaced = redis.call('GET', KEYS[4])
if not redis.call('SET', KEYS[3], ARGV[4], 'NX', 'PX', ARGV[5]) then
  return {{0, replaced, redis.call('PTTL', KEYS[3])}}
end
local v = redis.call('HMGET', KEYS[2], 'version', 'want', 'shown')
return {{1, replaced, v[1], v[2], v[3]}}
"""

# After an edit went out: KEYS[1] the edit state, KEYS[2] the claim; ARGV[1] the version
# shown, ARGV[2] the text shown, ARGV[3] claim token. Records what the chat shows; when no
# newer text arrived meanwhile, clears the wish and lets go of the message in the same step,
# so a writer who found the message claimed can rely on the holder to see its text.
# 1 when done, 0 to go again.
EDITED_SCRIPT = """
redis.call('HSET', KEYS[1], 'shown', ARGV[2])
if redis.call('HGET', KEYS[1], 'version') ~= ARGV[1] then return 0 end
redis.call('HDEL', KEYS[1], 'want')
if redis.call('GET', KEYS[2]) == ARGV[3] then redis.call('DEL', KEYS[2]) end
return 1
"""


def _state_key(chat_id: int, message_id: int) -> str:
    return f"{PREFIX}edit:{chat_id}:{message_id}"


def _claim_key(chat_id: int, message_id: int) -> str:
    return f"{PREFIX}editing:{chat_id}:{message_id}"


def _replaced_key(chat_id: int, message_id: int) -> str:
    return f"{PREFIX}replaced:{chat_id}:{message_id}"


# And the edit's slot when ours to make: {1, replaced, version, want, shown, slot answer}.
BEGIN_EDIT_AND_SLOT = and_slot(BEGIN_EDIT_SCRIPT, "answer[1] == 1 and answer[4] ~= answer[5]")


def _is_progress(want: str | None) -> bool:
    """Whether a recorded wish is an intermediate text (not a message's final form)."""
    return bool(want) and not json.loads(want or "{}").get("final")


class Edits:
    """Edits of chat messages, coalesced per message, in the shared limits."""

    def __init__(
        self,
        calls: LimitedCalls,
        sends: Sends,
        client: redis.Redis,
        saturation: Saturation,
        later: Later | None = None,
    ) -> None:
        self.calls = calls
        self.sends = sends
        self.redis = client
        self.saturation = saturation
        self.later = later
        self._begin_edit = client.register_script(BEGIN_EDIT_SCRIPT)
        self._edited = client.register_script(EDITED_SCRIPT)

    def showing(self, chat_id: int, message_id: int) -> int:
        """The message that shows what `message_id` should (its replacement if deleted)."""
        for _ in range(5):  # a replacement can itself be deleted and replaced
            newer = self.redis.get(_replaced_key(chat_id, message_id))
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
        (core.telegram.saturation): it is only recorded, for the next edit or a flush to show.
        """
        wanted = json.dumps(
            {"text": text, "reply_markup": reply_markup, "final": final}, ensure_ascii=False
        )
        # Saturation is asked in the edit's first round trip (which then only records it).
        shed_at = 0.0 if final else self.saturation.threshold
        wait = INLINE_WAIT if key or final else 0.0
        try:
            return self._flush(chat_id, message_id, wait, wanted, shed_at)
        except (TooManyRequests, TransientError) as exc:
            if self.later is None:
                raise
            countdown = exc.retry_after if isinstance(exc, TooManyRequests) else FIRST_BACKOFF
            self.flush_later(chat_id, message_id, countdown, held=held_by_limiter(exc))
            return self.showing(chat_id, message_id)

    def flush_later(
        self, chat_id: int, message_id: int, countdown: float, *, held: bool = False
    ) -> None:
        """Have `Later` flush the message, unless a flush is already on its way."""
        assert self.later is not None
        marker = f"{PREFIX}flush:{chat_id}:{message_id}"
        if self.redis.set(marker, 1, nx=True, px=int((countdown + 30) * 1000)):
            self.later.flush(chat_id, message_id, countdown, held=held)

    def flush_started(self, chat_id: int, message_id: int) -> None:
        """A scheduled flush runs now: later edits may schedule the next one."""
        self.redis.delete(f"{PREFIX}flush:{chat_id}:{message_id}")

    def pending_text(self, chat_id: int, message_id: int) -> str | None:
        """The text a message should show and does not yet, if any."""
        raw = self.redis.hget(_state_key(chat_id, message_id), "want")
        return str(json.loads(raw)["text"]) if raw else None

    def flush(self, chat_id: int, message_id: int, max_wait: float = INLINE_WAIT) -> int | None:
        """Show the latest wanted text of a message now; the id of the message showing it.

        Raises Throttled for a long wait and TransientError when Telegram fails; the wanted
        text stays recorded, so a later flush shows it (or a newer one).
        """
        return self._flush(chat_id, message_id, max_wait, wanted="")

    def _flush(
        self, chat_id: int, message_id: int, max_wait: float, wanted: str, shed_at: float = 0.0
    ) -> int | None:
        """Record `wanted` (unless empty) and flush, starting with one round trip; with
        `shed_at` (a saturation level), only record it when the level is that high."""
        token = secrets.token_hex(8)
        status, found, slot = self._begin(chat_id, message_id, wanted, token, shed_at)
        if status == -1:
            return None
        if status == -2:
            # Recorded only: the next edit (at the latest the final one) or a flush shows it.
            if self.later is not None:
                self.flush_later(chat_id, message_id, SHED_DELAY)
            return self.showing(chat_id, message_id)
        # A deleted message's replacement can itself be replaced: follow the chain (rare).
        target = message_id if found[0] is None else self.showing(chat_id, message_id)
        if status == 0:
            # The holder sees our text before letting go (EDITED_SCRIPT); one that died first
            # never does: a flush after its claim expired shows it (else that is a no-op).
            if self.later is not None:
                wait = min(max(int(found[1]), 0) / 1000, HOLDER_RECHECK) + 0.1
                self.flush_later(chat_id, message_id, wait)
            return target
        if not wanted and _is_progress(found[2]) and self.saturation.saturated():
            # A scheduled flush of progress: still giving way while sends saturate the bot.
            self.sends.release(_claim_key(chat_id, message_id), token)
            raise Throttled("editMessageText", SHED_DELAY, held=False)
        return self._show_newest(chat_id, message_id, target, token, found[1:4], max_wait, slot)

    def _begin(
        self, chat_id: int, message_id: int, wanted: str, token: str, shed_at: float
    ) -> tuple[int, list[Any], Slot | None]:
        """BEGIN_EDIT's round trip; with our own text, the edit's slot taken in it too."""
        keys = [unreachable_key(chat_id), _state_key(chat_id, message_id)]
        keys += [
            _claim_key(chat_id, message_id),
            _replaced_key(chat_id, message_id),
            SATURATION_KEY,
        ]
        args: list[Any] = [chat_id, wanted, DELIVERED_TTL, token, CLAIM_TTL_MS, shed_at]
        if not wanted:
            status, *found = self._begin_edit(keys=keys, args=args)
            return status, found, None
        ticket, slot_keys, slot_args = self.calls.slot_call(
            chat_id, bool(json.loads(wanted).get("final"))
        )
        status, *found = self.calls.script(BEGIN_EDIT_AND_SLOT)(
            keys=[*keys, *slot_keys], args=[len(keys), len(args), *args, *slot_args]
        )
        if status == 1 and len(found) == 5:
            return status, found, Slot(ticket, int(found.pop()) / 1_000_000)
        return status, found, None

    def _show_newest(
        self,
        chat_id: int,
        message_id: int,
        target: int,
        token: str,
        recorded: list[Any],
        max_wait: float,
        slot: Slot | None = None,
    ) -> int | None:
        """Holding the message's claim: show its newest wanted text, then let go of it
        (`slot`: the first edit's, taken with the claim)."""
        state, claim = _state_key(chat_id, message_id), _claim_key(chat_id, message_id)
        version, want, shown = recorded
        released = False
        try:
            while want is not None:
                shown_in: int | None = target
                # What the chat shows is recorded in the edit's own last round trip.
                done = [version or "", want, token]
                after = AfterCall.fixed(EDITED_SCRIPT, [state, claim], done)
                if want != shown:
                    shown_in = self._edit_now(
                        chat_id, target, json.loads(want), max_wait, slot, after
                    )
                    slot = None
                    if shown_in is None:
                        return None
                if not after.ran:
                    after.reply = self._edited(keys=[state, claim], args=done)
                if after.reply:
                    released = True
                    return shown_in
                # A newer text arrived while this one went out: show that one too.
                target = self.showing(chat_id, message_id)
                version, want, shown = self.redis.hmget(state, "version", "want", "shown")
            return target
        finally:
            if not released:
                self.sends.release(claim, token)

    def _edit_now(
        self,
        chat_id: int,
        target: int,
        wanted: dict[str, Any],
        max_wait: float,
        slot: Slot | None = None,
        then: AfterCall | None = None,
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
            self.calls.call(
                chat_id,
                "editMessageText",
                params,
                urgent=urgent,
                max_wait=max_wait,
                slot=slot,
                then=then,
            )
        except BadRequest as exc:
            if exc.not_modified:
                return target  # the chat already shows it: that is what we wanted
            if not exc.message_gone:
                raise
            return self._replace(chat_id, target, params, urgent, max_wait)
        except Forbidden:
            mark_unreachable(self.redis, chat_id)
            log.warning("chat=%s blocked the bot; not sending there any more", chat_id)
            return None
        return target

    def _replace(
        self, chat_id: int, target: int, params: dict[str, Any], urgent: bool, max_wait: float
    ) -> int | None:
        """The customer deleted the message: show the text in a new one, sent once."""
        sent = self.sends.send_once(
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
        self.redis.set(_replaced_key(chat_id, target), new_id, ex=DELIVERED_TTL)
        log.info("chat=%s message=%s was deleted; now shown in %s", chat_id, target, new_id)
        return new_id
