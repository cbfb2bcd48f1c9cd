"""Dead letters: messages Telegram kept refusing, for admins to see in /entregas and replay.

The list lives in Redis, newest first and capped (DEAD_LETTERS_MAX): beyond the cap the oldest
go, and are counted. Each letter is taken out at most once, so a replay is safe to repeat.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from dataclasses import asdict, dataclass, replace
from typing import Any

import redis

from core import metrics
from core.telegram.handover import PREFIX, Outgoing

log = logging.getLogger(__name__)


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

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, raw: str) -> DeadLetter:
        data = json.loads(raw)
        # Letters stored by earlier versions carry an always-empty `extra`.
        data.pop("extra", None)
        return cls(**data)


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
        metrics.dead_letter(letter.kind)
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
