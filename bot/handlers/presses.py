"""A button press as its handlers get it, what it answers, and editing the pressed message."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from telegram import Bot, CallbackQuery, Chat, Message, Update, User
from telegram.constants import ParseMode
from telegram.error import BadRequest, RetryAfter, TelegramError

from bot.markup import inline
from bot.rate_limiter import retry_seconds
from core.keyboards import Pressed

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class Press:
    """A press bot.handlers.buttons checked: signed for this chat, on a button of the pressed
    message. What it pressed, where, by whom, and the language we answer them in."""

    update: Update
    query: CallbackQuery
    # The pressed message as Telegram holds it (its data is one of this message's buttons).
    message: Message
    chat: Chat
    user: User
    lang: str
    pressed: Pressed


@dataclass(frozen=True)
class Answer:
    """The answerCallbackQuery of a press: a toast, an alert, or nothing (plain text)."""

    text: str = ""
    alert: bool = False


async def edit_pressed(
    query: CallbackQuery, text: str, keyboard: dict[str, Any] | None = None
) -> None:
    """Show `text` (HTML) and `keyboard` in the pressed message; an edit that changes nothing,
    or a message gone meanwhile, is not an error."""
    try:
        await patiently(
            lambda: query.edit_message_text(
                text, parse_mode=ParseMode.HTML, reply_markup=inline(keyboard)
            )
        )
    except BadRequest as exc:
        if "not modified" not in exc.message.lower():
            log.info("edit of pressed message failed: %s", exc)
    except TelegramError as exc:
        log.info("edit of pressed message failed: %s", exc)


async def remove_keyboard(query: CallbackQuery) -> None:
    """Take the buttons off a message that is no longer current, so nobody presses them again."""
    try:
        await query.edit_message_reply_markup(None)
    except TelegramError as exc:
        log.debug("keyboard of a stale message not removed: %s", exc)


async def remove_keyboard_of(bot: Bot, chat_id: int, message_id: int) -> None:
    """Take the buttons off an earlier message of ours (none there is fine)."""
    try:
        await bot.edit_message_reply_markup(chat_id, message_id, reply_markup=None)
    except TelegramError as exc:
        log.debug("keyboard of message %s not removed: %s", message_id, exc)


async def patiently(edit: Callable[[], Awaitable[T]], longest: float = 5.0) -> T:
    """Make an edit a press asked for, waiting out the chat's flood limit (the shared limiter
    refuses an edit rather than wait): once, if the wait is short enough for the customer."""
    try:
        return await edit()
    except RetryAfter as exc:
        seconds = retry_seconds(exc.retry_after)
        if seconds > longest:
            raise
        await asyncio.sleep(seconds)
        return await edit()
