"""The guided `/pedido`: what we asked a user and what they answered, kept in Redis.

One conversation per (chat, user), so two people can order at once in a group and a bot
restart (or another replica in webhook mode) picks it up where it was. Each change is an
atomic script that checks the conversation's token: a button from an older message, or a
second press of the same button, finds the token changed (or the conversation gone) and
does nothing.

Key: `pedidos:conv:{chat}:{user}` hash with the fields of `Conversation`. It times out
`timeout` seconds after the last change (`expires_at`), and Redis drops it a while later, so
a late answer can still be told that it came too late.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

import redis

from core.redisio import flat_hash, read_hash

PREFIX = "pedidos:conv:"
DEFAULT_TIMEOUT = 600.0
# How long an expired conversation is remembered, to answer "too late" rather than nothing.
REMEMBER_EXPIRED = 3600.0

# KEYS: conversation. ARGV: token ('' any), step ('' any), now, ttl ms, delete (0/1), then
# field name/value pairs. Returns 1 done, 0 token or step changed, -1 gone, -2 timed out.
_CHANGE = """
local token = redis.call('HGET', KEYS[1], 'token')
if not token then return -1 end
if tonumber(redis.call('HGET', KEYS[1], 'expires_at')) <= tonumber(ARGV[3]) then return -2 end
if ARGV[1] ~= '' and token ~= ARGV[1] then return 0 end
if ARGV[2] ~= '' and redis.call('HGET', KEYS[1], 'step') ~= ARGV[2] then return 0 end
if ARGV[5] == '1' then
  redis.call('DEL', KEYS[1])
  return 1
end
for i = 6, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1
"""


# KEYS: conversation. ARGV: token, now. The conversation's fields when it timed out under
# this token and nobody was told yet (then it is marked told); an empty reply otherwise.
_TIMED_OUT = """
if redis.call('HGET', KEYS[1], 'token') ~= ARGV[1] then return {} end
if tonumber(redis.call('HGET', KEYS[1], 'expires_at')) > tonumber(ARGV[2]) then return {} end
if redis.call('HSETNX', KEYS[1], 'told', '1') == 0 then return {} end
return redis.call('HGETALL', KEYS[1])
"""


class Step(StrEnum):
    """Where a guided order is: waiting for the text, or for the confirmation."""

    TEXT = "text"
    CONFIRM = "confirm"


class Outcome(StrEnum):
    """What became of a change: done, or why not."""

    DONE = "done"
    STALE = "stale"  # another token or step: an older message, or a second press
    GONE = "gone"  # no conversation (never started, left, or confirmed)
    EXPIRED = "expired"


_OUTCOMES = {1: Outcome.DONE, 0: Outcome.STALE, -1: Outcome.GONE, -2: Outcome.EXPIRED}


@dataclass(frozen=True)
class Conversation:
    """One user's guided order in one chat."""

    chat_id: int
    user_id: int
    token: str
    step: Step
    language: str
    expires_at: float
    text: str = ""
    # The bot's message with this conversation's buttons (its question or confirmation).
    message_id: int = 0

    def expired(self, now: float) -> bool:
        return now >= self.expires_at


def _from_hash(chat_id: int, user_id: int, raw: dict[str, str]) -> Conversation:
    """A conversation from its Redis hash."""
    return Conversation(
        chat_id=chat_id,
        user_id=user_id,
        token=raw["token"],
        step=Step(raw["step"]),
        language=raw.get("language", "es"),
        expires_at=float(raw["expires_at"]),
        text=raw.get("text", ""),
        message_id=int(raw.get("message_id") or 0),
    )


def new_token() -> str:
    """A short random token that tells this conversation's buttons from older ones."""
    return secrets.token_hex(4)


class ConversationStore:
    """Conversations in Redis; every change checks the token atomically."""

    def __init__(
        self,
        client: redis.Redis,
        timeout: float = DEFAULT_TIMEOUT,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.redis = client
        self.timeout = timeout
        self.clock = clock
        self._change = client.register_script(_CHANGE)
        self._timed_out = client.register_script(_TIMED_OUT)

    @staticmethod
    def key(chat_id: int, user_id: int) -> str:
        return f"{PREFIX}{chat_id}:{user_id}"

    def _ttl_ms(self) -> int:
        return int((self.timeout + REMEMBER_EXPIRED) * 1000)

    def start(self, chat_id: int, user_id: int, language: str) -> Conversation:
        """Begin (or begin again) asking what the user wants; replaces any earlier one."""
        conversation = Conversation(
            chat_id=chat_id,
            user_id=user_id,
            token=new_token(),
            step=Step.TEXT,
            language=language,
            expires_at=self.clock() + self.timeout,
        )
        key = self.key(chat_id, user_id)
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(key)
            pipe.hset(key, mapping={k: v for k, v in _fields(conversation).items()})
            pipe.pexpire(key, self._ttl_ms())
            pipe.execute()
        return conversation

    def get(self, chat_id: int, user_id: int) -> Conversation | None:
        """The conversation, expired or not (see `Conversation.expired`); None if there is none."""
        raw = read_hash(self.redis, self.key(chat_id, user_id))
        if not raw or "token" not in raw:
            return None
        return _from_hash(chat_id, user_id, raw)

    def answer(
        self, chat_id: int, user_id: int, token: str, text: str
    ) -> tuple[Outcome, Conversation | None]:
        """The user wrote what they want: ask for confirmation (under a new token)."""
        return self._move(chat_id, user_id, token, "", Step.CONFIRM, text=text)

    def change(self, chat_id: int, user_id: int, token: str) -> tuple[Outcome, Conversation | None]:
        """Cambiar: back to asking for the text (under a new token)."""
        return self._move(chat_id, user_id, token, Step.CONFIRM, Step.TEXT, text="")

    def shown_in(self, chat_id: int, user_id: int, token: str, message_id: int) -> Outcome:
        """Record the message that carries the buttons of this step."""
        fields = {"message_id": str(message_id)}
        return self._run(chat_id, user_id, token, "", delete=False, fields=fields)

    def confirm(self, chat_id: int, user_id: int, token: str) -> Outcome:
        """Confirmar: the conversation ends; DONE for exactly one of any number of presses."""
        return self._run(chat_id, user_id, token, Step.CONFIRM, delete=True)

    def leave(self, chat_id: int, user_id: int, token: str = "") -> Outcome:
        """Cancelar or `/cancelar`: the conversation ends (any token when none is given)."""
        outcome = self._run(chat_id, user_id, token, "", delete=True)
        if outcome is Outcome.EXPIRED:
            self.forget(chat_id, user_id)
        return outcome

    def timed_out(self, chat_id: int, user_id: int, token: str) -> Conversation | None:
        """The conversation if it timed out still under `token`, once: whoever gets it tells.

        It stays stored (until Redis drops it), so a late answer still hears "too late".
        """
        reply = self._timed_out(keys=[self.key(chat_id, user_id)], args=[token, self.clock()])
        if not reply:
            return None
        return _from_hash(chat_id, user_id, flat_hash(reply))

    def forget(self, chat_id: int, user_id: int) -> None:
        """Drop the conversation whatever its state (once the user was told it timed out)."""
        self.redis.delete(self.key(chat_id, user_id))

    def _move(
        self, chat_id: int, user_id: int, token: str, step: str, to: Step, text: str
    ) -> tuple[Outcome, Conversation | None]:
        fields = {
            "token": new_token(),
            "step": to.value,
            "text": text,
            "expires_at": repr(self.clock() + self.timeout),
        }
        outcome = self._run(chat_id, user_id, token, step, delete=False, fields=fields)
        if outcome is not Outcome.DONE:
            return outcome, None
        moved = self.get(chat_id, user_id)
        if moved is None or moved.token != fields["token"]:
            return Outcome.STALE, None  # changed again in between: that change is the one
        return outcome, moved

    def _run(
        self,
        chat_id: int,
        user_id: int,
        token: str,
        step: str,
        delete: bool,
        fields: dict[str, str] | None = None,
    ) -> Outcome:
        pairs = [part for pair in (fields or {}).items() for part in pair]
        status = self._change(
            keys=[self.key(chat_id, user_id)],
            args=[token, step, repr(self.clock()), self._ttl_ms(), "1" if delete else "0", *pairs],
        )
        return _OUTCOMES[int(status)]


def _fields(conversation: Conversation) -> dict[str, str]:
    return {
        "token": conversation.token,
        "step": conversation.step.value,
        "language": conversation.language,
        "expires_at": repr(conversation.expires_at),
        "text": conversation.text,
        "message_id": str(conversation.message_id),
    }
