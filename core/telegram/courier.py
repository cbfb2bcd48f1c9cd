"""The one path every worker message takes to Telegram: once per logical message, in limits.

`Courier.send` takes a `key` naming the logical message (e.g. `order:P-7K2Q4F:completed`);
a key already delivered is not sent again, so a retried or re-delivered task cannot make
the chat see a message twice (core.telegram.once_per_key). Every call first takes a slot from the
limiter shared by all processes (core.telegram.limited_calls); results and alerts are urgent,
progress edits are not.

Edits are coalesced per message (core.telegram.coalesced_edits): `edit` records the text the message
should show, and whoever flushes that message sends only the latest text. A wait too long to
sleep through in a worker hands the message to `Later` (the Celery tasks in tasks/delivery.py)
instead of holding the worker; what Telegram keeps refusing ends in the dead letters
(core.telegram.dead_letters).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import redis

from core.telegram.client import BotApi, Forbidden
from core.telegram.coalesced_edits import Edits
from core.telegram.dead_letters import DEAD_LETTERS_MAX, DeadLetters
from core.telegram.handover import Later, Outgoing
from core.telegram.limited_calls import LimitedCalls
from core.telegram.once_per_key import Sends
from core.telegram.rate_limiter import INLINE_WAIT, RateLimiter
from core.telegram.reachability import mark_unreachable
from core.telegram.saturation import Saturation


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
        self.redis = client
        # Without an explicit limiter, still the shared buckets with Telegram's numbers.
        self.limiter = limiter or RateLimiter(client)
        self.saturation = Saturation(client, self.limiter.limits.global_per_second)
        self.later = later
        self.dead_letters = DeadLetters(client, dead_letters_max)
        self.calls = LimitedCalls(api, client, self.limiter, self.saturation)
        self.chat_moves = self.calls.chat_moves
        self.sends = Sends(self.calls, client, later, fence)
        self.edits = Edits(self.calls, self.sends, client, self.saturation, later)

    # --- sends (core.telegram.once_per_key) ---------------------------------------------------

    def already_sent(self, key: str) -> int | None:
        """The message id delivered under `key`, if it was."""
        return self.sends.already_sent(key)

    def send(
        self,
        chat_id: int,
        text: str,
        *,
        key: str,
        reply_markup: dict[str, Any] | None = None,
        urgent: bool = True,
    ) -> int | None:
        """Send `text` once under `key`; see Sends.send."""
        return self.sends.send(chat_id, text, key=key, reply_markup=reply_markup, urgent=urgent)

    def deliver(self, message: Outgoing) -> int | None:
        """Send one message now, sleeping through short waits; see Sends.deliver."""
        return self.sends.deliver(message)

    def send_album(
        self, chat_id: int, items: Sequence[tuple[Path, str]], *, key: str
    ) -> int | None:
        """Send photos as one album once under `key`; see Sends.send_album."""
        return self.sends.send_album(chat_id, items, key=key)

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
        """sendDocument or sendPhoto once under `key`; see Sends.send_file."""
        return self.sends.send_file(
            chat_id,
            method,
            path,
            key=key,
            caption=caption,
            file_name=file_name,
            mime_type=mime_type,
        )

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
            self.calls.call(chat_id, "editMessageReplyMarkup", params, urgent=False)
        except Forbidden:
            mark_unreachable(self.redis, chat_id)
            raise

    # --- coalesced edits (core.telegram.coalesced_edits) -----------------------------------------

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
        """Show `text` in a message; the id of the message showing it. See Edits.edit."""
        return self.edits.edit(
            chat_id, message_id, text, reply_markup=reply_markup, key=key, final=final
        )

    def flush(self, chat_id: int, message_id: int, max_wait: float = INLINE_WAIT) -> int | None:
        """Show the latest wanted text of a message now; see Edits.flush."""
        return self.edits.flush(chat_id, message_id, max_wait)

    def flush_started(self, chat_id: int, message_id: int) -> None:
        """A scheduled flush runs now: later edits may schedule the next one."""
        self.edits.flush_started(chat_id, message_id)

    def pending_text(self, chat_id: int, message_id: int) -> str | None:
        """The text a message should show and does not yet, if any."""
        return self.edits.pending_text(chat_id, message_id)
