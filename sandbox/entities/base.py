"""Entities and UTF-16 offsets, the byte helpers the parsers share, and link checks."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

# TDLib's sort priority of entity types (MessageEntity::get_type_priority).
_PRIORITY = {
    "mention": 50,
    "hashtag": 50,
    "bot_command": 50,
    "url": 50,
    "email": 50,
    "bold": 90,
    "italic": 91,
    "code": 20,
    "pre": 11,
    "text_link": 49,
    "text_mention": 49,
    "cashtag": 50,
    "phone_number": 50,
    "underline": 92,
    "strikethrough": 93,
    "blockquote": 0,
    "spoiler": 94,
    "custom_emoji": 99,
}

# Auto-detected entities never appear inside these.
_OPAQUE = {"code", "pre", "text_link", "text_mention", "custom_emoji"}

MAX_TEXT = 4096
MAX_CAPTION = 1024


class EntityParseError(ValueError):
    """A parse_mode text Telegram refuses; str() is TDLib's message."""


@dataclass
class Entity:
    """One MessageEntity, offsets in UTF-16 code units."""

    type: str
    offset: int
    length: int
    extra: dict[str, Any] = field(default_factory=dict)

    def to_api(self) -> dict[str, Any]:
        """The Bot API JSON form."""
        out: dict[str, Any] = {"offset": self.offset, "length": self.length, "type": self.type}
        out.update(self.extra)
        return out


def utf16_len(text: str) -> int:
    """Length of `text` in UTF-16 code units, the unit of every Bot API entity offset."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le")) // 2


def utf16_slice(text: str, offset: int, length: int) -> str:
    """The substring at a UTF-16 offset and length."""
    units = text.encode("utf-16-le")
    return units[2 * offset : 2 * (offset + length)].decode("utf-16-le", errors="replace")


def sort_entities(entities: list[Entity]) -> list[Entity]:
    """TDLib's order: by offset, longer first, then by type priority."""
    return sorted(entities, key=lambda e: (e.offset, -e.length, _PRIORITY.get(e.type, 50)))


# --- byte helpers shared by both parsers -------------------------------------------------


def _at(data: bytes, i: int) -> int:
    """The byte at i, or 0 past the end (TDLib's strings are NUL-terminated)."""
    return data[i] if 0 <= i < len(data) else 0


def _is_space(c: int) -> bool:
    return c in (0x20, 0x09, 0x0D, 0x0A, 0x00, 0x0B)


def _is_alpha(c: int) -> bool:
    return 0x41 <= c <= 0x5A or 0x61 <= c <= 0x7A


def _is_digit(c: int) -> bool:
    return 0x30 <= c <= 0x39


def _is_alnum(c: int) -> bool:
    return _is_alpha(c) or _is_digit(c)


def _is_hex(c: int) -> bool:
    return _is_digit(c) or 0x41 <= c <= 0x46 or 0x61 <= c <= 0x66


def _utf16_units_of_lead(c: int) -> int:
    """UTF-16 units added by a UTF-8 byte: 0 for continuation bytes, 2 for 4-byte sequences."""
    if (c & 0xC0) == 0x80:
        return 0
    return 2 if c >= 0xF0 else 1


def _link_entity(kind: str, offset: int, length: int, url: str) -> Entity | None:
    """A text_link (or text_mention for tg://user?id=) entity, None if the URL is unusable."""
    url = url.strip()
    user = re.fullmatch(r"tg://user\?id=(\d+)", url)
    if user:
        return Entity("text_mention", offset, length, {"user": {"id": int(user.group(1))}})
    checked = check_link(url)
    if not checked:
        return None
    return Entity(kind, offset, length, {"url": checked})


def check_link(url: str) -> str:
    """A usable link in the normalized form Telegram keeps, or '' (TDLib's get_checked_link)."""
    if not url or any(ch.isspace() for ch in url):
        return ""
    match = re.match(r"^([a-zA-Z][a-zA-Z0-9+.-]*)://", url)
    if match:
        scheme = match.group(1).lower()
        if scheme in ("tg", "ton"):
            return url
        if scheme not in ("http", "https", "ftp"):
            return ""
        rest = url[match.end() :]
    else:
        scheme, rest = "http", url
    host = re.split(r"[/?#]", rest, maxsplit=1)[0]
    hostname = host.rsplit("@", 1)[-1].split(":", 1)[0]
    if not hostname or not re.fullmatch(r"[\w.-]+", hostname) or hostname.startswith("."):
        return ""
    if "." not in hostname and hostname != "localhost":
        return ""
    tail = rest[len(host) :]
    return f"{scheme}://{host}{tail or '/'}"
