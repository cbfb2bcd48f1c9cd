"""The legacy Markdown parse mode, as TDLib's parse_markdown reads it:
*bold* _italic_ `code` ```pre``` [text](url)."""

from __future__ import annotations

from sandbox.entities.base import (
    Entity,
    EntityParseError,
    _at,
    _is_space,
    _link_entity,
    _utf16_units_of_lead,
    sort_entities,
)


def parse_markdown_legacy(text: str) -> tuple[str, list[Entity]]:
    """Plain text and entities of a legacy Markdown text; raises EntityParseError."""
    return _MarkdownParser(text).parse()


class _MarkdownParser:
    """One parse: the input bytes, the position and the output."""

    def __init__(self, text: str) -> None:
        self.data = text.encode("utf-8")
        self.size = len(self.data)
        self.out = bytearray()
        self.entities: list[Entity] = []
        self.utf16 = 0
        self.i = 0

    def at(self, i: int) -> int:
        return _at(self.data, i)

    def parse(self) -> tuple[str, list[Entity]]:
        while self.i < self.size:
            c = self.data[self.i]
            if c == ord("\\") and self.at(self.i + 1) in b"_*`[":
                self.i += 1
                self.out.append(self.data[self.i])
                self.utf16 += 1
                self.i += 1
                continue
            if c not in b"_*`[":
                self.utf16 += _utf16_units_of_lead(c)
                self.out.append(c)
                self.i += 1
                continue
            self._entity(c)
        return self.out.decode("utf-8", "replace"), sort_entities(self.entities)

    def _entity(self, c: int) -> None:
        """An entity opened by `c`, read up to its end marker."""
        begin = self.i
        end_char = ord("]") if c == ord("[") else c
        self.i += 1
        is_pre = c == ord("`") and self.at(self.i) == ord("`") and self.at(self.i + 1) == ord("`")
        language = self._open_pre() if is_pre else ""
        offset = self.utf16
        while self.i < self.size and (
            self.data[self.i] != end_char
            or (
                is_pre and not (self.at(self.i + 1) == ord("`") and self.at(self.i + 2) == ord("`"))
            )
        ):
            self.utf16 += _utf16_units_of_lead(self.data[self.i])
            self.out.append(self.data[self.i])
            self.i += 1
        if self.i == self.size:
            raise EntityParseError(f"Can't find end of the entity starting at byte offset {begin}")
        if offset != self.utf16:
            self._add(c, begin, offset, is_pre, language)
        if is_pre:
            self.i += 2
        self.i += 1

    def _pre_end_follows(self) -> bool:
        return self.at(self.i + 1) == ord("`") and self.at(self.i + 2) == ord("`")

    def _open_pre(self) -> str:
        """Past ``` and the language; the first new line is not part of the pre."""
        self.i += 2
        language = ""
        lang_end = self.i
        while not _is_space(self.at(lang_end)) and self.at(lang_end) != ord("`"):
            lang_end += 1
        if self.i != lang_end and lang_end < self.size and self.at(lang_end) != ord("`"):
            language = self.data[self.i : lang_end].decode("utf-8", "replace")
            self.i = lang_end
        if self.at(self.i) in (ord("\n"), ord("\r")):
            pair = self.at(self.i + 1) in (ord("\n"), ord("\r"))
            self.i += 2 if pair and self.data[self.i] != self.at(self.i + 1) else 1
        return language

    def _add(self, c: int, begin: int, offset: int, is_pre: bool, language: str) -> None:
        length = self.utf16 - offset
        if c == ord("_"):
            self.entities.append(Entity("italic", offset, length))
        elif c == ord("*"):
            self.entities.append(Entity("bold", offset, length))
        elif c == ord("["):
            link = _link_entity("text_link", offset, length, self._link_url(begin))
            if link is not None:
                self.entities.append(link)
        elif is_pre:
            extra = {"language": language} if language else {}
            self.entities.append(Entity("pre", offset, length, extra))
        else:
            self.entities.append(Entity("code", offset, length))

    def _link_url(self, begin: int) -> str:
        """The (url) after [text], or the text itself when none follows."""
        if self.at(self.i + 1) != ord("("):
            return self.data[begin + 1 : self.i].decode("utf-8", "replace")
        self.i += 2
        url = bytearray()
        while self.i < self.size and self.data[self.i] != ord(")"):
            url.append(self.data[self.i])
            self.i += 1
        return bytes(url).decode("utf-8", "replace")
