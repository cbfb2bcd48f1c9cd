"""The MarkdownV2 parse mode, as TDLib's parse_markdown_v2 (td/telegram/MessageEntity.cpp)."""

from __future__ import annotations

import re
from typing import Any

from sandbox.entities.base import (
    Entity,
    EntityParseError,
    _at,
    _is_space,
    _link_entity,
    _utf16_units_of_lead,
    sort_entities,
)

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
_RESERVED = b"_*[]()~`>#+-=|{}.!\n"


def _reserved_error(c: int) -> EntityParseError:
    return EntityParseError(
        f"Character '{chr(c)}' is reserved and must be escaped with the preceding '\\'"
    )


def _unclosed(kind: str, byte_offset: int) -> EntityParseError:
    return EntityParseError(
        f"Can't find end of {_MD_TYPE_NAMES[kind]} entity at byte offset {byte_offset}"
    )


def parse_markdown_v2(text: str) -> tuple[str, list[Entity]]:
    """Plain text and entities of a MarkdownV2 parse_mode text; raises EntityParseError."""
    return _MarkdownV2Parser(text).parse()


class _MarkdownV2Parser:
    """One parse: the input bytes, the position, the output and the open entities."""

    def __init__(self, text: str) -> None:
        self.data = text.encode("utf-8")
        self.size = len(self.data)
        self.out = bytearray()
        self.entities: list[Entity] = []
        self.utf16 = 0
        # [type, argument, utf16 offset, byte offset in input, byte position in out]
        self.stack: list[list[Any]] = []
        self.have_blockquote = False
        self.i = 0

    def at(self, i: int) -> int:
        return _at(self.data, i)

    def parse(self) -> tuple[str, list[Entity]]:
        while self.i < self.size:
            c = self.data[self.i]
            nxt = self.at(self.i + 1)
            if c == ord("\\") and 0 < nxt <= 126:
                self.i += 1
                self.utf16 += 1
                self.out.append(self.data[self.i])
                self.i += 1
                continue
            in_code = self.stack and self.stack[-1][0] in ("code", "pre", "pre_code")
            if c not in (b"`" if in_code else _RESERVED):
                self.utf16 += _utf16_units_of_lead(c)
                self.out.append(c)
                self.i += 1
                continue
            if self._is_end(c, nxt):
                self._close(c)
            else:
                self._open(c, nxt)
            self.i += 1
        self._finish()
        return self.out.decode("utf-8", "replace"), sort_entities(self.entities)

    def _is_end(self, c: int, nxt: int) -> bool:
        """Whether the reserved character `c` closes the innermost open entity."""
        if not self.stack:
            return False
        top = self.stack[-1][0]
        if self.have_blockquote and c == ord("\n") and (self.i + 1 == self.size or nxt != ord(">")):
            return True
        if top in ("pre", "pre_code"):
            return c == ord("`") and nxt == ord("`") and self.at(self.i + 2) == ord("`")
        closers = {
            "bold": c == ord("*"),
            "italic": c == ord("_") and nxt != ord("_"),
            "code": c == ord("`"),
            "text_link": c == ord("]"),
            "custom_emoji": c == ord("]"),
            "underline": c == ord("_") and nxt == ord("_"),
            "strikethrough": c == ord("~"),
            "spoiler": c == ord("|") and nxt == ord("|"),
        }
        return closers.get(top, False)

    def _open(self, c: int, nxt: int) -> None:
        byte_offset = self.i
        kind, argument = self._opening(c, nxt)
        if kind is not None:
            self.stack.append([kind, argument, self.utf16, byte_offset, len(self.out)])

    def _opening(self, c: int, nxt: int) -> tuple[str | None, str]:
        """The entity `c` opens (None for a plain new line), moving past its marker."""
        simple = {ord("*"): "bold", ord("~"): "strikethrough", ord("["): "text_link"}
        if c in simple:
            return simple[c], ""
        if c == ord("_"):
            if nxt == ord("_"):
                self.i += 1
                return "underline", ""
            return "italic", ""
        if c == ord("`"):
            if nxt == ord("`") and self.at(self.i + 2) == ord("`"):
                return self._open_pre()
            return "code", ""
        if (c, nxt) in ((ord("|"), ord("|")), (ord("!"), ord("["))):
            self.i += 1
            return ("spoiler" if c == ord("|") else "custom_emoji"), ""
        if c == ord("\n"):
            return self._new_line(nxt), ""
        if c == ord(">") and self.i == 0:
            self.have_blockquote = True
            return "blockquote", ""
        raise _reserved_error(c)

    def _open_pre(self) -> tuple[str, str]:
        """```lang: a pre (with its language) whose first new line is not part of it."""
        i = self.i + 3
        kind, argument = "pre", ""
        lang_end = i
        while not _is_space(self.at(lang_end)) and self.at(lang_end) != ord("`"):
            lang_end += 1
        if i != lang_end and lang_end < self.size and self.at(lang_end) != ord("`"):
            kind = "pre_code"
            argument = self.data[i:lang_end].decode("utf-8", "replace")
            i = lang_end
        if self.at(i) in (ord("\n"), ord("\r")):
            if self.at(i + 1) in (ord("\n"), ord("\r")) and self.data[i] != self.at(i + 1):
                i += 2
            else:
                i += 1
        self.i = i - 1
        return kind, argument

    def _new_line(self, nxt: int) -> str | None:
        """A new line is text; one followed by '>' starts a blockquote if none is open."""
        self.utf16 += 1
        self.out.append(ord("\n"))
        if self.i + 1 < self.size and nxt == ord(">"):
            self.i += 1
            if not self.have_blockquote:
                self.have_blockquote = True
                return "blockquote"
        return None

    def _close(self, c: int) -> None:
        kind, argument, offset, byte_offset, out_pos = self.stack[-1]
        if c == ord("\n") and kind != "blockquote":
            raise _unclosed(kind, byte_offset)
        skip = self.utf16 == offset
        new_entity: Entity | None = None
        if kind in ("underline", "spoiler"):
            self.i += 1
        elif kind in ("pre", "pre_code"):
            self.i += 2
        elif kind == "text_link":
            new_entity = self._close_link(offset, out_pos)
            skip = skip or new_entity is None
        elif kind == "custom_emoji":
            argument = self._close_custom_emoji()
        elif kind == "blockquote":
            self.have_blockquote = False
            self.out.append(c)
            self.utf16 += 1
        if not skip:
            self._add(kind, argument, offset, new_entity)
        self.stack.pop()

    def _add(self, kind: str, argument: str, offset: int, made: Entity | None) -> None:
        length = self.utf16 - offset
        if made is not None:
            self.entities.append(made)
        elif kind == "pre_code":
            self.entities.append(Entity("pre", offset, length, {"language": argument}))
        elif kind == "custom_emoji":
            self.entities.append(Entity(kind, offset, length, {"custom_emoji_id": argument}))
        else:
            self.entities.append(Entity(kind, offset, length))

    def _close_link(self, offset: int, out_pos: int) -> Entity | None:
        """[text](url) or [text] (the text is the URL); None when the URL is unusable."""
        if self.at(self.i + 1) != ord("("):
            url = bytes(self.out[out_pos:]).decode("utf-8", "replace")
        else:
            self.i += 2
            url = self._read_url()
        return _link_entity("text_link", offset, self.utf16 - offset, url)

    def _close_custom_emoji(self) -> str:
        if self.at(self.i + 1) != ord("("):
            raise EntityParseError("The entity must contain a tg://emoji or tg://time URL")
        self.i += 2
        match = re.fullmatch(r"tg://emoji\?id=(\d+)", self._read_url())
        if not match or int(match.group(1)) == 0:
            raise EntityParseError("Invalid tg://emoji or tg://time URL specified")
        return match.group(1)

    def _read_url(self) -> str:
        """The URL up to ')', with '\\' escapes; the position is left on the ')'."""
        url_begin = self.i
        url = bytearray()
        while self.i < self.size and self.data[self.i] != ord(")"):
            if self.data[self.i] == ord("\\") and 0 < self.at(self.i + 1) <= 126:
                url.append(self.data[self.i + 1])
                self.i += 2
                continue
            url.append(self.data[self.i])
            self.i += 1
        if self.at(self.i) != ord(")"):
            raise EntityParseError(f"Can't find end of a URL at byte offset {url_begin}")
        return bytes(url).decode("utf-8", "replace")

    def _finish(self) -> None:
        if self.have_blockquote and self.stack and self.stack[-1][0] == "blockquote":
            offset = self.stack[-1][2]
            if self.utf16 != offset:
                self.entities.append(Entity("blockquote", offset, self.utf16 - offset))
            self.stack.pop()
        if self.stack:
            kind, _, _, byte_offset, _ = self.stack[-1]
            raise _unclosed(kind, byte_offset)
