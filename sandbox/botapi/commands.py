"""Button presses answered, and the bot's command lists per scope and language."""

from __future__ import annotations

import re
from typing import Any

from sandbox.botapi.params import Context, Params, bad
from sandbox.bots import CALLBACK_QUERY_TTL
from sandbox.presses import answer_query

QUERY_INVALID = "Bad Request: query is too old and response timeout expired or query ID is invalid"


async def answer_callback_query(ctx: Context, params: Params) -> Any:
    """answerCallbackQuery: once per query."""
    query_id = (params.get_str("callback_query_id") or "").strip()
    query = ctx.bot.callback_queries.get(query_id)
    if query is None or query.answered:
        raise bad(QUERY_INVALID[len("Bad Request: ") :])
    if ctx.sandbox.now() - query.created > CALLBACK_QUERY_TTL:
        raise bad(QUERY_INVALID[len("Bad Request: ") :])
    text = params.get_str("text")
    if text is not None and len(text) > 200:
        raise bad("MESSAGE_TOO_LONG")
    answer = {
        "text": text,
        "show_alert": params.get_bool("show_alert"),
        "url": params.get_str("url"),
        "cache_time": params.get_int("cache_time") or 0,
    }
    answer_query(ctx.sandbox, ctx.bot, query, answer)
    return True


def _scope_key(ctx: Context, params: Params) -> str:
    scope = params.get_json("scope", "can't parse BotCommandScope JSON object")
    if scope is None:
        return "default"
    if not isinstance(scope, dict):
        raise bad("can't parse BotCommandScope JSON object")
    kind = scope.get("type")
    if kind in ("default", "all_private_chats", "all_group_chats", "all_chat_administrators"):
        return str(kind)
    if kind in ("chat", "chat_administrators", "chat_member"):
        if scope.get("chat_id") in (None, ""):
            raise bad("chat_id is empty")
        # Like Telegram, a scope names a chat the bot knows: "chat not found" otherwise.
        chat = ctx.bot.chats.get(int(scope["chat_id"])) if _is_int(scope["chat_id"]) else None
        if chat is None:
            raise bad("chat not found")
        key = f"{kind}:{chat.id}"
        if kind == "chat_member":
            if not scope.get("user_id"):
                raise bad("user not found")
            key += f":{scope['user_id']}"
        return key
    raise bad("unsupported bot command scope type")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) or bool(re.fullmatch(r"-?\d+", str(value)))


def _language(params: Params) -> str:
    code = (params.get_str("language_code") or "").strip()
    if code and not re.fullmatch(r"[a-z]{2}", code):
        raise bad("invalid language code specified")
    return code


async def set_my_commands(ctx: Context, params: Params) -> Any:
    """setMyCommands (keyed by scope and language_code)."""
    commands = params.get_json("commands", "can't parse commands JSON object") or []
    if not isinstance(commands, list):
        raise bad("can't parse commands JSON object")
    if len(commands) > 100:
        raise bad("BOT_COMMANDS_TOO_MUCH")
    clean = []
    for item in commands:
        if not isinstance(item, dict):
            raise bad("can't parse BotCommand JSON object")
        name = str(item.get("command") or "").strip().removeprefix("/")
        description = str(item.get("description") or "").strip()
        if not re.fullmatch(r"[a-z0-9_]{1,32}", name):
            raise bad("BOT_COMMAND_INVALID")
        if not 1 <= len(description) <= 256:
            raise bad("BOT_COMMAND_DESCRIPTION_INVALID")
        clean.append({"command": name, "description": description})
    key = (_scope_key(ctx, params), _language(params))
    if clean:
        ctx.bot.commands[key] = clean
    else:
        ctx.bot.commands.pop(key, None)
    return True


async def get_my_commands(ctx: Context, params: Params) -> Any:
    """getMyCommands: exactly that scope and language, no fallback."""
    return list(ctx.bot.commands.get((_scope_key(ctx, params), _language(params)), []))


async def delete_my_commands(ctx: Context, params: Params) -> Any:
    """deleteMyCommands."""
    ctx.bot.commands.pop((_scope_key(ctx, params), _language(params)), None)
    return True
