"""Photos, documents and albums: uploads, file_ids and URLs; getFile."""

from __future__ import annotations

import asyncio
import re
import secrets
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from sandbox.botapi.common import (
    bot_message,
    check_flood,
    check_reachable,
    parse_caption,
    reply_target,
    resolve_chat,
)
from sandbox.botapi.markup import validate_markup
from sandbox.botapi.params import ApiError, Context, Params, bad
from sandbox.media import (
    MAX_BOT_UPLOAD_BYTES,
    MAX_DOWNLOAD_BYTES,
    MediaError,
    Upload,
)
from sandbox.model import Photo, StoredFile


async def _fetch_url(ctx: Context, url: str) -> Upload:
    """Download a file sent by URL, as Telegram's servers would."""
    if ctx.http is None:
        raise bad("failed to get HTTP URL content")
    try:
        async with ctx.http.get(url, timeout=aiohttp.ClientTimeout(total=10)) as response:
            if response.status >= 300:
                raise bad("failed to get HTTP URL content")
            data = await response.read()
            name = urlsplit(url).path.rsplit("/", 1)[-1] or "file"
            return Upload(data, name, response.headers.get("Content-Type"))
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise bad("failed to get HTTP URL content") from exc


def _looks_like_url(value: str) -> bool:
    return bool(re.match(r"^https?://", value, re.IGNORECASE))


async def photo_input(ctx: Context, value: Upload | str | None) -> Photo:
    """The Photo a sendPhoto/InputMediaPhoto names: upload, file_id or URL."""
    files = ctx.sandbox.files
    if value is None or value == "":
        raise bad("there is no photo in the request")
    if isinstance(value, str):
        if _looks_like_url(value):
            value = await _fetch_url(ctx, value)
            if not (value.content_type or "").startswith("image/"):
                raise bad("wrong type of the web page content")
        else:
            stored = files.get(value.strip())
            if stored is None:
                raise bad("wrong file identifier/HTTP URL specified")
            if stored.kind != "photo":
                raise bad("can't use file of type Document as Photo")
            photo = ctx.sandbox.photo_of(stored.file_id)
            if photo is None:
                raise bad("wrong file identifier/HTTP URL specified")
            return photo
    if len(value.data) > MAX_BOT_UPLOAD_BYTES:
        raise ApiError(413, "Request Entity Too Large")
    try:
        photo = await asyncio.get_running_loop().run_in_executor(None, files.add_photo, value.data)
    except MediaError as exc:
        raise bad(str(exc)) from exc
    ctx.sandbox.register_photo(photo)
    return photo


async def document_input(
    ctx: Context, value: Upload | str | None, name: str = "document"
) -> StoredFile:
    """The document a sendDocument/InputMediaDocument names: upload, file_id or URL."""
    files = ctx.sandbox.files
    if value is None or value == "":
        raise bad(f"there is no {name} in the request")
    if isinstance(value, str):
        if _looks_like_url(value):
            value = await _fetch_url(ctx, value)
        else:
            stored = files.get(value.strip())
            if stored is None:
                raise bad("wrong file identifier/HTTP URL specified")
            if stored.kind != "document":
                raise bad("can't use file of type Photo as Document")
            return stored
    if len(value.data) > MAX_BOT_UPLOAD_BYTES:
        raise ApiError(413, "Request Entity Too Large")
    try:
        return files.add_document(value)
    except MediaError as exc:
        raise bad(str(exc)) from exc


# --- methods -------------------------------------------------------------------------


async def send_photo(ctx: Context, params: Params) -> Any:
    """sendPhoto (upload, file_id or URL; re-encoded into Telegram's sizes)."""
    caption, caption_entities = parse_caption(params)
    markup = validate_markup(
        params.get_json("reply_markup", "can't parse reply keyboard markup JSON object")
    )
    value = params.file(params.get_str("photo"), "photo")
    upload_too_big = isinstance(value, Upload) and len(value.data) > MAX_BOT_UPLOAD_BYTES
    if upload_too_big:
        raise ApiError(413, "Request Entity Too Large")
    photo = await photo_input(ctx, value)
    chat = resolve_chat(ctx, params)
    reply_to = reply_target(params, chat)
    check_reachable(ctx, chat)
    check_flood(ctx, chat)
    message = bot_message(
        ctx,
        chat,
        photo=photo,
        caption=caption,
        caption_entities=caption_entities,
        reply_markup=markup,
        reply_to=reply_to,
    )
    return message.to_api()


async def send_document(ctx: Context, params: Params) -> Any:
    """sendDocument (upload, file_id or URL; bytes kept as sent)."""
    caption, caption_entities = parse_caption(params)
    markup = validate_markup(
        params.get_json("reply_markup", "can't parse reply keyboard markup JSON object")
    )
    document = await document_input(ctx, params.file(params.get_str("document"), "document"))
    chat = resolve_chat(ctx, params)
    reply_to = reply_target(params, chat)
    check_reachable(ctx, chat)
    check_flood(ctx, chat)
    message = bot_message(
        ctx,
        chat,
        document=document,
        caption=caption,
        caption_entities=caption_entities,
        reply_markup=markup,
        reply_to=reply_to,
    )
    return message.to_api()


async def send_media_group(ctx: Context, params: Params) -> Any:
    """sendMediaGroup: photos or documents sent as one album."""
    if params.raw("media") is None:
        raise bad('parameter "media" is required')
    media = params.get_json("media", "can't parse media JSON object")
    if media is None or media == []:
        raise bad("there are no messages to send")
    if not isinstance(media, list):
        raise bad("can't parse media JSON object")
    if len(media) > 10:
        raise bad("too many messages to send as an album")
    _check_album_types(media)
    prepared: list[dict[str, Any]] = []
    for position, item in enumerate(media, start=1):
        prepared.append(await _album_item(ctx, params, position, item))
    chat = resolve_chat(ctx, params)
    reply_to = reply_target(params, chat)
    check_reachable(ctx, chat)
    check_flood(ctx, chat, count=len(prepared))
    # As TDLib does, a single item goes out as an ordinary message outside any album.
    group_id = str(secrets.randbits(63)) if len(prepared) > 1 else None
    messages = [
        bot_message(ctx, chat, media_group_id=group_id, reply_to=reply_to, **fields)
        for fields in prepared
    ]
    return [message.to_api() for message in messages]


def _check_album_types(media: list[Any]) -> None:
    """Every item an Object of type photo or document, not mixed."""
    kinds = []
    for item in media:
        if not isinstance(item, dict):
            raise bad("can't parse InputMedia: InputMedia must be an Object")
        kind = item.get("type")
        if kind in ("animation", "sticker"):
            raise bad(f"can't parse InputMedia: type \"{kind}\" can't be used in sendMediaGroup")
        if kind not in ("photo", "document"):
            raise bad(f'can\'t parse InputMedia: unsupported media type "{kind}"')
        kinds.append(kind)
    if "document" in kinds and "photo" in kinds:
        raise bad("document can't be mixed with other media types")


async def _album_item(
    ctx: Context, params: Params, position: int, item: dict[str, Any]
) -> dict[str, Any]:
    """One album item's message fields; a server-side photo error names the item."""
    item_params = Params(
        {
            "caption": item.get("caption"),
            "parse_mode": item.get("parse_mode"),
            "caption_entities": item.get("caption_entities"),
        }
    )
    caption, caption_entities = parse_caption(item_params)
    value = params.file(str(item.get("media") or ""), "\0")
    if value is None:
        raise bad("can't parse InputMedia: media not found")
    try:
        if item["type"] == "photo":
            content: dict[str, Any] = {"photo": await photo_input(ctx, value)}
        else:
            content = {"document": await document_input(ctx, value)}
    except ApiError as exc:
        server_side = ("IMAGE_PROCESS_FAILED", "PHOTO_INVALID_DIMENSIONS")
        if any(code in exc.description for code in server_side):
            reason = exc.description.removeprefix("Bad Request: ")
            raise bad(
                f'failed to send message #{position} with the error message "{reason}"'
            ) from exc
        raise
    return {**content, "caption": caption, "caption_entities": caption_entities}


async def get_file(ctx: Context, params: Params) -> Any:
    """getFile: a file_path to download from, refused above 20 MB."""
    file_id = (params.get_str("file_id") or "").strip()
    if not file_id:
        raise bad("file_id is empty")
    stored = ctx.sandbox.files.get(file_id)
    if stored is None:
        raise bad("invalid file_id")
    if stored.size > MAX_DOWNLOAD_BYTES:
        raise bad("file is too big")
    return {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "file_size": stored.size,
        "file_path": ctx.sandbox.files.assign_path(stored),
    }
