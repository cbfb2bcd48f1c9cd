"""The HTML parse mode, as TDLib's parse_html (td/telegram/MessageEntity.cpp) reads it.

It walks UTF-8 bytes (error offsets are byte offsets) while counting UTF-16 code units
(entity offsets and lengths are UTF-16, as in the Bot API).
"""

from __future__ import annotations

from sandbox.entities.base import (
    Entity,
    EntityParseError,
    _at,
    _is_alnum,
    _is_alpha,
    _is_digit,
    _is_hex,
    _is_space,
    _link_entity,
    _utf16_units_of_lead,
    sort_entities,
)

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


_SIMPLE_TAGS = {
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


def parse_html(text: str) -> tuple[str, list[Entity]]:
    """Plain text and entities of an HTML parse_mode text; raises EntityParseError."""
    return _HtmlParser(text).parse()


class _HtmlParser:
    """One parse: the input bytes, the position, the output and the open tags."""

    def __init__(self, text: str) -> None:
        self.data = text.encode("utf-8")
        self.size = len(self.data)
        self.out = bytearray()
        self.entities: list[Entity] = []
        self.utf16 = 0
        # (tag name, argument, utf16 offset, byte position in out)
        self.stack: list[tuple[str, str, int, int]] = []
        self.i = 0

    def at(self, i: int) -> int:
        return _at(self.data, i)

    def parse(self) -> tuple[str, list[Entity]]:
        while self.i < self.size:
            c = self.data[self.i]
            if c == ord("&") and self._character_reference():
                continue
            if c != ord("<"):
                self.utf16 += _utf16_units_of_lead(c)
                self.out.append(c)
                self.i += 1
                continue
            begin = self.i
            self.i += 1
            if self.at(self.i) != ord("/"):
                self._start_tag(begin)
            else:
                self._end_tag(begin)
        if self.stack:
            tag = self.stack[-1][0]
            raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{tag}"')
        for entity in self.entities:
            if entity.type == "code":
                entity.extra.pop("language", None)
        return self.out.decode("utf-8", "replace"), sort_entities(self.entities)

    def _character_reference(self) -> bool:
        """Decode `&...;` into the output; False when it is not one Telegram supports."""
        code, end = _decode_html_entity(self.data, self.i)
        if not code:
            return False
        if 0xD800 <= code <= 0xDFFF:
            raise EntityParseError(
                "Text contains invalid Unicode characters after decoding HTML entities, "
                "check for unmatched surrogate code units"
            )
        self.utf16 += 2 if code > 0xFFFF else 1
        self.out += chr(code).encode("utf-8")
        self.i = end
        return True

    def _skip_spaces(self) -> None:
        while self.at(self.i) != 0 and _is_space(self.at(self.i)):
            self.i += 1

    def _start_tag(self, begin: int) -> None:
        while not _is_space(self.at(self.i)) and self.at(self.i) != ord(">"):
            self.i += 1
        if self.at(self.i) == 0:
            raise EntityParseError(f"Unclosed start tag at byte offset {begin}")
        tag = self.data[begin + 1 : self.i].decode("utf-8", "replace").lower()
        if tag not in _HTML_TAGS:
            raise EntityParseError(f'Unsupported start tag "{tag}" at byte offset {begin}')
        argument = ""
        while self.at(self.i) != ord(">"):
            self._skip_spaces()
            if self.at(self.i) == ord(">"):
                break
            name, value = self._attribute(tag, begin)
            found = _tag_argument(tag, name, value)
            if found is not None:
                argument = found
        if tag == "span" and argument != "spoiler":
            raise EntityParseError(
                f'Tag "span" must have class "tg-spoiler" at byte offset {begin}'
            )
        self.stack.append((tag, argument, self.utf16, len(self.out)))
        self.i += 1  # past '>'

    def _attribute(self, tag: str, begin: int) -> tuple[str, str]:
        """One `name=value` of a start tag."""
        attr_begin = self.i
        while not _is_space(self.at(self.i)) and self.at(self.i) != ord("="):
            self.i += 1
        attr_name = self.data[attr_begin : self.i].decode("utf-8", "replace")
        if not attr_name:
            raise EntityParseError(
                f'Empty attribute name in the tag "{tag}" at byte offset {begin}'
            )
        self._skip_spaces()
        if self.at(self.i) != ord("="):
            raise EntityParseError(
                "Expected equal sign in declaration of an attribute of the tag "
                f'"{tag}" at byte offset {begin}'
            )
        self.i += 1
        self._skip_spaces()
        if self.at(self.i) == 0:
            raise EntityParseError(f'Unclosed start tag "{tag}" at byte offset {begin}')
        if self.at(self.i) not in (ord("'"), ord('"')):
            value = self._name_token()
        else:
            value = self._quoted_value()
        if self.at(self.i) == 0:
            raise EntityParseError(f"Unclosed start tag at byte offset {begin}")
        return attr_name, value.decode("utf-8", "replace")

    def _name_token(self) -> bytes:
        token_begin = self.i
        while _is_alnum(self.at(self.i)) or self.at(self.i) in (ord("."), ord("-")):
            self.i += 1
        value = self.data[token_begin : self.i].lower()
        if not _is_space(self.at(self.i)) and self.at(self.i) != ord(">"):
            raise EntityParseError(f"Unexpected end of name token at byte offset {token_begin}")
        return value

    def _quoted_value(self) -> bytes:
        quote = self.data[self.i]
        self.i += 1
        value = bytearray()
        while self.at(self.i) != quote and self.at(self.i) != 0:
            if self.data[self.i] == ord("&"):
                code, end = _decode_html_entity(self.data, self.i)
                if code:
                    value += chr(code).encode("utf-8", "surrogatepass")
                    self.i = end
                    continue
            value.append(self.data[self.i])
            self.i += 1
        if self.at(self.i) == quote:
            self.i += 1
        return bytes(value)

    def _end_tag(self, begin: int) -> None:
        if not self.stack:
            raise EntityParseError(f"Unexpected end tag at byte offset {begin}")
        while not _is_space(self.at(self.i)) and self.at(self.i) != ord(">"):
            self.i += 1
        end_tag = self.data[begin + 2 : self.i].decode("utf-8", "replace").lower()
        while _is_space(self.at(self.i)) and self.at(self.i) != 0:
            self.i += 1
        if self.at(self.i) != ord(">"):
            raise EntityParseError(f"Unclosed end tag at byte offset {begin}")
        tag, argument, offset, out_pos = self.stack[-1]
        if end_tag and end_tag != tag:
            raise EntityParseError(
                f'Unmatched end tag at byte offset {begin}, expected "</{tag}>", '
                f'found "</{end_tag}>"'
            )
        if self.utf16 > offset:
            url_text = bytes(self.out[out_pos:]).decode("utf-8", "replace")
            _close_entity(self.entities, tag, argument, offset, self.utf16 - offset, url_text)
        self.stack.pop()
        self.i += 1


def _tag_argument(tag: str, name: str, value: str) -> str | None:
    """The one attribute each tag keeps (href, language-, tg-spoiler, emoji-id), else None."""
    if tag == "a" and name == "href":
        return value
    if tag == "code" and name == "class" and value.startswith("language-"):
        return value[9:]
    if tag == "span" and name == "class" and value.startswith("tg-"):
        return value[3:]
    if tag == "tg-emoji" and name == "emoji-id":
        return value
    return None


def _close_entity(
    entities: list[Entity], tag: str, argument: str, offset: int, length: int, inner: str
) -> None:
    """The entity a closed tag makes (`inner`: its text, the URL of an `<a>` without href)."""
    if tag in _SIMPLE_TAGS:
        entities.append(Entity(_SIMPLE_TAGS[tag], offset, length))
    elif tag == "tg-emoji":
        if not argument.isdigit() or int(argument) == 0:
            raise EntityParseError("Invalid custom emoji identifier specified")
        entities.append(Entity("custom_emoji", offset, length, {"custom_emoji_id": argument}))
    elif tag == "a":
        link = _link_entity("text_link", offset, length, argument or inner)
        if link is not None:
            entities.append(link)
    else:
        _close_pre_or_code(entities, tag, argument, offset, length)


def _close_pre_or_code(
    entities: list[Entity], tag: str, argument: str, offset: int, length: int
) -> None:
    """`<pre><code class="language-x">` makes one pre entity with a language."""
    last = entities[-1] if entities else None
    same_span = last is not None and (last.offset, last.length) == (offset, length)
    if tag == "pre":
        if last is not None and same_span and last.type == "code" and last.extra.get("language"):
            last.type = "pre"
        else:
            entities.append(Entity("pre", offset, length))
    elif tag == "code":
        if last is not None and same_span and last.type == "pre" and argument:
            last.extra["language"] = argument
        else:
            extra = {"language": argument} if argument else {}
            entities.append(Entity("code", offset, length, extra))
