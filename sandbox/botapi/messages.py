"""Identity, text messages, deletions, chat actions and chat info."""

from __future__ import annotations

from typing import Any

from sandbox.botapi.common import (
    bot_message,
    check_flood,
    check_reachable,
    message_text,
    reply_target,
    resolve_chat,
)
from sandbox.botapi.markup import validate_markup
from sandbox.botapi.params import Context, Params, bad
from sandbox.entities import (
    MAX_TEXT,
)

CHAT_ACTIONS = {
    "typing",
    "upload_photo",
    "record_video",
    "upload_video",
    "record_voice",
    "upload_voice",
    "upload_document",
    "choose_sticker",
    "find_location",
    "record_video_note",
    "upload_video_note",
}


# Bots may delete messages up to two days old (TDLib's can_delete_message for bots).
DELETE_WINDOW = 2 * 86400


async def get_me(ctx: Context, params: Params) -> Any:
    """getMe."""
    return {
        **ctx.bot.user.to_api(),
        "can_join_groups": True,
        "can_read_all_group_messages": not ctx.bot.privacy_mode,
        "supports_inline_queries": False,
        "can_connect_to_business": False,
        "has_main_web_app": False,
    }


async def log_out(ctx: Context, params: Params) -> Any:
    """logOut / close: nothing to do in a sandbox."""
    return True


async def send_message(ctx: Context, params: Params) -> Any:
    """sendMessage."""
    text, entities = message_text(params)
    # Telegram counts characters (code points, TDLib's utf8_length), not UTF-16 units.
    if len(text) > MAX_TEXT:
        raise bad("message is too long")
    markup = validate_markup(
        params.get_json("reply_markup", "can't parse reply keyboard markup JSON object")
    )
    chat = resolve_chat(ctx, params)
    reply_to = reply_target(params, chat)
    check_reachable(ctx, chat)
    check_flood(ctx, chat)
    message = bot_message(
        ctx, chat, text=text, entities=entities, reply_markup=markup, reply_to=reply_to
    )
    return message.to_api()


async def delete_message(ctx: Context, params: Params) -> Any:
    """deleteMessage."""
    if params.get_str("chat_id") is None:
        raise bad("chat_id is empty")
    message_id = params.get_int("message_id")
    if not message_id:
        raise bad("message identifier is not specified")
    chat = resolve_chat(ctx, params)
    message = chat.messages.get(message_id)
    if message is None or message.deleted:
        raise bad("message to delete not found")
    if ctx.sandbox.now() >= message.date + DELETE_WINDOW:
        raise bad("message can't be deleted")
    message.deleted = True
    ctx.sandbox.message_changed(ctx.bot, message, kind="delete")
    return True


async def delete_messages(ctx: Context, params: Params) -> Any:
    """deleteMessages: deletes those it finds, as Telegram skips the missing ones."""
    chat = resolve_chat(ctx, params)
    ids = params.get_json("message_ids", "can't parse message identifiers JSON object")
    if not isinstance(ids, list) or not 1 <= len(ids) <= 100:
        raise bad("message identifiers are not specified")
    found = [chat.messages.get(int(message_id)) for message_id in ids]
    messages = [m for m in found if m is not None and not m.deleted]
    # Like deleteMessage, all or nothing once one of them is past the bots' two days.
    if any(ctx.sandbox.now() >= m.date + DELETE_WINDOW for m in messages):
        raise bad("message can't be deleted")
    for message in messages:
        message.deleted = True
        ctx.sandbox.message_changed(ctx.bot, message, kind="delete")
    return True


async def send_chat_action(ctx: Context, params: Params) -> Any:
    """sendChatAction."""
    action = (params.get_str("action") or "").strip()
    if not action:
        raise bad("action is empty")
    if action not in CHAT_ACTIONS:
        raise bad("wrong parameter action in request")
    chat = resolve_chat(ctx, params)
    check_reachable(ctx, chat)
    ctx.sandbox.events.publish(
        {"type": "chat_action", "bot_id": ctx.bot.id, "chat_id": chat.id, "action": action}
    )
    return True


async def get_chat(ctx: Context, params: Params) -> Any:
    """getChat: the ChatFullInfo fields the sandbox knows."""
    chat = resolve_chat(ctx, params)
    return {
        **chat.to_api(),
        "accent_color_id": 0,
        "max_reaction_count": 11,
        "accepted_gift_types": {
            "unlimited_gifts": False,
            "limited_gifts": False,
            "unique_gifts": False,
            "premium_subscription": False,
            "gifts_from_channels": False,
        },
    }


async def get_chat_member(ctx: Context, params: Params) -> Any:
    """getChatMember: an administrator (as the control API set them) or a member."""
    chat = resolve_chat(ctx, params)
    user_id = params.get_int("user_id")
    if user_id is None:
        raise bad("user_id is empty")
    user = ctx.sandbox.users.get(user_id)
    if user is None:
        raise bad("PARTICIPANT_ID_INVALID")
    if user_id in chat.administrators:
        return {
            "status": "administrator",
            "user": user.to_api(),
            "can_be_edited": False,
            "is_anonymous": False,
            "can_manage_chat": True,
            "can_delete_messages": True,
            "can_manage_video_chats": True,
            "can_restrict_members": True,
            "can_promote_members": False,
            "can_change_info": True,
            "can_invite_users": True,
            "can_post_stories": False,
            "can_edit_stories": False,
            "can_delete_stories": False,
        }
    return {"status": "member", "user": user.to_api()}
