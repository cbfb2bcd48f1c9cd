"""What the courier's parts share: a message in a shape tasks carry, and the hand-over to later.

A send or an edit that would hold a worker too long (a long wait for a slot, Telegram
failing) is handed to `Later`, which runs it again away from the caller's worker slot (the
Celery tasks in tasks/delivery.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Protocol

# Every key the courier keeps in Redis starts with this.
PREFIX = "pedidos:delivery:"
# First retry of a message handed over after a 5xx or a dropped connection.
FIRST_BACKOFF = 1.0


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
    """Runs a delivery later, away from the caller's worker slot (Celery countdowns).

    `held`: the shared limiter holds the chat for `countdown` (a 429's `retry_after`, a
    slot), to the millisecond; the run may then start a little early, since its first call
    sleeps out the rest (core.telegram.limited_calls.held_by_limiter). Otherwise `countdown` is a
    backoff of ours, kept as it is.
    """

    def send(self, message: Outgoing, countdown: float, *, held: bool = False) -> None: ...

    def flush(
        self, chat_id: int, message_id: int, countdown: float, *, held: bool = False
    ) -> None: ...
