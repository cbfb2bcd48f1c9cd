"""Orders: what a customer asked for, where it is in its life, and what may happen next."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field

from core import records
from core.orders.states import OrderState
from core.safetext import hidden_characters, normalise_line_breaks

MAX_ORDER_TEXT = 500
# Crockford-like alphabet: no 0/O, 1/I/L confusion when a customer types an id back.
ID_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
ID_LENGTH = 6
ORDER_ID = re.compile(rf"^P-[{ID_ALPHABET}]{{{ID_LENGTH}}}$")


class OrderTextError(ValueError):
    """Why an order text was refused; `code` picks the message shown to the customer."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def clean_order_text(raw: str) -> str:
    """The order text trimmed and checked: 1–500 characters, as people write it (several lines,
    accents, emoji with joiners), with nothing that hides or reorders what staff will read."""
    text = normalise_line_breaks(raw).strip()
    if not text:
        raise OrderTextError("empty")
    if len(text) > MAX_ORDER_TEXT:
        raise OrderTextError("too_long")
    if hidden_characters(text):
        raise OrderTextError("control_chars")
    return text


def new_order_id() -> str:
    """A short random id a customer can read aloud, like P-7K2Q4F."""
    return "P-" + "".join(secrets.choice(ID_ALPHABET) for _ in range(ID_LENGTH))


def normalize_order_id(raw: str) -> str | None:
    """The canonical form of an id the customer typed, or None if it cannot be one."""
    candidate = raw.strip().upper()
    if not candidate.startswith("P-"):
        candidate = "P-" + candidate
    return candidate if ORDER_ID.match(candidate) else None


@dataclass
class Order:
    """One order as kept in the order store."""

    id: str
    chat_id: int
    user_id: int
    text: str
    state: OrderState = OrderState.PENDIENTE
    step: int = 0
    progress: int = 0
    created_at: float = 0.0
    updated_at: float = 0.0
    finished_at: float = 0.0
    status_message_id: int = 0
    task_id: str = ""
    # Every task id of the order's chain, comma-separated: what a cancellation revokes.
    task_ids: str = ""
    error: str = ""
    language: str = "es"
    # Money in minor units of `currency` ("" and 0: a free-text order, no catalogue).
    currency: str = ""
    subtotal: int = 0
    delivery_fee: int = 0
    total: int = 0
    # How it is paid ("": no payment method, never charged).
    payment_method: str = ""
    # The Redis epoch its chain was queued in (core.recovery.epoch).
    queued_epoch: str = ""
    # When a watcher run claimed it to alert its chat (0: never).
    stale_alerted_at: float = 0.0
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def is_final(self) -> bool:
        return self.state.is_final

    def to_redis(self) -> dict[str, str]:
        """Flat string fields for a Redis hash; `extra` as `x:`-prefixed fields."""
        flat = records.to_hash(self)
        flat.update({f"x:{key}": value for key, value in self.extra.items()})
        return flat

    @classmethod
    def from_redis(cls, raw: dict[str, str]) -> Order:
        """Inverse of `to_redis`."""
        extra = {k[2:]: v for k, v in raw.items() if k.startswith("x:")}
        return records.from_hash(cls, raw, extra=extra)
