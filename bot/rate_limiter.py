"""The bot's own sends keep to the same flood limits as the workers' (core.telegram.rate_limiter).

PTB's AIORateLimiter only counts what one process sends; this limiter takes its slots from
the Redis buckets every worker uses, so a reply from the bot and a result from a worker
share the chat's 1/s. Replies are urgent; edits are progress and yield to urgent sends.

A handler never waits long for one chat: a reply whose slot is more than `max_wait` away
is handed to the workers' delivery queue (sent once, under a key, when its slot comes) and
the handler stops with ReplyHandedOver, which frees its slot for other chats. A handler
that has its own fallback (the status reply of `/pedido`, which the order's first step
sends when the bot could not) sends inside `with own_fallback():` and gets RetryAfter
instead.

The limiter's scripts run with `allow-oom`: their keys are a few bytes with a TTL, and a
Redis refusing writes must still let the bot say "try again later".
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import timedelta
from typing import Any

import redis
import redis.asyncio as aioredis
from telegram.error import RetryAfter, TelegramError
from telegram.ext import BaseRateLimiter

# PTB's own conversion of a call's arguments to what goes over the wire (not re-exported).
from telegram.request._requestparameter import RequestParameter

from bot.fairness import CURRENT_UPDATE
from bot.metrics import counted
from core import metrics
from core.telegram import saturation
from core.telegram.handover import Outgoing
from core.telegram.rate_limiter import (
    ACQUIRE_SCRIPT,
    ANSWERED_SCRIPT,
    COOLDOWN_SCRIPT,
    GLOBAL_LOG_KEY,
    Limits,
    cooldown_call,
    new_ticket,
)
from tasks import delivery as delivery_tasks

log = logging.getLogger(__name__)

# What puts (or changes) a message in a chat: what Telegram's flood control counts.
LIMITED_PREFIXES = ("send", "edit", "copy", "forward")
NOT_LIMITED = {"sendchataction"}
# Redis 7 script flag: run even when Redis is at maxmemory (the keys are tiny and expire).
ALLOW_OOM = "#!lua flags=allow-oom\n"

# Hands a reply to the workers: (chat, the reply as an Outgoing, seconds until its slot).
HandOver = Callable[[Outgoing, float], Awaitable[None]]


# False inside `own_fallback()`: a long wait raises RetryAfter instead of handing over.
_HAND_OVER: ContextVar[bool] = ContextVar("hand_over", default=True)


@contextmanager
def own_fallback() -> Iterator[None]:
    """Sends in this block are not handed to the workers: the caller has its own fallback."""
    token = _HAND_OVER.set(False)
    try:
        yield
    finally:
        _HAND_OVER.reset(token)


class ReplyHandedOver(TelegramError):
    """The reply will be sent by a worker when the chat's slot comes; the handler stops."""

    def __init__(self, key: str, wait: float) -> None:
        super().__init__(f"reply {key} handed to the delivery queue ({wait:.1f}s away)")
        self.key = key


class SharedRateLimiter(BaseRateLimiter[bool]):
    """PTB rate limiter over the shared Redis buckets.

    `rate_limit_args` is True/False: urgent or not (by default only edits are not).
    """

    def __init__(
        self,
        connect: Callable[[], aioredis.Redis],
        limits: Limits | None = None,
        max_retries: int = 3,
        max_wait: float = 1.0,
        hand_over: HandOver | None = None,
    ) -> None:
        # core.redisconn.connect_async: REDIS_URL's Redis or the Sentinels' master.
        self.connect = connect
        self.limits = limits or Limits()
        self.max_retries = max_retries
        self.max_wait = max_wait
        self.hand_over = hand_over
        self._redis: aioredis.Redis | None = None

    async def initialize(self) -> None:
        self._redis = self.connect()
        self._acquire = self._redis.register_script(ALLOW_OOM + ACQUIRE_SCRIPT)
        self._cooldown = self._redis.register_script(ALLOW_OOM + COOLDOWN_SCRIPT)
        self._note_sent = self._redis.register_script(ALLOW_OOM + saturation.NOTE_SCRIPT)
        self._answered = self._redis.register_script(ALLOW_OOM + ANSWERED_SCRIPT)

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
        callback = counted(callback, endpoint)  # every call, by method and result (core.metrics)
        chat_id = data.get("chat_id")
        name = endpoint.lower()
        if chat_id is None or not name.startswith(LIMITED_PREFIXES) or name in NOT_LIMITED:
            return await callback(*args, **kwargs)
        urgent = rate_limit_args if rate_limit_args is not None else not endpoint.startswith("edit")
        can_hand_over = _HAND_OVER.get() and name == "sendmessage"
        # An album costs one message per item; editMessageMedia's one InputMedia costs one.
        media = data.get("media")
        cost = len(media) if isinstance(media, list | tuple) and media else 1
        retries = 0
        while True:
            ticket = new_ticket()
            wait = await self._wait_for_slot(chat_id, urgent, cost, ticket)
            if wait > 0:
                if can_hand_over and self.hand_over is not None:
                    message = _outgoing(data)
                    if message is not None:
                        await self.hand_over(message, wait)
                        log.info("chat=%s reply %s handed over (%.1fs)", chat_id, message.key, wait)
                        raise ReplyHandedOver(message.key, wait)
                raise RetryAfter(max(1, round(wait)))
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                retries += 1
                if retries > self.max_retries:
                    raise
                # Every process holds the chat (or the bot) until Telegram's wait is over.
                seconds = retry_seconds(exc.retry_after)
                keys, cool_args = cooldown_call(chat_id, seconds)
                await self._cooldown(keys=keys, args=cool_args)
                log.warning("429 on %s chat=%s: waiting %.1fs", endpoint, chat_id, seconds)
            finally:
                # The bot-wide limit counts this send until a second after its answer. Never
                # fails the send: unrecorded, the ticket stops counting after its flight time.
                try:
                    await self._answered(keys=[GLOBAL_LOG_KEY], args=[ticket, cost])
                except redis.RedisError as exc:
                    log.warning("send %s answered, not recorded (Redis down): %r", ticket, exc)

    async def _wait_for_slot(
        self, chat_id: int | str, urgent: bool, cost: int, ticket: str
    ) -> float:
        """Sleep until the shared limits give this send (named `ticket`) its slot, for
        `max_wait` at most: 0.0 once the slot is taken, else the wait still ahead (nothing
        taken)."""
        keys, args = self.limits.acquire_call(chat_id, urgent, cost, ticket)
        deadline = time.monotonic() + self.max_wait
        while wait_us := int(await self._acquire(keys=keys, args=args)):
            wait = wait_us / 1_000_000
            if time.monotonic() + wait > deadline:
                return wait
            metrics.send_delayed(urgent)
            await asyncio.sleep(wait)
        # Traffic near the bot-wide limit makes progress edits give way (core.telegram.saturation).
        await self._note_sent(keys=[saturation.KEY], args=[cost])
        return 0.0


def _outgoing(data: dict[str, Any]) -> Outgoing | None:
    """A sendMessage request as an Outgoing a worker can send, or None if it cannot carry it
    (an upload)."""
    params: dict[str, Any] = {}
    for name, value in data.items():
        if value is None:
            continue
        param = RequestParameter.from_input(name, value)
        if param.input_files:
            return None
        params[name] = param.value
    chat_id, text = params.pop("chat_id"), str(params.pop("text", ""))
    reply_markup = params.pop("reply_markup", None)
    update_id = CURRENT_UPDATE.get()
    if update_id is not None:
        # A re-delivered update hands over the same reply under the same key: sent once.
        digest = hashlib.sha256(text.encode()).hexdigest()[:12]
        key = f"reply:{chat_id}:{update_id}:{digest}"
    else:
        key = f"reply:{chat_id}:{secrets.token_hex(6)}"
    return Outgoing(int(chat_id), text, key, reply_markup, urgent=True, params=params)


async def hand_over_reply(message: Outgoing, wait: float) -> None:
    """Queue the reply on the workers' `telegram` queue, due when its slot comes (the shared
    limiter holds the chat that long: a 429's `retry_after` or a slot)."""
    await asyncio.to_thread(delivery_tasks.CeleryLater().send, message, wait, held=True)


def retry_seconds(value: int | float | timedelta) -> float:
    """`RetryAfter.retry_after` is seconds or a timedelta depending on PTB's settings."""
    return value.total_seconds() if isinstance(value, timedelta) else float(value)
