"""Entities a bot gives in `entities`, read and clipped as telegram-bot-api and TDLib do."""

from __future__ import annotations

from typing import Any

from sandbox.entities.base import Entity, utf16_len


class UnsupportedParseMode(ValueError):
    """parse_mode is not one of HTML, MarkdownV2, Markdown."""


class MessageEntityError(ValueError):
    """An `entities` item Telegram refuses; str() is the description after 'Bad Request: '."""


# Types a bot may give; the ones Telegram detects by itself are skipped when given
# (Client::get_text_entity_type returns nothing for them) and found again in the text.
_GIVEN_TYPES = {
    "bold",
    "italic",
    "underline",
    "strikethrough",
    "spoiler",
    "code",
    "pre",
    "text_link",
    "text_mention",
    "custom_emoji",
    "blockquote",
    "expandable_blockquote",
    "date_time",
}
_DETECTED_TYPES = {
    "mention",
    "hashtag",
    "cashtag",
    "bot_command",
    "url",
    "email",
    "phone_number",
    "bank_card_number",
}
_REQUIRED_FIELDS = {"text_link": "url", "text_mention": "user", "custom_emoji": "custom_emoji_id"}
# fix_formatted_text refuses offsets and lengths outside 0..1000000.
_MAX_ENTITY_POSITION = 1_000_000


def _int_field(item: dict[str, Any], name: str) -> int:
    if name not in item:
        raise MessageEntityError(f"can't parse MessageEntity: Can't find field \"{name}\"")
    value = item[name]
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise MessageEntityError(f'can\'t parse MessageEntity: Field "{name}" must be a Number')
    try:
        return int(value)
    except ValueError as exc:
        raise MessageEntityError(
            f'can\'t parse MessageEntity: Field "{name}" must be a valid Number'
        ) from exc


def _entity_from_api(item: Any, text: str) -> Entity | None:
    """An entity given by the bot in `entities`, clipped to the text as TDLib clips it.

    None for a type Telegram detects by itself or an entity wholly outside the text.
    """
    if not isinstance(item, dict):
        raise MessageEntityError("can't parse MessageEntity: expected an Object")
    offset = _int_field(item, "offset")
    length = _int_field(item, "length")
    if "type" not in item:
        raise MessageEntityError("can't parse MessageEntity: Can't find field \"type\"")
    kind = str(item["type"])
    if not kind:
        raise MessageEntityError("can't parse MessageEntity: Type is not specified")
    if kind in _DETECTED_TYPES:
        return None
    if kind not in _GIVEN_TYPES:
        raise MessageEntityError("can't parse MessageEntity: Unsupported type specified")
    needed = _REQUIRED_FIELDS.get(kind)
    if needed and needed not in item:
        raise MessageEntityError(f"can't parse MessageEntity: Can't find field \"{needed}\"")
    if not 0 <= offset <= _MAX_ENTITY_POSITION:
        raise MessageEntityError(f"receive an entity with incorrect offset {offset}")
    if not 0 <= length <= _MAX_ENTITY_POSITION:
        raise MessageEntityError(f"receive an entity with incorrect length {length}")
    # Out of range is not an error: TDLib drops what starts past the end and clips the rest.
    end = min(offset + length, utf16_len(text))
    if end <= offset:
        return None
    extra = {k: v for k, v in item.items() if k not in ("type", "offset", "length")}
    return Entity(kind, offset, end - offset, extra)
