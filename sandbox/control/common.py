"""What every control handler shares: the sandbox and bot of a request, bodies, senders."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import BodyPartReader, web

from sandbox.bots import BotState
from sandbox.core import ControlError, Sandbox
from sandbox.media import Upload
from sandbox.model import Chat, Message, User

SANDBOX_KEY: web.AppKey[Sandbox] = web.AppKey("sandbox", Sandbox)
PREFIX = "/sandbox/api"


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def ok(value: Any, status: int = 200) -> web.Response:
    """A JSON answer."""
    return web.json_response(value, status=status, dumps=dumps)


def sandbox_of(request: web.Request) -> Sandbox:
    return request.app[SANDBOX_KEY]


def bot_of(request: web.Request) -> BotState:
    return sandbox_of(request).bot_by_id(request.query.get("bot"))


async def json_body(request: web.Request) -> dict[str, Any]:
    if not request.body_exists:
        return {}
    try:
        data = await request.json()
    except ValueError as exc:
        raise ControlError(400, "body is not JSON") from exc
    if not isinstance(data, dict):
        raise ControlError(400, "body must be a JSON object")
    return data


def as_int(value: Any, name: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise ControlError(400, f"{name} must be an integer") from exc


def as_float(value: Any, name: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError) as exc:
        raise ControlError(400, f"{name} must be a number") from exc


def chat_id_of(request: web.Request) -> int:
    return as_int(request.match_info["chat_id"], "chat_id")


def existing_chat(request: web.Request) -> Chat:
    chat = bot_of(request).chats.get(chat_id_of(request))
    if chat is None:
        raise ControlError(404, f"no chat {request.match_info['chat_id']}")
    return chat


def sender(sb: Sandbox, bot: BotState, chat_id: int, spec: Any) -> tuple[Chat, User]:
    """The chat (created if new) and the user sending into it."""
    if isinstance(spec, str) and spec:
        spec = json.loads(spec)
    chat = bot.chats.get(chat_id)
    if chat_id > 0:
        if spec and as_int(spec.get("id", chat_id), "from.id") != chat_id:
            raise ControlError(400, "in a private chat the sender is the chat's user")
        user = sb.upsert_user({"id": chat_id, **(spec or {})})
        chat = sb.ensure_chat(bot, chat_id, user=user)
        return chat, user
    if not spec:
        raise ControlError(400, "group messages need 'from' (the sending user)")
    user = sb.upsert_user(spec)
    chat = chat or sb.ensure_chat(bot, chat_id)
    return chat, user


def form_sender(fields: dict[str, str]) -> dict[str, Any] | None:
    """A sender from multipart fields: 'from' as JSON, or user_id/first_name/… fields."""
    if fields.get("from"):
        spec = json.loads(fields["from"])
        return spec if isinstance(spec, dict) else None
    if fields.get("user_id"):
        user: dict[str, Any] = {"id": int(fields["user_id"])}
        for key in ("first_name", "last_name", "username", "language_code"):
            if fields.get(key):
                user[key] = fields[key]
        return user
    return None


async def multipart(request: web.Request) -> tuple[dict[str, str], list[tuple[str, Upload]]]:
    fields: dict[str, str] = {}
    uploads: list[tuple[str, Upload]] = []
    if not request.content_type.startswith("multipart/"):
        raise ControlError(400, "send the file as multipart/form-data")
    reader = await request.multipart()
    async for part in reader:
        if not isinstance(part, BodyPartReader):
            continue
        if part.filename:
            data = await part.read(decode=False)
            uploads.append(
                (
                    part.name or "file",
                    Upload(bytes(data), part.filename, part.headers.get("Content-Type")),
                )
            )
        elif part.name:
            fields[part.name] = await part.text()
    return fields, uploads


def reply_to_of(chat: Chat, value: Any) -> Message | None:
    if value in (None, ""):
        return None
    message = chat.messages.get(as_int(value, "reply_to_message_id"))
    if message is None:
        raise ControlError(404, f"no message {value} to reply to")
    return message


def transcript_of(sb: Sandbox, message: Message, update_id: int | None) -> dict[str, Any]:
    return {**message.to_transcript(sb.base_url), "update_id": update_id}


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def control_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """ControlError → JSON {"error": ...} with its status."""
    try:
        return await handler(request)
    except ControlError as exc:
        return ok({"ok": False, "error": exc.message}, status=exc.status)
