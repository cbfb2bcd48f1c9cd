"""A group upgraded to a supergroup: its orders, photo jobs and conversations follow it."""

from __future__ import annotations

import logging

from telegram import Update

from bot.context import BotContext
from core.chats import ChatMoves

log = logging.getLogger(__name__)


async def migrated(update: Update, context: BotContext) -> None:
    """The service message of an upgrade (either of the two Telegram sends): move the chat."""
    message = update.effective_message
    if message is None:
        return
    if message.migrate_to_chat_id:
        old, new = message.chat.id, message.migrate_to_chat_id
    elif message.migrate_from_chat_id:
        old, new = message.migrate_from_chat_id, message.chat.id
    else:
        return
    svc = context.services
    moved = await svc.run(ChatMoves(svc.redis, svc.store).move, old, new)
    log.info("chat=%s upgraded to supergroup %s: %s records moved", old, new, moved)
