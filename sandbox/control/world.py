"""Control of the sandbox itself, its bots, users and chats, and chat transcripts."""

from __future__ import annotations

from aiohttp import web

from sandbox.control.common import (
    as_float,
    as_int,
    bot_of,
    existing_chat,
    json_body,
    ok,
    sandbox_of,
)
from sandbox.core import ControlError


async def info(request: web.Request) -> web.Response:
    """GET /info: token, bot, URLs."""
    sb = sandbox_of(request)
    bot = bot_of(request)
    return ok(
        {
            "token": bot.token,
            "bot": bot.user.to_api(),
            "bots": [{"token": b.token, **b.user.to_api()} for b in sb.bots.values()],
            "api_url": sb.base_url,
            "bot_api_base": f"{sb.base_url}/bot{bot.token}",
            "file_base": f"{sb.base_url}/file/bot{bot.token}",
            "web_chat": f"{sb.base_url}/",
            "privacy_mode": bot.privacy_mode,
            "local": sb.local,
            "seq": sb.events.seq,
        }
    )


async def clock(request: web.Request) -> web.Response:
    """POST /clock {"advance": seconds}: move the sandbox's clock forward (dates, expiries)."""
    sb = sandbox_of(request)
    body = await json_body(request)
    advance = float(body.get("advance") or 0)
    if advance < 0:
        raise ControlError(400, "the clock only moves forward")
    sb.clock.advance(advance)
    for bot in sb.bots.values():
        bot.webhook_wakeup.set()  # deliveries re-check what expired
    return ok({"offset": sb.clock.offset, "now": sb.now()})


async def reset(request: web.Request) -> web.Response:
    """POST /reset: forget everything."""
    sandbox_of(request).reset()
    return ok({"ok": True})


async def add_bot(request: web.Request) -> web.Response:
    """POST /bots: accept another bot token."""
    body = await json_body(request)
    token = str(body.get("token") or "")
    if ":" not in token or not token.split(":", 1)[0].isdigit():
        raise ControlError(400, "token must look like 123456:secret")
    bot = sandbox_of(request).add_bot(
        token,
        str(body.get("username") or f"bot{token.split(':', 1)[0]}_bot"),
        str(body.get("first_name") or "Sandbox Bot"),
    )
    return ok({"token": bot.token, **bot.user.to_api()})


_TIMINGS = (
    "webhook_retry_delay",
    "webhook_retry_max",
    "webhook_timeout",
    "precheckout_timeout",
    "shipping_timeout",
)


async def set_config(request: web.Request) -> web.Response:
    """POST /config: privacy mode, webhook retry timing, payment deadlines, provider tokens."""
    sb = sandbox_of(request)
    bot = bot_of(request)
    body = await json_body(request)
    if "privacy_mode" in body:
        bot.privacy_mode = bool(body["privacy_mode"])
    for name in _TIMINGS:
        if name in body:
            setattr(sb, name, as_float(body[name], name))
    if "provider_tokens" in body:
        tokens = body["provider_tokens"]
        if not isinstance(tokens, list) or not all(isinstance(t, str) and t for t in tokens):
            raise ControlError(400, "provider_tokens is a list of tokens")
        sb.provider_tokens = set(tokens)
    return ok(
        {
            "privacy_mode": bot.privacy_mode,
            **{name: getattr(sb, name) for name in _TIMINGS},
            "provider_tokens": sorted(sb.provider_tokens),
        }
    )


async def list_users(request: web.Request) -> web.Response:
    """GET /users."""
    return ok([user.to_api() for user in sandbox_of(request).users.values()])


async def upsert_user(request: web.Request) -> web.Response:
    """POST /users: create or update a user."""
    return ok(sandbox_of(request).upsert_user(await json_body(request)).to_api())


async def list_chats(request: web.Request) -> web.Response:
    """GET /chats."""
    sb = sandbox_of(request)
    return ok([sb.chat_info(chat) for chat in bot_of(request).chats.values()])


async def create_chat(request: web.Request) -> web.Response:
    """POST /chats: a private chat (with its user) or a group."""
    sb = sandbox_of(request)
    bot = bot_of(request)
    body = await json_body(request)
    chat_id = as_int(body.get("id"), "id")
    user = None
    if chat_id > 0:
        user = sb.upsert_user({"id": chat_id, **(body.get("user") or {})})
    elif body.get("user"):
        sb.upsert_user(body["user"])
    chat_type = body.get("type")
    if chat_type not in (None, "private", "group", "supergroup"):
        raise ControlError(400, "type is private, group or supergroup")
    if chat_id > 0 and chat_type not in (None, "private"):
        raise ControlError(400, "positive ids are private chats")
    chat = sb.ensure_chat(
        bot,
        chat_id,
        title=body.get("title"),
        user=user,
        chat_type=chat_type,
        username=body.get("username"),
    )
    if "administrators" in body:
        chat.administrators = {as_int(i, "administrators") for i in body["administrators"]}
    return ok(sb.chat_info(chat))


async def get_chat(request: web.Request) -> web.Response:
    """GET /chats/{id}."""
    return ok(sandbox_of(request).chat_info(existing_chat(request)))


async def transcript(request: web.Request) -> web.Response:
    """GET /chats/{id}/messages: every message, user and bot, with edits and media."""
    sb = sandbox_of(request)
    chat = existing_chat(request)
    seq = sb.events.seq
    return ok(
        {
            "chat": sb.chat_info(chat),
            "seq": seq,
            "messages": [m.to_transcript(sb.base_url) for m in chat.messages.values()],
        }
    )
