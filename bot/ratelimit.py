"""The bot's own sends keep to the same flood limits as the workers' (core.ratelimit).

PTB's AIORateLimiter only counts what one process sends; this limiter takes its slots from
the Redis buckets every worker uses, so a reply from the bot and a result from a worker
share the chat's 1/s. Replies are urgent; edits are progress and yield to urgent sends.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff
from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

from core.ratelimit import (
    ACQUIRE_SCRIPT,
    ANSWERED_SCRIPT,
    COOLDOWN_SCRIPT,
    GLOBAL_LOG_KEY,
    Limits,
    cooldown_call,
    new_ticket,
)

log = logging.getLogger(__name__)

# What puts (or changes) a message in a chat: what Telegram's flood control counts.
LIMITED_PREFIXES = ("send", "edit", "copy", "forward")
NOT_LIMITED = {"sendchataction"}


class SharedRateLimiter(BaseRateLimiter[bool]):
    """PTB rate limiter over the shared Redis buckets; `rate_limit_args=True` marks urgent."""

    def __init__(self, redis_url: str, limits: Limits | None = None, max_retries: int = 3) -> None:
        self.redis_url = redis_url
        self.limits = limits or Limits()
        self.max_retries = max_retries
        self._redis: aioredis.Redis | None = None

    async def initialize(self) -> None:
        # from_url leaves the asyncio client without retries: after a Redis restart every
        # pooled connection would fail its next command instead of reconnecting.
        retry = Retry(ExponentialWithJitterBackoff(base=0.05, cap=1.0), retries=5)
        self._redis = aioredis.Redis.from_url(self.redis_url, retry=retry)
        self._acquire = self._redis.register_script(ACQUIRE_SCRIPT)
        self._cooldown = self._redis.register_script(COOLDOWN_SCRIPT)
        self._answered = self._redis.register_script(ANSWERED_SCRIPT)

    async def shutdown(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: bool | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        chat_id = data.get("chat_id")
        name = endpoint.lower()
        if chat_id is None or not name.startswith(LIMITED_PREFIXES) or name in NOT_LIMITED:
            return await callback(*args, **kwargs)
        urgent = rate_limit_args if rate_limit_args is not None else not endpoint.startswith("edit")
        cost = len(data.get("media") or ()) or 1
        retries = 0
        while True:
            ticket = new_ticket()
            await self._wait_for_slot(chat_id, urgent, cost, ticket)
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                retries += 1
                if retries > self.max_retries:
                    raise
                # Every process holds the chat (or the bot) until Telegram's wait is over.
                seconds = _seconds(exc.retry_after)
                keys, cool_args = cooldown_call(chat_id, seconds)
                await self._cooldown(keys=keys, args=cool_args)
                log.warning("429 on %s chat=%s: waiting %.1fs", endpoint, chat_id, seconds)
            finally:
                # The bot-wide limit counts this send until a second after its answer.
                await self._answered(keys=[GLOBAL_LOG_KEY], args=[ticket, cost])

    async def _wait_for_slot(
        self, chat_id: int | str, urgent: bool, cost: int, ticket: str
    ) -> None:
        """Sleep until the shared limits give this send (named `ticket`) its slot."""
        keys, args = self.limits.acquire_call(chat_id, urgent, cost, ticket)
        while wait_us := int(await self._acquire(keys=keys, args=args)):
            await asyncio.sleep(wait_us / 1_000_000)


def _seconds(value: int | float | timedelta) -> float:
    """`RetryAfter.retry_after` is seconds or a timedelta depending on PTB's settings."""
    return value.total_seconds() if isinstance(value, timedelta) else float(value)
