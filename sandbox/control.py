"""The control API under /sandbox/api: act as users, read transcripts, wait, inject faults."""

from __future__ import annotations

import asyncio
import json
import mimetypes
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import BodyPartReader, web

from sandbox.core import ControlError, Sandbox
from sandbox.faults import FaultRule
from sandbox.media import USER_PHOTO_SIDES, MediaError, Upload
from sandbox.model import BotState, Chat, Message, User

SANDBOX_KEY: web.AppKey[Sandbox] = web.AppKey("sandbox", Sandbox)
PREFIX = "/sandbox/api"


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def ok(value: Any, status: int = 200) -> web.Response:
    """A JSON answer."""
    return web.json_response(value, status=status, dumps=_dumps)


def _sandbox(request: web.Request) -> Sandbox:
    return request.app[SANDBOX_KEY]


def _bot(request: web.Request) -> BotState:
    return _sandbox(request).bot_by_id(request.query.get("bot"))


async def _json(request: web.Request) -> dict[str, Any]:
    if not request.body_exists:
        return {}
    try:
        data = await request.json()
    except ValueError as exc:
        raise ControlError(400, "body is not JSON") from exc
    if not isinstance(data, dict):
        raise ControlError(400, "body must be a JSON object")
    return data


def _int(value: Any, name: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise ControlError(400, f"{name} must be an integer") from exc


def _float(value: Any, name: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError) as exc:
        raise ControlError(400, f"{name} must be a number") from exc


def _chat_id(request: web.Request) -> int:
    return _int(request.match_info["chat_id"], "chat_id")


def _existing_chat(request: web.Request) -> Chat:
    chat = _bot(request).chats.get(_chat_id(request))
    if chat is None:
        raise ControlError(404, f"no chat {request.match_info['chat_id']}")
    return chat


def _sender(sb: Sandbox, bot: BotState, chat_id: int, spec: Any) -> tuple[Chat, User]:
    """The chat (created if new) and the user sending into it."""
    if isinstance(spec, str) and spec:
        spec = json.loads(spec)
    chat = bot.chats.get(chat_id)
    if chat_id > 0:
        if spec and _int(spec.get("id", chat_id), "from.id") != chat_id:
            raise ControlError(400, "in a private chat the sender is the chat's user")
        user = sb.upsert_user({"id": chat_id, **(spec or {})})
        chat = sb.ensure_chat(bot, chat_id, user=user)
        return chat, user
    if not spec:
        raise ControlError(400, "group messages need 'from' (the sending user)")
    user = sb.upsert_user(spec)
    chat = chat or sb.ensure_chat(bot, chat_id)
    return chat, user


def _form_sender(fields: dict[str, str]) -> dict[str, Any] | None:
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


async def _multipart(request: web.Request) -> tuple[dict[str, str], list[tuple[str, Upload]]]:
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


def _reply_to(chat: Chat, value: Any) -> Message | None:
    if value in (None, ""):
        return None
    message = chat.messages.get(_int(value, "reply_to_message_id"))
    if message is None:
        raise ControlError(404, f"no message {value} to reply to")
    return message


def _transcript(sb: Sandbox, message: Message, update_id: int | None) -> dict[str, Any]:
    return {**message.to_transcript(sb.base_url), "update_id": update_id}


# --- handlers ------------------------------------------------------------------------


async def info(request: web.Request) -> web.Response:
    """GET /info: token, bot, URLs."""
    sb = _sandbox(request)
    bot = _bot(request)
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
    sb = _sandbox(request)
    body = await _json(request)
    advance = float(body.get("advance") or 0)
    if advance < 0:
        raise ControlError(400, "the clock only moves forward")
    sb.clock.advance(advance)
    for bot in sb.bots.values():
        bot.webhook_wakeup.set()  # deliveries re-check what expired
    return ok({"offset": sb.clock.offset, "now": sb.now()})


async def reset(request: web.Request) -> web.Response:
    """POST /reset: forget everything."""
    _sandbox(request).reset()
    return ok({"ok": True})


async def add_bot(request: web.Request) -> web.Response:
    """POST /bots: accept another bot token."""
    body = await _json(request)
    token = str(body.get("token") or "")
    if ":" not in token or not token.split(":", 1)[0].isdigit():
        raise ControlError(400, "token must look like 123456:secret")
    bot = _sandbox(request).add_bot(
        token,
        str(body.get("username") or f"bot{token.split(':', 1)[0]}_bot"),
        str(body.get("first_name") or "Sandbox Bot"),
    )
    return ok({"token": bot.token, **bot.user.to_api()})


async def set_config(request: web.Request) -> web.Response:
    """POST /config: privacy mode and webhook retry timing."""
    sb = _sandbox(request)
    bot = _bot(request)
    body = await _json(request)
    if "privacy_mode" in body:
        bot.privacy_mode = bool(body["privacy_mode"])
    if "webhook_retry_delay" in body:
        sb.webhook_retry_delay = float(body["webhook_retry_delay"])
    if "webhook_retry_max" in body:
        sb.webhook_retry_max = float(body["webhook_retry_max"])
    if "webhook_timeout" in body:
        sb.webhook_timeout = float(body["webhook_timeout"])
    return ok(
        {
            "privacy_mode": bot.privacy_mode,
            "webhook_retry_delay": sb.webhook_retry_delay,
            "webhook_retry_max": sb.webhook_retry_max,
            "webhook_timeout": sb.webhook_timeout,
        }
    )


async def list_users(request: web.Request) -> web.Response:
    """GET /users."""
    return ok([user.to_api() for user in _sandbox(request).users.values()])


async def upsert_user(request: web.Request) -> web.Response:
    """POST /users: create or update a user."""
    return ok(_sandbox(request).upsert_user(await _json(request)).to_api())


async def list_chats(request: web.Request) -> web.Response:
    """GET /chats."""
    sb = _sandbox(request)
    return ok([sb.chat_info(chat) for chat in _bot(request).chats.values()])


async def create_chat(request: web.Request) -> web.Response:
    """POST /chats: a private chat (with its user) or a group."""
    sb = _sandbox(request)
    bot = _bot(request)
    body = await _json(request)
    chat_id = _int(body.get("id"), "id")
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
    return ok(sb.chat_info(chat))


async def get_chat(request: web.Request) -> web.Response:
    """GET /chats/{id}."""
    return ok(_sandbox(request).chat_info(_existing_chat(request)))


async def transcript(request: web.Request) -> web.Response:
    """GET /chats/{id}/messages: every message, user and bot, with edits and media."""
    sb = _sandbox(request)
    chat = _existing_chat(request)
    seq = sb.events.seq
    return ok(
        {
            "chat": sb.chat_info(chat),
            "seq": seq,
            "messages": [m.to_transcript(sb.base_url) for m in chat.messages.values()],
        }
    )


async def send_text(request: web.Request) -> web.Response:
    """POST /chats/{id}/messages: a user's text or command."""
    sb = _sandbox(request)
    bot = _bot(request)
    body = await _json(request)
    text = body.get("text")
    if not isinstance(text, str):
        raise ControlError(400, "text is required")
    chat, user = _sender(sb, bot, _chat_id(request), body.get("from"))
    extra: dict[str, Any] = {}
    if body.get("sender_chat"):
        extra["sender_chat"] = body["sender_chat"]
    if body.get("is_automatic_forward"):
        extra["is_automatic_forward"] = True
    message, update_id = sb.user_text(
        bot,
        chat,
        user,
        text,
        reply_to=_reply_to(chat, body.get("reply_to_message_id")),
        extra=extra,
    )
    return ok(_transcript(sb, message, update_id))


async def edit_text(request: web.Request) -> web.Response:
    """POST /chats/{id}/messages/{message_id}/edit: the user edits their text message."""
    sb = _sandbox(request)
    bot = _bot(request)
    chat = _existing_chat(request)
    body = await _json(request)
    text = body.get("text")
    if not isinstance(text, str):
        raise ControlError(400, "text is required")
    message = chat.messages.get(_int(request.match_info["message_id"], "message_id"))
    if message is None:
        raise ControlError(404, "no such message")
    update_id = sb.user_edit(bot, message, text)
    return ok(_transcript(sb, message, update_id))


async def migrate(request: web.Request) -> web.Response:
    """POST /chats/{id}/migrate: upgrade a group to a supergroup ({"to": id, "from": user})."""
    sb = _sandbox(request)
    bot = _bot(request)
    chat = _existing_chat(request)
    body = await _json(request)
    _, user = _sender(sb, bot, chat.id, body.get("from"))
    supergroup = sb.migrate(bot, chat, user, _int(body.get("to"), "to"))
    return ok(sb.chat_info(supergroup))


async def _photo_message(
    sb: Sandbox,
    bot: BotState,
    chat: Chat,
    user: User,
    upload: Upload,
    caption: str | None,
    media_group_id: str | None = None,
    as_document: bool = False,
    mime_type: str | None = None,
    reply_to: Message | None = None,
) -> tuple[Message, int | None]:
    from sandbox.entities import format_text

    caption_text, caption_entities = format_text(caption) if caption else ("", [])
    fields: dict[str, Any] = {
        "caption": caption_text or None,
        "caption_entities": caption_entities,
        "media_group_id": media_group_id,
        "reply_to": reply_to,
    }
    try:
        if as_document:
            fields["document"] = sb.files.add_document(upload, mime_type)
        else:
            photo = await asyncio.get_running_loop().run_in_executor(
                None, sb.files.add_photo, upload.data, USER_PHOTO_SIDES
            )
            sb.register_photo(photo)
            fields["photo"] = photo
    except MediaError as exc:
        raise ControlError(400, str(exc)) from exc
    message = sb.add_message(bot, chat, user, **fields)
    return message, sb.deliver(bot, message)


async def send_photo(request: web.Request) -> web.Response:
    """POST /chats/{id}/photo (multipart 'photo'): a user's photo, in Telegram's sizes."""
    sb = _sandbox(request)
    bot = _bot(request)
    fields, uploads = await _multipart(request)
    if not uploads:
        raise ControlError(400, "no file part in the request")
    chat, user = _sender(sb, bot, _chat_id(request), _form_sender(fields))
    message, update_id = await _photo_message(
        sb,
        bot,
        chat,
        user,
        uploads[0][1],
        fields.get("caption"),
        reply_to=_reply_to(chat, fields.get("reply_to_message_id")),
    )
    return ok(_transcript(sb, message, update_id))


async def send_document(request: web.Request) -> web.Response:
    """POST /chats/{id}/document (multipart 'document'): a user's file, bytes untouched."""
    sb = _sandbox(request)
    bot = _bot(request)
    fields, uploads = await _multipart(request)
    if not uploads:
        raise ControlError(400, "no file part in the request")
    chat, user = _sender(sb, bot, _chat_id(request), _form_sender(fields))
    upload = uploads[0][1]
    if fields.get("file_name"):
        upload.filename = fields["file_name"]
    mime = fields.get("mime_type") or None
    if mime is None and upload.filename:
        mime = mimetypes.guess_type(upload.filename)[0]
    message, update_id = await _photo_message(
        sb,
        bot,
        chat,
        user,
        upload,
        fields.get("caption"),
        as_document=True,
        mime_type=mime,
        reply_to=_reply_to(chat, fields.get("reply_to_message_id")),
    )
    return ok(_transcript(sb, message, update_id))


async def send_album(request: web.Request) -> web.Response:
    """POST /chats/{id}/album (multipart, several 'photo' parts): one media_group_id."""
    import secrets

    sb = _sandbox(request)
    bot = _bot(request)
    fields, uploads = await _multipart(request)
    if not 2 <= len(uploads) <= 10:
        raise ControlError(400, "an album has 2 to 10 files")
    chat, user = _sender(sb, bot, _chat_id(request), _form_sender(fields))
    group_id = str(secrets.randbits(63))
    out = []
    for index, (name, upload) in enumerate(uploads):
        message, update_id = await _photo_message(
            sb,
            bot,
            chat,
            user,
            upload,
            fields.get("caption") if index == 0 else None,
            media_group_id=group_id,
            as_document=name == "document",
        )
        out.append(_transcript(sb, message, update_id))
    return ok(out)


async def press(request: web.Request) -> web.Response:
    """POST /chats/{id}/press: a user presses an inline button (by text or callback_data)."""
    sb = _sandbox(request)
    bot = _bot(request)
    body = await _json(request)
    chat_id = _chat_id(request)
    if chat_id not in bot.chats:
        raise ControlError(404, f"no chat {chat_id}")
    chat, user = _sender(sb, bot, chat_id, body.get("from"))
    message_id = body.get("message_id")
    query = sb.press(
        bot,
        chat,
        user,
        text=body.get("text"),
        data=body.get("callback_data"),
        message_id=None if message_id in (None, "") else _int(message_id, "message_id"),
        forged=bool(body.get("forged")),
    )
    return ok({"callback_query_id": query.id, "message_id": query.message_id, "data": query.data})


async def callback_query(request: web.Request) -> web.Response:
    """GET /callback_queries/{id}?timeout=: the bot's answer, waiting for it."""
    sb = _sandbox(request)
    bot = _bot(request)
    query = bot.callback_queries.get(request.match_info["query_id"])
    if query is None:
        raise ControlError(404, "no such callback query")
    timeout = float(request.query.get("timeout", "0"))
    await sb.wait_answer(query, min(timeout, 60.0))
    return ok(
        {
            "id": query.id,
            "chat_id": query.chat_id,
            "message_id": query.message_id,
            "data": query.data,
            "answered": query.answered,
            "answer": query.answer,
        }
    )


def _chat_filter(request: web.Request) -> int | None:
    value = request.query.get("chat_id")
    return None if value in (None, "") else _int(value, "chat_id")


async def wait_events(request: web.Request) -> web.Response:
    """GET /events/wait?since=&chat_id=&timeout=: long-poll for what happens next."""
    sb = _sandbox(request)
    since = _int(request.query.get("since", sb.events.seq), "since")
    timeout = min(float(request.query.get("timeout", "10")), 60.0)
    events = await sb.events.wait(since, timeout, _chat_filter(request))
    return ok({"seq": sb.events.seq, "events": events})


async def stream_events(request: web.Request) -> web.StreamResponse:
    """GET /events: server-sent events (optionally ?chat_id=, resumable with Last-Event-ID)."""
    sb = _sandbox(request)
    chat_id = _chat_filter(request)
    since_raw = request.headers.get("Last-Event-ID") or request.query.get("since")
    seq = _int(since_raw, "since") if since_raw else sb.events.seq
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-cache",
            "X-Accel-Buffering": "no",
        }
    )
    await response.prepare(request)
    try:
        await response.write(f"retry: 1000\n: seq {sb.events.seq}\n\n".encode())
        while True:
            events = await sb.events.wait(seq, 15.0, chat_id)
            if not events:
                await response.write(b": ping\n\n")
                continue
            for event in events:
                seq = event["seq"]
                data = _dumps(event)
                await response.write(
                    f"id: {seq}\nevent: {event['type']}\ndata: {data}\n\n".encode()
                )
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    return response


async def get_limits(request: web.Request) -> web.Response:
    """GET /limits."""
    return ok(_bot(request).faults.limits.to_dict())


async def set_limits(request: web.Request) -> web.Response:
    """POST /limits: switch flood limits on/off and tune them."""
    body = await _json(request)
    return ok(_bot(request).faults.set_limits(**body).to_dict())


async def get_faults(request: web.Request) -> web.Response:
    """GET /faults: limits, forced failures, blocked chats, latency."""
    return ok(_bot(request).faults.state())


async def add_fault(request: web.Request) -> web.Response:
    """POST /faults: force answers for the next calls of a method."""
    body = await _json(request)
    method = str(body.get("method") or "*")
    status = _int(body.get("status", 429 if body.get("retry_after") else 502), "status")
    times = body.get("times", 1)
    retry_after = body.get("retry_after")
    if status == 429 and retry_after is None:
        retry_after = 1
    rule = FaultRule(
        method=method,
        status=status,
        times=None if times is None else _int(times, "times"),
        drop=bool(body.get("drop", False)),
        retry_after=None if retry_after is None else _int(retry_after, "retry_after"),
        description=body.get("description"),
        hold=_float(body.get("hold", 0.0), "hold"),
    )
    _bot(request).faults.add_rule(rule)
    return ok(_bot(request).faults.state())


async def clear_faults(request: web.Request) -> web.Response:
    """DELETE /faults: drop every forced failure."""
    faults = _bot(request).faults
    faults.rules.clear()
    return ok(faults.state())


async def block(request: web.Request) -> web.Response:
    """POST /blocked {chat_id}: the user blocked the bot (or the bot was kicked)."""
    body = await _json(request)
    faults = _bot(request).faults
    faults.blocked.add(_int(body.get("chat_id"), "chat_id"))
    return ok(faults.state())


async def unblock(request: web.Request) -> web.Response:
    """DELETE /blocked/{chat_id}."""
    faults = _bot(request).faults
    faults.blocked.discard(_chat_id(request))
    return ok(faults.state())


async def set_latency(request: web.Request) -> web.Response:
    """POST /latency {seconds, method?}: delay Bot API answers."""
    body = await _json(request)
    faults = _bot(request).faults
    seconds = float(body.get("seconds", 0))
    method = body.get("method")
    if method:
        if seconds:
            faults.method_latency[str(method).lower()] = seconds
        else:
            faults.method_latency.pop(str(method).lower(), None)
    else:
        faults.latency = seconds
    return ok(faults.state())


async def counters(request: web.Request) -> web.Response:
    """GET /counters: calls per method, 429s, per-chat sends."""
    bot = _bot(request)
    data = bot.faults.counters()
    hook = bot.webhook
    data["pending_updates"] = len(bot.updates)
    data["webhook_deliveries"] = hook.deliveries if hook else 0
    data["webhook_failures"] = hook.failures if hook else 0
    return ok(data)


async def reset_counters(request: web.Request) -> web.Response:
    """DELETE /counters: start counting from zero."""
    faults = _bot(request).faults
    faults.calls.clear()
    faults.errors.clear()
    faults.sends_per_chat.clear()
    faults.too_many_requests = faults.forced = faults.dropped = faults.forbidden = 0
    return ok(faults.counters())


async def webhook(request: web.Request) -> web.Response:
    """GET /webhook: the webhook and its delivery state."""
    bot = _bot(request)
    bot.drop_expired()
    hook = bot.webhook
    return ok(
        {
            "url": hook.url if hook else "",
            "secret_token_set": bool(hook and hook.secret_token),
            "pending_update_count": len(bot.updates),
            "last_error_date": hook.last_error_date if hook else None,
            "last_error_message": hook.last_error_message if hook else None,
            "deliveries": hook.deliveries if hook else 0,
            "failures": hook.failures if hook else 0,
            "max_connections": hook.max_connections if hook else None,
            "allowed_updates": bot.allowed_updates,
        }
    )


async def pending_updates(request: web.Request) -> web.Response:
    """GET /updates: updates not yet confirmed by the bot."""
    return ok([update.to_api() for update in _bot(request).updates])


async def commands(request: web.Request) -> web.Response:
    """GET /commands: every command list the bot set, by scope and language."""
    return ok(
        [
            {"scope": scope, "language_code": language, "commands": items}
            for (scope, language), items in _bot(request).commands.items()
        ]
    )


async def download(request: web.Request) -> web.Response:
    """GET /files/{file_id}: the stored bytes (no 20 MB limit here)."""
    stored = _sandbox(request).files.get(request.match_info["file_id"])
    if stored is None:
        raise ControlError(404, "no such file")
    return web.Response(
        body=stored.path.read_bytes(),
        content_type=stored.mime_type or "application/octet-stream",
    )


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def control_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """ControlError → JSON {"error": ...} with its status."""
    try:
        return await handler(request)
    except ControlError as exc:
        return ok({"ok": False, "error": exc.message}, status=exc.status)


def routes() -> list[web.RouteDef]:
    """Every control route (relative to PREFIX)."""
    p = ""
    return [
        web.get(f"{p}/info", info),
        web.post(f"{p}/reset", reset),
        web.post(f"{p}/bots", add_bot),
        web.post(f"{p}/config", set_config),
        web.post(f"{p}/clock", clock),
        web.get(f"{p}/users", list_users),
        web.post(f"{p}/users", upsert_user),
        web.get(f"{p}/chats", list_chats),
        web.post(f"{p}/chats", create_chat),
        web.get(f"{p}/chats/{{chat_id}}", get_chat),
        web.get(f"{p}/chats/{{chat_id}}/messages", transcript),
        web.post(f"{p}/chats/{{chat_id}}/messages", send_text),
        web.post(f"{p}/chats/{{chat_id}}/messages/{{message_id}}/edit", edit_text),
        web.post(f"{p}/chats/{{chat_id}}/migrate", migrate),
        web.post(f"{p}/chats/{{chat_id}}/photo", send_photo),
        web.post(f"{p}/chats/{{chat_id}}/document", send_document),
        web.post(f"{p}/chats/{{chat_id}}/album", send_album),
        web.post(f"{p}/chats/{{chat_id}}/press", press),
        web.get(f"{p}/callback_queries/{{query_id}}", callback_query),
        web.get(f"{p}/events", stream_events),
        web.get(f"{p}/events/wait", wait_events),
        web.get(f"{p}/limits", get_limits),
        web.post(f"{p}/limits", set_limits),
        web.get(f"{p}/faults", get_faults),
        web.post(f"{p}/faults", add_fault),
        web.delete(f"{p}/faults", clear_faults),
        web.post(f"{p}/blocked", block),
        web.delete(f"{p}/blocked/{{chat_id}}", unblock),
        web.post(f"{p}/latency", set_latency),
        web.get(f"{p}/counters", counters),
        web.delete(f"{p}/counters", reset_counters),
        web.get(f"{p}/webhook", webhook),
        web.get(f"{p}/updates", pending_updates),
        web.get(f"{p}/commands", commands),
        web.get(f"{p}/files/{{file_id}}", download),
    ]
