"""Chats that blocked the bot: nothing more is sent there until they write again.

A 403 marks the chat (one key per chat); the mark expires after UNREACHABLE_TTL, when a send
finds out afresh, and goes at once when the chat writes to the bot (bot/handlers/reachability.py).
"""

from __future__ import annotations

import redis

from core.telegram.handover import PREFIX

UNREACHABLE_PREFIX = f"{PREFIX}unreachable:"
UNREACHABLE_TTL = 30 * 24 * 3600


def unreachable_key(chat_id: int | str) -> str:
    return f"{UNREACHABLE_PREFIX}{chat_id}"


def is_unreachable(client: redis.Redis, chat_id: int) -> bool:
    """Whether the chat blocked the bot (a 403), so nothing more is sent there."""
    return bool(client.exists(unreachable_key(chat_id)))


def mark_unreachable(client: redis.Redis, chat_id: int) -> None:
    client.set(unreachable_key(chat_id), 1, ex=UNREACHABLE_TTL)


def mark_reachable(client: redis.Redis, chat_id: int) -> None:
    """The chat wrote to the bot, so it no longer blocks it: sending there may resume."""
    client.delete(unreachable_key(chat_id))
