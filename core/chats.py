"""A group upgraded to a supergroup gets a new chat id; what belonged to the old id follows it.

Telegram tells it twice: service messages (`migrate_to_chat_id` in the old chat,
`migrate_from_chat_id` in the new one) reach the bot, and any later call to the old id fails
with 400 "group chat was upgraded to a supergroup chat" and `parameters.migrate_to_chat_id`
(https://core.telegram.org/bots/api#responseparameters). Whoever learns it first moves the
chat: its orders and photo jobs (their `chat_id`, in the database), its guided
conversations, and a marker `moved:{old}` so later arrivals follow. Moving twice is harmless.

Messages stay in the old chat, which can no longer be edited: a moved order forgets its
status message (message ids are per chat, so the old id could name another message in the
new chat), and its next update sends a new one there.
"""

from __future__ import annotations

import redis

from core.conversation.store import PREFIX as CONVERSATION_PREFIX
from core.orders.store import PREFIX, OrderStore
from core.photos.jobs import PhotoJobStore

MOVED_PREFIX = f"{PREFIX}moved:"


class ChatMoves:
    """Upgraded groups: move a chat's records to its new id, and find where a chat went."""

    def __init__(self, client: redis.Redis, store: OrderStore | None = None) -> None:
        self.redis = client
        # The orders (in the database); set by whoever wires the process (tasks.context, bot).
        self.store = store

    def moved_to(self, chat_id: int) -> int | None:
        """The chat's new id if it was upgraded (following repeated moves), else None."""
        found = None
        for _ in range(3):
            newer = self.redis.get(f"{MOVED_PREFIX}{chat_id}")
            if newer is None:
                break
            found = chat_id = int(newer)
        return found

    def current(self, chat_id: int) -> int:
        """The id the chat has now."""
        return self.moved_to(chat_id) or chat_id

    def move(self, old: int, new: int) -> int:
        """Move everything of chat `old` to `new`; how many orders and photo jobs moved."""
        if old == new:
            return 0
        self.redis.set(f"{MOVED_PREFIX}{old}", new)
        moved = 0
        if self.store is not None:
            moved += self.store.move_chat(old, new)
            moved += PhotoJobStore(self.store.db).move_chat(old, new)
        # Guided conversations, one key per user: renamed, never over a newer one there.
        # Their question stays behind in the old chat, so the new chat has none on record.
        for key in self.redis.scan_iter(match=f"{CONVERSATION_PREFIX}{old}:*", count=500):
            user = str(key).rsplit(":", 1)[1]
            target = f"{CONVERSATION_PREFIX}{new}:{user}"
            if self.redis.renamenx(key, target):
                self.redis.hset(target, "message_id", "0")
        return moved
