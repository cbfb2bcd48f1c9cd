"""Who is staff on the shop floor (core.shopfloor.access): STAFF_USER_IDS, or an administrator
of the staff chat by getChatMember, remembered for a minute. Anonymous admins and channel
posts are not people and never staff."""

from __future__ import annotations

import logging

from telegram import Chat, User
from telegram.error import TelegramError

from bot.context import BotContext
from core.settings import Settings
from core.shopfloor.access import StaffAccess

log = logging.getLogger(__name__)

_access: dict[int, StaffAccess] = {}


def access_of(settings: Settings) -> StaffAccess:
    """One cache per staff chat, for the process's life."""
    chat_id = settings.staff_chat_id or 0  # 0: no staff chat (no one is its administrator)
    found = _access.get(chat_id)
    if found is None:
        found = StaffAccess(frozenset(settings.staff_user_ids), chat_id)
        _access[chat_id] = found
    return found


async def is_floor_staff(
    context: BotContext, user: User | None, sender_chat_id: int | None = None
) -> bool:
    """Whether `user` is staff (asking the staff chat when not known)."""
    access = access_of(context.services.settings)
    verdict = access.verdict(user.id if user else None, sender_chat_id)
    if verdict is not None or user is None:
        return bool(verdict)
    try:
        member = await context.bot.get_chat_member(access.chat_id, user.id)
    except TelegramError as exc:
        # Not known to the chat, or Telegram failing: not staff now (not remembered).
        log.info("getChatMember chat=%s user=%s failed: %s", access.chat_id, user.id, exc)
        return False
    return access.remember(user.id, str(member.status))


def where_staff_work(context: BotContext, chat: Chat) -> bool:
    """Staff commands answer in the staff chat or in private (nowhere else: they show
    customers' names, phones and addresses)."""
    return chat.type == Chat.PRIVATE or chat.id == context.services.settings.staff_chat_id
