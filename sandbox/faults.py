"""Telegram's flood limits (on by default) and fault injection through the control API."""

from __future__ import annotations

import math
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

# Methods that put (or change) a message in a chat: what Telegram's flood control counts.
SENDING_METHODS = {"sendmessage", "sendphoto", "senddocument", "sendmediagroup"}
EDITING_METHODS = {"editmessagetext", "editmessagereplymarkup", "editmessagecaption"}


@dataclass
class Limits:
    """Flood-limit settings: Telegram's documented numbers, on by default as on Telegram.

    https://core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this: about 30
    messages a second per bot, one a second per chat (short bursts pass), 20 a minute per
    group. Tests that need more raise them through the control API and say why.
    """

    enabled: bool = True
    global_per_second: float = 30.0
    chat_per_second: float = 1.0
    chat_burst: int = 3
    group_per_minute: float = 20.0
    count_edits: bool = True

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return asdict(self)


class TokenBucket:
    """`rate` tokens per second, holding at most `capacity`."""

    def __init__(self, rate: float, capacity: float) -> None:
        self.rate = rate
        self.capacity = max(capacity, 1.0)
        self.tokens = self.capacity
        self.stamp = time.monotonic()

    def _refill(self, now: float) -> None:
        # Buckets made during this call are stamped after `now`: no negative refill.
        elapsed = max(0.0, now - self.stamp)
        self.tokens = min(self.capacity, self.tokens + elapsed * self.rate)
        self.stamp = max(self.stamp, now)

    def wait_time(self, amount: float, now: float) -> float:
        """Seconds until `amount` tokens are available (0 if they are now)."""
        self._refill(now)
        if self.tokens >= amount:
            return 0.0
        if self.rate <= 0:
            return math.inf
        return (min(amount, self.capacity) - self.tokens) / self.rate

    def take(self, amount: float) -> None:
        """Spend tokens (after wait_time said they are there)."""
        self.tokens -= amount


@dataclass
class FaultRule:
    """A forced answer for the next `times` calls of a method (None: until cleared)."""

    method: str  # lower-case method name, or "*"
    status: int = 502
    times: int | None = 1
    drop: bool = False
    retry_after: int | None = None
    description: str | None = None
    # Seconds the answer is held back after the call is carried out (no error): the message
    # is in the chat while its sender still waits, as on a slow network on the way back.
    hold: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return asdict(self)


DEFAULT_DESCRIPTIONS = {
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
    429: "Too Many Requests",
}


@dataclass
class Faults:
    """One bot's faults, limits, latency, blocked chats and counters."""

    limits: Limits = field(default_factory=Limits)
    rules: list[FaultRule] = field(default_factory=list)
    blocked: set[int] = field(default_factory=set)
    latency: float = 0.0
    method_latency: dict[str, float] = field(default_factory=dict)
    calls: Counter[str] = field(default_factory=Counter)
    too_many_requests: int = 0
    forced: int = 0
    dropped: int = 0
    forbidden: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    sends_per_chat: Counter[int] = field(default_factory=Counter)
    _global: TokenBucket | None = None
    _chats: dict[int, TokenBucket] = field(default_factory=dict)
    _groups: dict[int, TokenBucket] = field(default_factory=dict)

    def set_limits(self, **settings: Any) -> Limits:
        """Change flood-limit settings; buckets start full again."""
        for key, value in settings.items():
            if value is not None and hasattr(self.limits, key):
                setattr(self.limits, key, type(getattr(self.limits, key))(value))
        self._global = None
        self._chats.clear()
        self._groups.clear()
        return self.limits

    def add_rule(self, rule: FaultRule) -> None:
        """Force answers for a method."""
        rule.method = rule.method.lower()
        self.rules.append(rule)

    def take_rule(self, method: str) -> FaultRule | None:
        """The forced answer for this call, if any, counting it down."""
        for rule in self.rules:
            if rule.method in (method, "*"):
                if rule.times is not None:
                    rule.times -= 1
                    if rule.times <= 0:
                        self.rules.remove(rule)
                return rule
        return None

    def delay_for(self, method: str) -> float:
        """Added latency for a call."""
        return self.method_latency.get(method, self.latency)

    def flood_wait(self, method: str, chat_id: int, chat_type: str, count: int = 1) -> int:
        """0 if the send may go now (and is counted), else Telegram's retry_after in seconds."""
        counted = method in SENDING_METHODS or (
            method in EDITING_METHODS and self.limits.count_edits
        )
        if not self.limits.enabled or not counted:
            return 0
        limits = self.limits
        now = time.monotonic()
        if self._global is None:
            self._global = TokenBucket(limits.global_per_second, limits.global_per_second)
        chat_bucket = self._chats.get(chat_id)
        if chat_bucket is None:
            chat_bucket = TokenBucket(limits.chat_per_second, limits.chat_burst)
            self._chats[chat_id] = chat_bucket
        buckets = [self._global, chat_bucket]
        if chat_type in ("group", "supergroup"):
            group_bucket = self._groups.get(chat_id)
            if group_bucket is None:
                group_bucket = TokenBucket(limits.group_per_minute / 60.0, limits.group_per_minute)
                self._groups[chat_id] = group_bucket
            buckets.append(group_bucket)
        wait = max(bucket.wait_time(count, now) for bucket in buckets)
        if wait > 0:
            self.too_many_requests += 1
            return max(1, math.ceil(wait))
        for bucket in buckets:
            bucket.take(count)
        return 0

    def counters(self) -> dict[str, Any]:
        """Every counter, as the control API shows them."""
        return {
            "calls": dict(self.calls),
            "too_many_requests": self.too_many_requests,
            "forced_failures": self.forced,
            "dropped_connections": self.dropped,
            "forbidden": self.forbidden,
            "errors": dict(self.errors),
            "sends_per_chat": {str(k): v for k, v in self.sends_per_chat.items()},
        }

    def state(self) -> dict[str, Any]:
        """Current switches, as the control API shows them."""
        return {
            "limits": self.limits.to_dict(),
            "rules": [rule.to_dict() for rule in self.rules],
            "blocked": sorted(self.blocked),
            "latency": self.latency,
            "method_latency": dict(self.method_latency),
        }
