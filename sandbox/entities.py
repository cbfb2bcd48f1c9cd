"""Telegram text formatting: HTML and MarkdownV2 parse modes and automatic entity detection.

The parsers follow TDLib's `parse_html` and `parse_markdown_v2` (td/telegram/MessageEntity.cpp),
which is what the Bot API server runs: they walk UTF-8 bytes (error offsets are byte offsets)
while counting UTF-16 code units (entity offsets and lengths are UTF-16, as in the Bot API).
"""

from __future__ import annotations

import re
import unicodedata
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


# --- HTML --------------------------------------------------------------------------------

_HTML_TAGS = {
    "a",
    "b",
    "strong",
    "i",
    "em",
    "s",
    "strike",
    "del",
    "u",
    "ins",
    "tg-spoiler",
    "tg-emoji",
    "span",
    "pre",
    "code",
    "blockquote",
}


def _decode_html_entity(data: bytes, pos: int) -> tuple[int, int]:
    """(code point, position after the reference), code 0 when it is not a supported one."""
    end = pos + 1
    res = 0
    if _at(data, pos + 1) == ord("#"):
        end += 1
        if _at(data, pos + 2) == ord("x"):
            end += 1
            while _is_hex(_at(data, end)):
                res = res * 16 + int(chr(data[end]), 16)
                end += 1
                if res > 0x10FFFF * 16:
                    break
        else:
            while _is_digit(_at(data, end)):
                res = res * 10 + data[end] - 0x30
                end += 1
                if res > 0x10FFFF * 10:
                    break
        if res == 0 or res >= 0x10FFFF or end - pos >= 10:
            return 0, pos
    else:
        while _is_alpha(_at(data, end)):
            end += 1
        name = data[pos + 1 : end]
        named = {b"lt": "<", b"gt": ">", b"amp": "&", b"quot": '"'}
        if name not in named:
            return 0, pos
        res = ord(named[name])
    if _at(data, end) == ord(";"):
        end += 1
    return res, end


def parse_html(text: str) -> tuple[str, list[Entity]]:
    """Plain text and entities of an HTML parse_mode text; raises EntityParseError."""
    data = text.encode("utf-8")
    size = len(data)
    out = bytearray()
    entities: list[Entity] = []
    utf16 = 0
    # (tag name, argument, utf16 offset, byte position in out)
    stack: list[tuple[str, str, int, int]] = []
    i = 0
    while i < size:
        c = data[i]
        if c == ord("&"):
            code, end = _decode_html_entity(data, i)
            if code:
                if 0xD800 <= code <= 0xDFFF:
                    raise EntityParseError(
                        "Text contains invalid Unicode characters after decoding HTML entities, "
                        "check for unmatched surrogate code units"
                    )
                utf16 += 2 if code > 0xFFFF else 1
                out += chr(code).encode("utf-8")
                i = end
                continue
        if c != ord("<"):
            utf16 += _utf16_units_of_lead(c)
            out.append(c)
            i += 1
            continue
        begin = i
        i += 1
        if _at(data, i) != ord("/"):
            while not _is_space(_at(data, i)) and _at(data, i) != ord(">"):
                i += 1
            if _at(data, i) == 0:
                raise EntityParseError(f"Unclosed start tag at byte offset {begin}")
            tag = data[begin + 1 : i].decode("utf-8", "replace").lower()
            if tag not in _HTML_TAGS:
                raise EntityParseError(f'Unsupported start tag "{tag}" at byte offset {begin}')
            argument = ""
            while _at(data, i) != ord(">"):
                while _at(data, i) != 0 and _is_space(_at(data, i)):
                    i += 1
                if _at(data, i) == ord(">"):
                    break
                attr_begin = i
                while not _is_space(_at(data, i)) and _at(data, i) != ord("="):
                    i += 1
                attr_name = data[attr_begin:i].decode("utf-8", "replace")
                if not attr_name:
                    raise EntityParseError(
                        f'Empty attribute name in the tag "{tag}" at byte offset {begin}'
                    )
                while _at(data, i) != 0 and _is_space(_at(data, i)):
                    i += 1
                if _at(data, i) != ord("="):
                    raise EntityParseError(
                        "Expected equal sign in declaration of an attribute of the tag "
                        f'"{tag}" at byte offset {begin}'
                    )
                i += 1
                while _at(data, i) != 0 and _is_space(_at(data, i)):
                    i += 1
                if _at(data, i) == 0:
                    raise EntityParseError(f'Unclosed start tag "{tag}" at byte offset {begin}')
                value_bytes = bytearray()
                if _at(data, i) not in (ord("'"), ord('"')):
                    token_begin = i
                    while _is_alnum(_at(data, i)) or _at(data, i) in (ord("."), ord("-")):
                        i += 1
                    value_bytes += data[token_begin:i].lower()
                    if not _is_space(_at(data, i)) and _at(data, i) != ord(">"):
                        raise EntityParseError(
                            f"Unexpected end of name token at byte offset {token_begin}"
                        )
                else:
                    quote = data[i]
                    i += 1
                    while _at(data, i) != quote and _at(data, i) != 0:
                        if data[i] == ord("&"):
                            code, end = _decode_html_entity(data, i)
                            if code:
                                value_bytes += chr(code).encode("utf-8", "surrogatepass")
                                i = end
                                continue
                        value_bytes.append(data[i])
                        i += 1
                    if _at(data, i) == quote:
                        i += 1
                if _at(data, i) == 0:
                    raise EntityParseError(f"Unclosed start tag at byte offset {begin}")
                value = bytes(value_bytes).decode("utf-8", "replace")
                if tag == "a" and attr_name == "href":
                    argument = value
                elif tag == "code" and attr_name == "class" and value.startswith("language-"):
                    argument = value[9:]
                elif tag == "span" and attr_name == "class" and value.startswith("tg-"):
                    argument = value[3:]
                elif tag == "tg-emoji" and attr_name == "emoji-id":
                    argument = value
            if tag == "span" and argument != "spoiler":
                raise EntityParseError(
                    f'Tag "span" must have class "tg-spoiler" at byte offset {begin}'
                )
            stack.append((tag, argument, utf16, len(out)))
            i += 1  # past '>'
        else:
            if not stack:
                raise EntityParseError(f"Unexpected end tag at byte offset {begin}")
            while not _is_space(_at(data, i)) and _at(data, i) != ord(">"):
                i += 1
            end_tag = data[begin + 2 : i].decode("utf-8", "replace").lower()
            while _is_space(_at(data, i)) and _at(data, i) != 0:
                i += 1
            if _at(data, i) != ord(">"):
                raise EntityParseError(f"Unclosed end tag at byte offset {begin}")
            tag, argument, offset, out_pos = stack[-1]
            if end_tag and end_tag != tag:
                raise EntityParseError(
                    f'Unmatched end tag at byte offset {begin}, expected "</{tag}>", '
                    f'found "</{end_tag}>"'
                )
            if utf16 > offset:
                _close_html_entity(entities, tag, argument, offset, utf16 - offset, out, out_pos)
            stack.pop()
            i += 1
    if stack:
        raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    for entity in entities:
        if entity.type == "code":
            entity.extra.pop("language", None)
    return out.decode("utf-8", "replace"), sort_entities(entities)


def _close_html_entity(
    entities: list[Entity],
    tag: str,
    argument: str,
    offset: int,
    length: int,
    out: bytearray,
    out_pos: int,
) -> None:
    simple = {
        "i": "italic",
        "em": "italic",
        "b": "bold",
        "strong": "bold",
        "s": "strikethrough",
        "strike": "strikethrough",
        "del": "strikethrough",
        "u": "underline",
        "ins": "underline",
        "tg-spoiler": "spoiler",
        "span": "spoiler",
        "blockquote": "blockquote",
    }
    if tag in simple:
        entities.append(Entity(simple[tag], offset, length))
    elif tag == "tg-emoji":
        if not argument.isdigit() or int(argument) == 0:
            raise EntityParseError("Invalid custom emoji identifier specified")
        entities.append(Entity("custom_emoji", offset, length, {"custom_emoji_id": argument}))
    elif tag == "a":
        url = argument or bytes(out[out_pos:]).decode("utf-8", "replace")
        link = _link_entity("text_link", offset, length, url)
        if link is not None:
            entities.append(link)
    elif tag == "pre":
        last = entities[-1] if entities else None
        if (
            last is not None
            and last.type == "code"
            and (last.offset, last.length) == (offset, length)
            and last.extra.get("language")
        ):
            last.type = "pre"
        else:
            entities.append(Entity("pre", offset, length))
    elif tag == "code":
        last = entities[-1] if entities else None
        if (
            last is not None
            and last.type == "pre"
            and (last.offset, last.length) == (offset, length)
            and argument
        ):
            last.extra["language"] = argument
        else:
            extra = {"language": argument} if argument else {}
            entities.append(Entity("code", offset, length, extra))


# --- MarkdownV2 ------------------------------------------------------------------------

_MD_TYPE_NAMES = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "code": "Code",
    "pre": "Pre",
    "pre_code": "PreCode",
    "text_link": "TextUrl",
    "custom_emoji": "CustomEmoji",
    "blockquote": "BlockQuote",
}


def _reserved_error(c: int) -> EntityParseError:
    return EntityParseError(
        f"Character '{chr(c)}' is reserved and must be escaped with the preceding '\\'"
    )


def parse_markdown_v2(text: str) -> tuple[str, list[Entity]]:
    """Plain text and entities of a MarkdownV2 parse_mode text; raises EntityParseError."""
    data = text.encode("utf-8")
    size = len(data)
    out = bytearray()
    entities: list[Entity] = []
    utf16 = 0
    # [type, argument, utf16 offset, byte offset in input, byte position in out]
    stack: list[list[Any]] = []
    have_blockquote = False
    i = 0
    while i < size:
        c = data[i]
        nxt = _at(data, i + 1)
        if c == ord("\\") and 0 < nxt <= 126:
            i += 1
            utf16 += 1
            out.append(data[i])
            i += 1
            continue
        reserved = b"_*[]()~`>#+-=|{}.!\n"
        if stack and stack[-1][0] in ("code", "pre", "pre_code"):
            reserved = b"`"
        if c not in reserved:
            utf16 += _utf16_units_of_lead(c)
            out.append(c)
            i += 1
            continue
        is_end = False
        if stack:
            top = stack[-1][0]
            if have_blockquote and c == ord("\n") and (i + 1 == size or nxt != ord(">")):
                is_end = True
            elif top == "bold":
                is_end = c == ord("*")
            elif top == "italic":
                is_end = c == ord("_") and nxt != ord("_")
            elif top == "code":
                is_end = c == ord("`")
            elif top in ("pre", "pre_code"):
                is_end = c == ord("`") and nxt == ord("`") and _at(data, i + 2) == ord("`")
            elif top in ("text_link", "custom_emoji"):
                is_end = c == ord("]")
            elif top == "underline":
                is_end = c == ord("_") and nxt == ord("_")
            elif top == "strikethrough":
                is_end = c == ord("~")
            elif top == "spoiler":
                is_end = c == ord("|") and nxt == ord("|")
        if not is_end:
            kind: str | None
            argument = ""
            byte_offset = i
            if c == ord("_"):
                if nxt == ord("_"):
                    kind = "underline"
                    i += 1
                else:
                    kind = "italic"
            elif c == ord("*"):
                kind = "bold"
            elif c == ord("~"):
                kind = "strikethrough"
            elif c == ord("|"):
                if nxt != ord("|"):
                    raise _reserved_error(c)
                i += 1
                kind = "spoiler"
            elif c == ord("["):
                kind = "text_link"
            elif c == ord("`"):
                if nxt == ord("`") and _at(data, i + 2) == ord("`"):
                    i += 3
                    kind = "pre"
                    lang_end = i
                    while not _is_space(_at(data, lang_end)) and _at(data, lang_end) != ord("`"):
                        lang_end += 1
                    if i != lang_end and lang_end < size and _at(data, lang_end) != ord("`"):
                        kind = "pre_code"
                        argument = data[i:lang_end].decode("utf-8", "replace")
                        i = lang_end
                    if _at(data, i) in (ord("\n"), ord("\r")):
                        if _at(data, i + 1) in (ord("\n"), ord("\r")) and data[i] != _at(
                            data, i + 1
                        ):
                            i += 2
                        else:
                            i += 1
                    i -= 1
                else:
                    kind = "code"
            elif c == ord("!"):
                if nxt != ord("["):
                    raise _reserved_error(c)
                i += 1
                kind = "custom_emoji"
            elif c == ord("\n"):
                utf16 += 1
                out.append(c)
                kind = None
                if i + 1 < size and nxt == ord(">"):
                    i += 1
                    if not have_blockquote:
                        kind = "blockquote"
                        have_blockquote = True
            elif c == ord(">"):
                if i != 0:
                    raise _reserved_error(c)
                kind = "blockquote"
                have_blockquote = True
            else:
                raise _reserved_error(c)
            if kind is not None:
                stack.append([kind, argument, utf16, byte_offset, len(out)])
            i += 1
            continue
        kind, argument, offset, byte_offset, out_pos = stack[-1]
        if c == ord("\n") and kind != "blockquote":
            raise EntityParseError(
                f"Can't find end of {_MD_TYPE_NAMES[kind]} entity at byte offset {byte_offset}"
            )
        skip = utf16 == offset
        new_entity: Entity | None = None
        if kind in ("underline", "spoiler"):
            i += 1
        elif kind in ("pre", "pre_code"):
            i += 2
        elif kind == "text_link":
            if _at(data, i + 1) != ord("("):
                url = bytes(out[out_pos:]).decode("utf-8", "replace")
            else:
                i += 2
                url_begin = i
                url_bytes = bytearray()
                while i < size and data[i] != ord(")"):
                    if data[i] == ord("\\") and 0 < _at(data, i + 1) <= 126:
                        url_bytes.append(data[i + 1])
                        i += 2
                        continue
                    url_bytes.append(data[i])
                    i += 1
                if _at(data, i) != ord(")"):
                    raise EntityParseError(f"Can't find end of a URL at byte offset {url_begin}")
                url = bytes(url_bytes).decode("utf-8", "replace")
            link = _link_entity("text_link", offset, utf16 - offset, url)
            if link is None:
                skip = True
            else:
                new_entity = link
        elif kind == "custom_emoji":
            if _at(data, i + 1) != ord("("):
                raise EntityParseError("The entity must contain a tg://emoji or tg://time URL")
            i += 2
            url_begin = i
            url_bytes = bytearray()
            while i < size and data[i] != ord(")"):
                if data[i] == ord("\\") and 0 < _at(data, i + 1) <= 126:
                    url_bytes.append(data[i + 1])
                    i += 2
                    continue
                url_bytes.append(data[i])
                i += 1
            if _at(data, i) != ord(")"):
                raise EntityParseError(f"Can't find end of a URL at byte offset {url_begin}")
            match = re.fullmatch(
                r"tg://emoji\?id=(\d+)", bytes(url_bytes).decode("utf-8", "replace")
            )
            if not match or int(match.group(1)) == 0:
                raise EntityParseError("Invalid tg://emoji or tg://time URL specified")
            argument = match.group(1)
        elif kind == "blockquote":
            have_blockquote = False
            out.append(c)
            utf16 += 1
        if not skip:
            length = utf16 - offset
            if new_entity is not None:
                entities.append(new_entity)
            elif kind == "pre_code":
                entities.append(Entity("pre", offset, length, {"language": argument}))
            elif kind == "custom_emoji":
                entities.append(Entity(kind, offset, length, {"custom_emoji_id": argument}))
            else:
                entities.append(Entity(kind, offset, length))
        stack.pop()
        i += 1
    if have_blockquote and stack and stack[-1][0] == "blockquote":
        offset = stack[-1][2]
        if utf16 != offset:
            entities.append(Entity("blockquote", offset, utf16 - offset))
        stack.pop()
    if stack:
        kind, _, _, byte_offset, _ = stack[-1]
        raise EntityParseError(
            f"Can't find end of {_MD_TYPE_NAMES[kind]} entity at byte offset {byte_offset}"
        )
    return out.decode("utf-8", "replace"), sort_entities(entities)


# --- automatic entities ------------------------------------------------------------------


def _is_word_char(ch: str) -> bool:
    if ch == "_":
        return True
    return unicodedata.category(ch)[0] in ("L", "N")


_ASCII_WORD = re.compile(r"[A-Za-z0-9_]*")
_CANDIDATES = re.compile(r"[/@#$]")
_URL = re.compile(
    r"(?<![\w@/.])(?:(?:https?|ftp)://[^\s<>\"]+|www\.[^\s<>\"]+)",
    re.IGNORECASE,
)
_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")


def _char_offsets_to_utf16(text: str) -> list[int]:
    """utf16 offset of every character index (and of the end)."""
    offsets = [0] * (len(text) + 1)
    acc = 0
    for index, ch in enumerate(text):
        offsets[index] = acc
        acc += 2 if ord(ch) > 0xFFFF else 1
    offsets[len(text)] = acc
    return offsets


def find_auto_entities(text: str) -> list[Entity]:
    """bot_command, mention, hashtag, cashtag, url and email entities Telegram detects itself."""
    spans: list[tuple[str, int, int]] = []
    n = len(text)
    for candidate in _CANDIDATES.finditer(text):
        index = candidate.start()
        ch = text[index]
        prev = text[index - 1] if index else ""
        if ch == "/":
            if prev and (_is_word_char(prev) or prev in "/<>"):
                continue
            end = index + 1 + len(_ASCII_WORD.match(text, index + 1).group(0))  # type: ignore[union-attr]
            if not 1 <= end - index - 1 <= 64:
                continue
            if end < n and text[end] == "@":
                mention_end = end + 1 + len(_ASCII_WORD.match(text, end + 1).group(0))  # type: ignore[union-attr]
                if not 3 <= mention_end - end - 1 <= 32:
                    continue
                end = mention_end
            after = text[end] if end < n else ""
            if after and (_is_word_char(after) or after in "/<>"):
                continue
            spans.append(("bot_command", index, end))
        elif ch == "@":
            if prev and _is_word_char(prev):
                continue
            end = index + 1 + len(_ASCII_WORD.match(text, index + 1).group(0))  # type: ignore[union-attr]
            if not 2 <= end - index - 1 <= 32:
                continue
            after = text[end] if end < n else ""
            if after and _is_word_char(after):
                continue
            spans.append(("mention", index, end))
        elif ch == "#":
            if prev and (_is_word_char(prev) or prev == "\u200c"):
                continue
            end = index + 1
            while end < n and (_is_word_char(text[end]) or text[end] == "\u200c"):
                end += 1
            tag = text[index + 1 : end]
            if not tag or (end < n and text[end] == "#"):
                continue
            if not any(unicodedata.category(t)[0] == "L" for t in tag):
                continue
            spans.append(("hashtag", index, min(end, index + 257)))
        elif ch == "$":
            if prev and (_is_word_char(prev) or prev == "$"):
                continue
            match = re.match(r"\$(1INCH|[A-Z]{1,8})", text[index:])
            if not match:
                continue
            end = index + match.end()
            after = text[end] if end < n else ""
            if after and (_is_word_char(after) or after == "$"):
                continue
            spans.append(("cashtag", index, end))
    lowered = text.lower()
    if "://" in text or "www." in lowered:
        for match in _URL.finditer(text):
            url = match.group(0).rstrip(".,;:!?)'\"")
            spans.append(("url", match.start(), match.start() + len(url)))
    if "@" in text:
        for match in _EMAIL.finditer(text):
            spans.append(("email", match.start(), match.end()))
    if not spans:
        return []
    # Earlier and longer spans win where detections overlap (an email contains a mention).
    spans.sort(key=lambda s: (s[1], -(s[2] - s[1])))
    kept: list[tuple[str, int, int]] = []
    for span in spans:
        if kept and span[1] < kept[-1][2]:
            continue
        kept.append(span)
    offsets = _char_offsets_to_utf16(text)
    return [Entity(kind, offsets[a], offsets[b] - offsets[a]) for kind, a, b in kept]


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


def parse_markdown_legacy(text: str) -> tuple[str, list[Entity]]:
    """Legacy Markdown (TDLib's parse_markdown): *bold* _italic_ `code` ```pre``` [text](url)."""
    data = text.encode("utf-8")
    size = len(data)
    out = bytearray()
    entities: list[Entity] = []
    utf16 = 0
    i = 0
    while i < size:
        c = data[i]
        if c == ord("\\") and _at(data, i + 1) in b"_*`[":
            i += 1
            out.append(data[i])
            utf16 += 1
            i += 1
            continue
        if c not in b"_*`[":
            utf16 += _utf16_units_of_lead(c)
            out.append(c)
            i += 1
            continue
        begin = i
        end_char = ord("]") if c == ord("[") else c
        is_pre = False
        i += 1
        language = ""
        if c == ord("`") and _at(data, i) == ord("`") and _at(data, i + 1) == ord("`"):
            i += 2
            is_pre = True
            lang_end = i
            while not _is_space(_at(data, lang_end)) and _at(data, lang_end) != ord("`"):
                lang_end += 1
            if i != lang_end and lang_end < size and _at(data, lang_end) != ord("`"):
                language = data[i:lang_end].decode("utf-8", "replace")
                i = lang_end
            if _at(data, i) in (ord("\n"), ord("\r")):
                if _at(data, i + 1) in (ord("\n"), ord("\r")) and data[i] != _at(data, i + 1):
                    i += 2
                else:
                    i += 1
        offset = utf16
        while i < size and (
            data[i] != end_char
            or (is_pre and not (_at(data, i + 1) == ord("`") and _at(data, i + 2) == ord("`")))
        ):
            utf16 += _utf16_units_of_lead(data[i])
            out.append(data[i])
            i += 1
        if i == size:
            raise EntityParseError(f"Can't find end of the entity starting at byte offset {begin}")
        if offset != utf16:
            length = utf16 - offset
            if c == ord("_"):
                entities.append(Entity("italic", offset, length))
            elif c == ord("*"):
                entities.append(Entity("bold", offset, length))
            elif c == ord("["):
                if _at(data, i + 1) != ord("("):
                    url = data[begin + 1 : i].decode("utf-8", "replace")
                else:
                    i += 2
                    url_bytes = bytearray()
                    while i < size and data[i] != ord(")"):
                        url_bytes.append(data[i])
                        i += 1
                    url = bytes(url_bytes).decode("utf-8", "replace")
                link = _link_entity("text_link", offset, length, url)
                if link is not None:
                    entities.append(link)
            elif is_pre:
                extra = {"language": language} if language else {}
                entities.append(Entity("pre", offset, length, extra))
            else:
                entities.append(Entity("code", offset, length))
        if is_pre:
            i += 2
        i += 1
    return out.decode("utf-8", "replace"), sort_entities(entities)


def command_of(text: str, entities: list[Entity]) -> str | None:
    """The /command (with any @bot suffix) a message starts with, or None."""
    for entity in entities:
        if entity.type == "bot_command" and entity.offset == 0:
            return utf16_slice(text, 0, entity.length)
    return None
