"""Editing the bot's messages: text, caption, photo and inline keyboard."""

from __future__ import annotations

from typing import Any

from sandbox.botapi.common import (
    check_flood,
    check_reachable,
    edited_target,
    message_text,
    parse_caption,
)
from sandbox.botapi.files import photo_input
from sandbox.botapi.markup import validate_markup
from sandbox.botapi.params import Context, Params, bad
from sandbox.entities import (
    MAX_TEXT,
)

NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)


async def edit_message_text(ctx: Context, params: Params) -> Any:
    """editMessageText: text, entities and markup replaced; identical content refused."""
    text, entities = message_text(params)
    if len(text) > MAX_TEXT:
        raise bad("MESSAGE_TOO_LONG")
    markup = validate_markup(
        params.get_json("reply_markup", "can't parse reply keyboard markup JSON object"),
        inline_only=True,
    )
    chat, message = edited_target(ctx, params)
    if message.text is None:
        raise bad("there is no text in the message to edit")
    same_entities = [e.to_api() for e in entities] == [e.to_api() for e in message.entities]
    if message.text == text and same_entities and message.reply_markup == markup:
        raise bad(NOT_MODIFIED[len("Bad Request: ") :])
    check_reachable(ctx, chat)
    check_flood(ctx, chat)
    message.text = text
    message.entities = entities
    message.reply_markup = markup
    message.edit_date = int(ctx.sandbox.now())
    ctx.sandbox.message_changed(ctx.bot, message)
    return message.to_api()


async def edit_message_caption(ctx: Context, params: Params) -> Any:
    """editMessageCaption."""
    caption, caption_entities = parse_caption(params)
    markup = validate_markup(
        params.get_json("reply_markup", "can't parse reply keyboard markup JSON object"),
        inline_only=True,
    )
    chat, message = edited_target(ctx, params)
    if message.photo is None and message.document is None:
        raise bad("there is no caption in the message to edit")
    same_entities = [e.to_api() for e in caption_entities] == [
        e.to_api() for e in message.caption_entities
    ]
    if message.caption == caption and same_entities and message.reply_markup == markup:
        raise bad(NOT_MODIFIED[len("Bad Request: ") :])
    check_reachable(ctx, chat)
    check_flood(ctx, chat)
    message.caption = caption
    message.caption_entities = caption_entities
    message.reply_markup = markup
    message.edit_date = int(ctx.sandbox.now())
    ctx.sandbox.message_changed(ctx.bot, message)
    return message.to_api()


async def edit_message_reply_markup(ctx: Context, params: Params) -> Any:
    """editMessageReplyMarkup: no reply_markup removes the keyboard."""
    markup = validate_markup(
        params.get_json("reply_markup", "can't parse reply keyboard markup JSON object"),
        inline_only=True,
    )
    chat, message = edited_target(ctx, params)
    if message.reply_markup == markup:
        raise bad(NOT_MODIFIED[len("Bad Request: ") :])
    check_reachable(ctx, chat)
    check_flood(ctx, chat)
    message.reply_markup = markup
    message.edit_date = int(ctx.sandbox.now())
    ctx.sandbox.message_changed(ctx.bot, message)
    return message.to_api()


async def edit_message_media(ctx: Context, params: Params) -> Any:
    """editMessageMedia: a photo message's photo (and caption) replaced; only photos here."""
    markup = validate_markup(
        params.get_json("reply_markup", "can't parse reply keyboard markup JSON object"),
        inline_only=True,
    )
    media = params.get_json("media", "can't parse InputMedia JSON object")
    if not isinstance(media, dict) or media.get("type") != "photo":
        raise bad("can't parse InputMedia: only photo media is emulated here")
    chat, message = edited_target(ctx, params)
    if message.photo is None:
        raise bad("there is no media in the message to edit")
    item_params = Params(
        {
            "caption": media.get("caption"),
            "parse_mode": media.get("parse_mode"),
            "caption_entities": media.get("caption_entities"),
        }
    )
    caption, caption_entities = parse_caption(item_params)
    value = params.file(str(media.get("media") or ""), "\0")
    if value is None:
        raise bad("can't parse InputMedia: media not found")
    check_reachable(ctx, chat)
    check_flood(ctx, chat)
    message.photo = await photo_input(ctx, value)
    message.caption = caption
    message.caption_entities = caption_entities
    message.reply_markup = markup
    message.edit_date = int(ctx.sandbox.now())
    ctx.sandbox.message_changed(ctx.bot, message)
    return message.to_api()
