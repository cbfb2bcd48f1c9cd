"""The one path every worker message takes to Telegram: once per logical message, in limits.

`Courier.send` takes a `key` naming the logical message (e.g. `order:P-7K2Q4F:completed`);
a key already delivered is not sent again, so a retried or re-delivered task cannot make
the chat see a message twice.
"""

from __future__ import annotations

import logging
from typing import Any

import redis

from core.botapi import BadRequest, BotApi, Forbidden

log = logging.getLogger(__name__)

PREFIX = "pedidos:delivery:"
# Delivered keys are remembered long enough to outlive any retry or re-delivery.
DELIVERED_TTL = 7 * 24 * 3600


class Courier:
    """Sends and edits chat messages through the Bot API, once per key."""

    def __init__(self, api: BotApi, client: redis.Redis) -> None:
        self.api = api
        self.redis = client

    def _delivered_key(self, key: str) -> str:
        return f"{PREFIX}sent:{key}"

    def unreachable(self, chat_id: int) -> bool:
        """Whether the chat blocked the bot (a 403), so nothing more is sent there."""
        return bool(self.redis.sismember(f"{PREFIX}unreachable", chat_id))

    def mark_unreachable(self, chat_id: int) -> None:
        self.redis.sadd(f"{PREFIX}unreachable", chat_id)

    def mark_reachable(self, chat_id: int) -> None:
        """The chat wrote to the bot again, so it unblocked it."""
        self.redis.srem(f"{PREFIX}unreachable", chat_id)

    def already_sent(self, key: str) -> int | None:
        """The message id delivered under `key`, if it was."""
        value = self.redis.get(self._delivered_key(key))
        return int(value) if value is not None else None

    def send(
        self,
        chat_id: int,
        text: str,
        *,
        key: str,
        reply_markup: dict[str, Any] | None = None,
    ) -> int | None:
        """Send `text` once under `key`; the message id, or None if the chat is unreachable."""
        previous = self.already_sent(key)
        if previous is not None:
            return previous
        if self.unreachable(chat_id):
            log.info("skip send to unreachable chat=%s key=%s", chat_id, key)
            return None
        try:
            message = self.api.call(
                "sendMessage",
                {
                    "chat_id": chat_id,
                    "text": text,
                    "parse_mode": "HTML",
                    "reply_markup": reply_markup,
                    "link_preview_options": {"is_disabled": True},
                },
            )
        except Forbidden:
            self.mark_unreachable(chat_id)
            log.warning("chat=%s blocked the bot; not sending there any more", chat_id)
            return None
        message_id = int(message["message_id"])
        self.redis.set(self._delivered_key(key), message_id, ex=DELIVERED_TTL)
        return message_id

    def edit(
        self,
        chat_id: int,
        message_id: int,
        text: str,
        *,
        reply_markup: dict[str, Any] | None = None,
        key: str | None = None,
    ) -> int | None:
        """Show `text` in a message; the id of the message showing it (new if it was deleted)."""
        if self.unreachable(chat_id):
            return None
        try:
            self.api.call(
                "editMessageText",
                {
                    "chat_id": chat_id,
                    "message_id": message_id,
                    "text": text,
                    "parse_mode": "HTML",
                    "reply_markup": reply_markup,
                    "link_preview_options": {"is_disabled": True},
                },
            )
        except BadRequest as exc:
            if exc.not_modified:
                return message_id
            if exc.message_gone:
                # The customer deleted the status message: show the status in a new one.
                return self.send(
                    chat_id,
                    text,
                    key=key or f"replace:{chat_id}:{message_id}",
                    reply_markup=reply_markup,
                )
            raise
        except Forbidden:
            self.mark_unreachable(chat_id)
            return None
        return message_id
