"""Fair update processing: one busy chat holds at most one of the bot's handler slots.

PTB's default processor runs any `concurrent_updates` updates at once, whoever sent them:
a chat that forwards a hundred messages fills every slot, each handler then waits on that
chat's 1 message/s, and every other customer waits behind it. Here a chat's updates run one
at a time, in the order they arrived, and only the one running holds a slot; the rest wait
in their chat's line without holding anything another chat needs. Updates without a chat
(inline queries, polls) are lined up by user, or not at all.

Payment questions (pre-checkout and shipping queries) wait for nothing: Telegram fails the
payment when the bot has not answered within 10 s, so they take no line and no slot, however
busy the customer's chat or the bot are; their handlers only read the database.
A payment Telegram has taken (a successful or refunded payment message) does not wait
behind its chat's line either: it is recorded and its order started at once, not after the
replies to whatever the customer sent before paying, each paced at 1 message/s per chat.
Such messages line up among themselves, per chat, and hold a slot like any other update.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable
from contextvars import ContextVar
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

# Updates held at once, running or waiting in their chat's line (PTB's own semaphore).
HELD_UPDATES = 4096
# The update being handled, for what needs to name it (a handed-over reply's key).
CURRENT_UPDATE: ContextVar[int | None] = ContextVar("current_update", default=None)


class FairUpdateProcessor(BaseUpdateProcessor):
    """At most `running` updates at once, and at most one per chat."""

    def __init__(
        self, running: int, held: int = HELD_UPDATES, presses_by_card: frozenset[int] = frozenset()
    ) -> None:
        super().__init__(max_concurrent_updates=held)
        self._running = asyncio.BoundedSemaphore(running)
        # Chats whose button presses line up per pressed message, not per chat: the staff
        # chat, where people press many order cards at once and each press is one atomic move
        # of one order (core.shopfloor); presses on one card still run in order.
        self._presses_by_card = presses_by_card
        # One lock per chat with updates in flight; dropped when its line is empty.
        self._lines: dict[object, tuple[asyncio.Lock, list[int]]] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        if isinstance(update, Update):
            CURRENT_UPDATE.set(update.update_id)
        if _is_urgent(update):
            await coroutine
            return
        line = _line_of(update, self._presses_by_card)
        if line is None:
            async with self._running:
                await coroutine
            return
        lock, users = self._lines.setdefault(line, (asyncio.Lock(), [0]))
        users[0] += 1
        # A card press sends nothing (it answers its query and queues the rest), so it waits
        # for no slot held by replies that wait for Telegram's send limits.
        slot = contextlib.nullcontext() if _is_card(line) else self._running
        try:
            async with lock, slot:
                await coroutine
        finally:
            users[0] -= 1
            if users[0] == 0:
                del self._lines[line]

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to free."""


def _is_urgent(update: object) -> bool:
    """A question Telegram's payment flow waits on (answered within 10 s, or it fails)."""
    return isinstance(update, Update) and (
        update.pre_checkout_query is not None or update.shipping_query is not None
    )


def _is_payment(update: Update) -> bool:
    """A message that records money Telegram has moved: the charge or its refund."""
    message = update.message
    return message is not None and (
        message.successful_payment is not None or message.refunded_payment is not None
    )


def _is_card(line: object) -> bool:
    return isinstance(line, tuple) and line[0] == "card"


def _line_of(update: object, presses_by_card: frozenset[int] = frozenset()) -> object:
    """Which line an update waits in: its chat, else its user, else none."""
    if not isinstance(update, Update):
        return None
    query, chat = update.callback_query, update.effective_chat
    if query is not None and chat is not None and chat.id in presses_by_card:
        message = query.message
        return ("card", chat.id, message.message_id if message is not None else 0)
    if update.effective_chat is not None:
        kind = "payment" if _is_payment(update) else "chat"
        return (kind, update.effective_chat.id)
    if update.effective_user is not None:
        return ("user", update.effective_user.id)
    return None
