"""Users acting: texts, edits, photos, documents, albums, group upgrades, button presses."""

from __future__ import annotations

import asyncio
import mimetypes
from typing import Any

from aiohttp import web

from sandbox import presses
from sandbox.bots import BotState
from sandbox.control.common import (
    as_int,
    bot_of,
    chat_id_of,
    existing_chat,
    form_sender,
    json_body,
    multipart,
    ok,
    reply_to_of,
    sandbox_of,
    sender,
    transcript_of,
)
from sandbox.core import ControlError, Sandbox
from sandbox.media import USER_PHOTO_SIDES, MediaError, Upload
from sandbox.model import Chat, Message, User


async def send_text(request: web.Request) -> web.Response:
    """POST /chats/{id}/messages: a user's text or command."""
    sb = sandbox_of(request)
    bot = bot_of(request)
    body = await json_body(request)
    text = body.get("text")
    if not isinstance(text, str):
        raise ControlError(400, "text is required")
    chat, user = sender(sb, bot, chat_id_of(request), body.get("from"))
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
        reply_to=reply_to_of(chat, body.get("reply_to_message_id")),
        extra=extra,
    )
    return ok(transcript_of(sb, message, update_id))


async def edit_text(request: web.Request) -> web.Response:
    """POST /chats/{id}/messages/{message_id}/edit: the user edits their text message."""
    sb = sandbox_of(request)
    bot = bot_of(request)
    chat = existing_chat(request)
    body = await json_body(request)
    text = body.get("text")
    if not isinstance(text, str):
        raise ControlError(400, "text is required")
    message = chat.messages.get(as_int(request.match_info["message_id"], "message_id"))
    if message is None:
        raise ControlError(404, "no such message")
    update_id = sb.user_edit(bot, message, text)
    return ok(transcript_of(sb, message, update_id))


async def migrate(request: web.Request) -> web.Response:
    """POST /chats/{id}/migrate: upgrade a group to a supergroup ({"to": id, "from": user})."""
    sb = sandbox_of(request)
    bot = bot_of(request)
    chat = existing_chat(request)
    body = await json_body(request)
    _, user = sender(sb, bot, chat.id, body.get("from"))
    supergroup = sb.migrate(bot, chat, user, as_int(body.get("to"), "to"))
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
    sb = sandbox_of(request)
    bot = bot_of(request)
    fields, uploads = await multipart(request)
    if not uploads:
        raise ControlError(400, "no file part in the request")
    chat, user = sender(sb, bot, chat_id_of(request), form_sender(fields))
    message, update_id = await _photo_message(
        sb,
        bot,
        chat,
        user,
        uploads[0][1],
        fields.get("caption"),
        reply_to=reply_to_of(chat, fields.get("reply_to_message_id")),
    )
    return ok(transcript_of(sb, message, update_id))


async def send_document(request: web.Request) -> web.Response:
    """POST /chats/{id}/document (multipart 'document'): a user's file, bytes untouched."""
    sb = sandbox_of(request)
    bot = bot_of(request)
    fields, uploads = await multipart(request)
    if not uploads:
        raise ControlError(400, "no file part in the request")
    chat, user = sender(sb, bot, chat_id_of(request), form_sender(fields))
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
        reply_to=reply_to_of(chat, fields.get("reply_to_message_id")),
    )
    return ok(transcript_of(sb, message, update_id))


async def send_album(request: web.Request) -> web.Response:
    """POST /chats/{id}/album (multipart, several 'photo' parts): one media_group_id."""
    import secrets

    sb = sandbox_of(request)
    bot = bot_of(request)
    fields, uploads = await multipart(request)
    if not 2 <= len(uploads) <= 10:
        raise ControlError(400, "an album has 2 to 10 files")
    chat, user = sender(sb, bot, chat_id_of(request), form_sender(fields))
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
        out.append(transcript_of(sb, message, update_id))
    return ok(out)


async def press(request: web.Request) -> web.Response:
    """POST /chats/{id}/press: a user presses an inline button (by text or callback_data)."""
    sb = sandbox_of(request)
    bot = bot_of(request)
    body = await json_body(request)
    chat_id = chat_id_of(request)
    if chat_id not in bot.chats:
        raise ControlError(404, f"no chat {chat_id}")
    chat, user = sender(sb, bot, chat_id, body.get("from"))
    message_id = body.get("message_id")
    query = presses.press(
        sb,
        bot,
        chat,
        user,
        text=body.get("text"),
        data=body.get("callback_data"),
        message_id=None if message_id in (None, "") else as_int(message_id, "message_id"),
        forged=bool(body.get("forged")),
    )
    return ok({"callback_query_id": query.id, "message_id": query.message_id, "data": query.data})
