"""What every handler gets: a typed context, and for a message, the message already checked.

python-telegram-bot's way to give handlers typed shared state is a CallbackContext subclass
named in the Application's ContextTypes (its "contexttypesbot" example): here `BotContext`,
whose `services` are the clients every handler shares, held in a typed `bot_data` rather than
under a string key. A message handler is written as

    @on_message
    async def estado(incoming: Incoming, context: BotContext) -> None: ...

and starts with its own logic: the decorator hands it the message, its chat, its sender and
their language, and skips an update without them.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from telegram import Chat, Message, Update, User
from telegram.ext import Application, CallbackContext, ContextTypes, ExtBot

from bot.services import Services
from core.sentinel_watch import MasterWatch
from core.texts import pick_language


class BotData:
    """The Application's `bot_data`: the services, set once by bot.app.build_application."""

    services: Services
    # With Sentinel: follows the master, started and stopped with the application.
    master_watch: MasterWatch | None = None


# The bot is an ExtBot whose rate limiter (bot.rate_limiter) takes a bool per call: urgent or not.
class BotContext(CallbackContext[ExtBot[bool], dict[Any, Any], dict[Any, Any], BotData]):
    """The context of every handler of this bot."""

    @property
    def services(self) -> Services:
        """Settings, stores and the task queue, shared by every handler."""
        return self.bot_data.services


CONTEXT_TYPES = ContextTypes(context=BotContext, bot_data=BotData)
# (No job queue is used: the workers schedule what is timed.)
BotApplication = Application[ExtBot[bool], BotContext, dict[Any, Any], dict[Any, Any], BotData, Any]
# What PTB calls for an update.
Callback = Callable[[Update, BotContext], Coroutine[Any, Any, None]]


@dataclass(frozen=True)
class Incoming:
    """A message to handle: its chat, its sender and the language we answer them in."""

    update: Update
    message: Message
    chat: Chat
    # Telegram names a sender for every message outside channels (a stand-in user for
    # anonymous admins and posts on behalf of a chat); channel posts are not routed here.
    user: User
    lang: str

    @classmethod
    def of(cls, update: Update) -> Incoming | None:
        """The update's message with its chat and sender; None when it lacks any of them."""
        message, chat, user = update.effective_message, update.effective_chat, update.effective_user
        if message is None or chat is None or user is None:
            return None
        return cls(update, message, chat, user, pick_language(user.language_code))


def on_message(handler: Callable[[Incoming, BotContext], Awaitable[None]]) -> Callback:
    """PTB's callback for `handler`: called with the update's message checked, or not at all."""

    @functools.wraps(handler)
    async def callback(update: Update, context: BotContext) -> None:
        incoming = Incoming.of(update)
        if incoming is not None:
            await handler(incoming, context)

    return callback
