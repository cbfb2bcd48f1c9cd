"""Show "typing…" while a reply takes more than a moment.

Telegram shows a chat action for 5 seconds, or until the bot's next message arrives; it
recommends one only when a response will take noticeable time
(https://core.telegram.org/bots/api#sendchataction). So the action goes out only when the
handler has not finished after `SHOW_AFTER`, and again every `REPEAT` while it runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging

from telegram import Update
from telegram.constants import ChatAction
from telegram.error import TelegramError

from bot.context import BotContext, Callback

log = logging.getLogger(__name__)

SHOW_AFTER = 0.5
REPEAT = 4.5


async def _keep_showing(context: BotContext, chat_id: int, action: str) -> None:
    await asyncio.sleep(SHOW_AFTER)
    while True:
        try:
            await context.bot.send_chat_action(chat_id, action)
        except TelegramError as exc:  # only a hint: never worth failing the reply for
            log.debug("chat action %s to chat=%s failed: %s", action, chat_id, exc)
        await asyncio.sleep(REPEAT)


def while_replying(handler: Callback, action: str = ChatAction.TYPING) -> Callback:
    """`handler`, showing `action` in the chat whenever it takes more than a moment."""

    @functools.wraps(handler)
    async def wrapped(update: Update, context: BotContext) -> None:
        chat = update.effective_chat
        if chat is None:
            await handler(update, context)
            return
        showing = asyncio.create_task(_keep_showing(context, chat.id, action))
        try:
            await handler(update, context)
        finally:
            showing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await showing

    return wrapped
