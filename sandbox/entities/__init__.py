"""Telegram text formatting: HTML, MarkdownV2 and Markdown parse modes, entities a bot gives,
and the entities Telegram detects by itself.

The parsers follow TDLib's `parse_html`, `parse_markdown_v2` and `parse_markdown`
(td/telegram/MessageEntity.cpp), which is what the Bot API server runs: they walk UTF-8 bytes
(error offsets are byte offsets) while counting UTF-16 code units (entity offsets and lengths
are UTF-16, as in the Bot API).
"""

from __future__ import annotations

from typing import Any

from sandbox.entities.auto import find_auto_entities
from sandbox.entities.base import (
    _OPAQUE,
    MAX_CAPTION,
    MAX_TEXT,
    Entity,
    EntityParseError,
    check_link,
    sort_entities,
    utf16_len,
    utf16_slice,
)
from sandbox.entities.given import MessageEntityError, UnsupportedParseMode, _entity_from_api
from sandbox.entities.html import parse_html
from sandbox.entities.markdown import parse_markdown_legacy
from sandbox.entities.markdown_v2 import parse_markdown_v2

__all__ = [
    "MAX_CAPTION",
    "MAX_TEXT",
    "Entity",
    "EntityParseError",
    "MessageEntityError",
    "UnsupportedParseMode",
    "check_link",
    "command_of",
    "find_auto_entities",
    "format_text",
    "parse_html",
    "parse_markdown_legacy",
    "parse_markdown_v2",
    "sort_entities",
    "utf16_len",
    "utf16_slice",
]


def _overlaps(a: Entity, b: Entity) -> bool:
    return a.offset < b.offset + b.length and b.offset < a.offset + a.length


def _trim(text: str, entities: list[Entity]) -> tuple[str, list[Entity]]:
    """Strip leading/trailing whitespace as Telegram does, clipping entities to what is left."""
    stripped_left = text.lstrip(" \t\r\n")
    cut_left = utf16_len(text) - utf16_len(stripped_left)
    result = stripped_left.rstrip(" \t\r\n")
    total = utf16_len(result)
    fixed: list[Entity] = []
    for entity in entities:
        start = max(entity.offset - cut_left, 0)
        end = min(entity.offset + entity.length - cut_left, total)
        if end > start:
            fixed.append(Entity(entity.type, start, end - start, entity.extra))
    return result, fixed


def format_text(
    text: str,
    parse_mode: str | None = None,
    entities: list[Any] | None = None,
) -> tuple[str, list[Entity]]:
    """Text and final entities as Telegram stores them: parsed, trimmed, auto-detected.

    As the Bot API server does (Client::get_formatted_text), a parse mode wins: `entities`
    count only when no parse mode is given (or it is "none").
    """
    mode = (parse_mode or "").strip().lower()
    parsed: list[Entity]
    if text and mode and mode != "none":
        if mode == "html":
            plain, parsed = parse_html(text)
        elif mode == "markdownv2":
            plain, parsed = parse_markdown_v2(text)
        elif mode == "markdown":
            plain, parsed = parse_markdown_legacy(text)
        else:
            raise UnsupportedParseMode(parse_mode or "")
    else:
        plain = text
        parsed = [e for e in (_entity_from_api(item, text) for item in entities or []) if e]
    plain, parsed = _trim(plain, parsed)
    opaque = [e for e in parsed if e.type in _OPAQUE]
    auto = [e for e in find_auto_entities(plain) if not any(_overlaps(e, o) for o in opaque)]
    taken = {(e.type, e.offset, e.length) for e in parsed}
    merged = parsed + [e for e in auto if (e.type, e.offset, e.length) not in taken]
    return plain, sort_entities([e for e in merged if e.length > 0])


def command_of(text: str, entities: list[Entity]) -> str | None:
    """The /command (with any @bot suffix) a message starts with, or None."""
    for entity in entities:
        if entity.type == "bot_command" and entity.offset == 0:
            return utf16_slice(text, 0, entity.length)
    return None
