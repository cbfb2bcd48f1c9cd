"""Entities Telegram detects by itself in every text: commands, mentions, tags, links."""

from __future__ import annotations

import re
import unicodedata

from sandbox.entities.base import Entity


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


Span = tuple[str, int, int]  # type, start and end character index


def _word_end(text: str, start: int) -> int:
    return start + len(_ASCII_WORD.match(text, start).group(0))  # type: ignore[union-attr]


def _command(text: str, index: int, prev: str) -> Span | None:
    if prev and (_is_word_char(prev) or prev in "/<>"):
        return None
    end = _word_end(text, index + 1)
    if not 1 <= end - index - 1 <= 64:
        return None
    if end < len(text) and text[end] == "@":
        mention_end = _word_end(text, end + 1)
        if not 3 <= mention_end - end - 1 <= 32:
            return None
        end = mention_end
    after = text[end] if end < len(text) else ""
    if after and (_is_word_char(after) or after in "/<>"):
        return None
    return ("bot_command", index, end)


def _mention(text: str, index: int, prev: str) -> Span | None:
    if prev and _is_word_char(prev):
        return None
    end = _word_end(text, index + 1)
    if not 2 <= end - index - 1 <= 32:
        return None
    after = text[end] if end < len(text) else ""
    if after and _is_word_char(after):
        return None
    return ("mention", index, end)


def _hashtag(text: str, index: int, prev: str) -> Span | None:
    if prev and (_is_word_char(prev) or prev == "\u200c"):
        return None
    n = len(text)
    end = index + 1
    while end < n and (_is_word_char(text[end]) or text[end] == "\u200c"):
        end += 1
    tag = text[index + 1 : end]
    if not tag or (end < n and text[end] == "#"):
        return None
    if not any(unicodedata.category(t)[0] == "L" for t in tag):
        return None
    return ("hashtag", index, min(end, index + 257))


def _cashtag(text: str, index: int, prev: str) -> Span | None:
    if prev and (_is_word_char(prev) or prev == "$"):
        return None
    match = re.match(r"\$(1INCH|[A-Z]{1,8})", text[index:])
    if not match:
        return None
    end = index + match.end()
    after = text[end] if end < len(text) else ""
    if after and (_is_word_char(after) or after == "$"):
        return None
    return ("cashtag", index, end)


_DETECTORS = {"/": _command, "@": _mention, "#": _hashtag, "$": _cashtag}


def find_auto_entities(text: str) -> list[Entity]:
    """bot_command, mention, hashtag, cashtag, url and email entities Telegram detects itself."""
    spans: list[Span] = []
    for candidate in _CANDIDATES.finditer(text):
        index = candidate.start()
        prev = text[index - 1] if index else ""
        span = _DETECTORS[text[index]](text, index, prev)
        if span is not None:
            spans.append(span)
    if "://" in text or "www." in text.lower():
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
    kept: list[Span] = []
    for span in spans:
        if kept and span[1] < kept[-1][2]:
            continue
        kept.append(span)
    offsets = _char_offsets_to_utf16(text)
    return [Entity(kind, offsets[a], offsets[b] - offsets[a]) for kind, a, b in kept]
