"""What the sending and editing methods share: the chat, its reachability, text, replies."""

from __future__ import annotations

import json
import re
from typing import Any

from sandbox.botapi.params import ApiError, Context, Params, bad
from sandbox.entities import (
    MAX_CAPTION,
    Entity,
    EntityParseError,
    MessageEntityError,
    UnsupportedParseMode,
    format_text,
)
from sandbox.model import Chat, Message


def resolve_chat(ctx: Context, params: Params, name: str = "chat_id") -> Chat:
    """The chat a method names; Telegram's errors for missing and unknown chats."""
    raw = params.get_str(name)
    if raw is None or raw.strip() == "":
        raise bad(f"{name} is empty")
    raw = raw.strip()
    chat: Chat | None = None
    if raw.startswith("@"):
        wanted = raw[1:].lower()
        for candidate in ctx.bot.chats.values():
            username = candidate.username or (candidate.user.username if candidate.user else None)
            if username and username.lower() == wanted:
                chat = candidate
                break
    elif re.fullmatch(r"-?\d+", raw):
        chat = ctx.bot.chats.get(int(raw))
    if chat is None:
        raise bad("chat not found")
    return chat


def check_reachable(ctx: Context, chat: Chat) -> None:
    """403 when the user blocked the bot (or the bot was removed from the group); 400 with
    migrate_to_chat_id when the group was upgraded to a supergroup."""
    if chat.migrated_to is not None:
        raise ApiError(
            400,
            "Bad Request: group chat was upgraded to a supergroup chat",
            migrate_to_chat_id=chat.migrated_to,
        )
    if chat.id in ctx.bot.faults.blocked:
        ctx.bot.faults.forbidden += 1
        if chat.type == "private":
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        if chat.type == "supergroup":
            raise ApiError(403, "Forbidden: bot was kicked from the supergroup chat")
        raise ApiError(403, "Forbidden: bot was kicked from the group chat")


def check_flood(ctx: Context, chat: Chat, count: int = 1) -> None:
    """429 with retry_after when Telegram's flood limits are on and exceeded."""
    wait = ctx.bot.faults.flood_wait(ctx.method.lower(), chat.id, chat.type, count)
    if wait:
        raise ApiError(429, f"Too Many Requests: retry after {wait}", retry_after=wait)


def input_entities(params: Params, name: str) -> list[Any] | None:
    """`entities` as the server reads them: JSON that does not parse to an array is ignored."""
    raw = params.raw(name)
    if raw is None or raw == "":
        return None
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            return None  # Client::get_input_entities logs it and goes on without entities
    return raw if isinstance(raw, list) else None


def formatted(
    params: Params, text: str | None, mode_name: str, entities_name: str
) -> tuple[str, list[Entity]]:
    """Apply parse_mode / entities to a text or caption with Telegram's errors."""
    try:
        return format_text(
            text or "", params.get_str(mode_name), input_entities(params, entities_name)
        )
    except UnsupportedParseMode as exc:
        raise bad("unsupported parse_mode") from exc
    except EntityParseError as exc:
        raise bad(f"can't parse entities: {exc}") from exc
    except MessageEntityError as exc:
        raise bad(str(exc)) from exc


def message_text(params: Params) -> tuple[str, list[Entity]]:
    """sendMessage/editMessageText's text: present, non-empty once parsed."""
    raw = params.get_str("text")
    if raw is None or raw == "":
        raise bad("message text is empty")
    text, entities = formatted(params, raw, "parse_mode", "entities")
    if not text:
        # TDLib's fix_formatted_text: nothing left after parsing and trimming.
        raise bad("text must be non-empty")
    return text, entities


def parse_caption(params: Params) -> tuple[str | None, list[Entity]]:
    """Caption with its entities, ≤ 1024 characters."""
    raw = params.get_str("caption")
    if raw is None:
        return None, []
    caption, entities = formatted(params, raw, "parse_mode", "caption_entities")
    # Telegram counts characters (code points, TDLib's utf8_length), not UTF-16 units.
    if len(caption) > MAX_CAPTION:
        raise bad("message caption is too long")
    return (caption or None), (entities if caption else [])


def reply_target(params: Params, chat: Chat) -> Message | None:
    """The message a send replies to, from reply_to_message_id or reply_parameters."""
    message_id = params.get_int("reply_to_message_id")
    allow_missing = params.get_bool("allow_sending_without_reply")
    reply = params.get_json("reply_parameters", "can't parse reply parameters JSON object")
    if isinstance(reply, dict):
        message_id = int(reply.get("message_id") or 0) or message_id
        allow_missing = bool(reply.get("allow_sending_without_reply", allow_missing))
    if not message_id:
        return None
    target = chat.messages.get(message_id)
    if target is None or target.deleted:
        if allow_missing:
            return None
        raise bad("message to be replied not found")
    return target


def bot_message(ctx: Context, chat: Chat, **fields: Any) -> Message:
    """Store a message the bot sent and count it."""
    message = ctx.sandbox.add_message(ctx.bot, chat, ctx.bot.user, **fields)
    ctx.bot.faults.sends_per_chat[chat.id] += 1
    return message


def edited_target(ctx: Context, params: Params) -> tuple[Chat, Message]:
    """The message an edit method names, with Telegram's errors."""
    if params.get_str("inline_message_id"):
        raise bad("message to edit not found")
    if params.get_str("chat_id") is None:
        raise bad("chat_id is empty")
    message_id = params.get_int("message_id")
    if not message_id:
        raise bad("message identifier is not specified")
    chat = resolve_chat(ctx, params)
    message = chat.messages.get(message_id)
    if message is None or message.deleted:
        raise bad("message to edit not found")
    if message.sender.id != ctx.bot.id:
        raise bad("message can't be edited")
    return chat, message
