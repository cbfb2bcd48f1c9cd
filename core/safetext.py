"""Text people write, told apart from characters that only hide or disguise it.

Several lines, accents and emoji (with their joiners and variation selectors: 🧑‍🍳, ❤️) are how
people write; what is refused is what a reader cannot see and what reorders what they see:
bidi overrides and isolates (U+202A–202E, U+2066–2069, the "Trojan Source" characters), other
invisible format and control characters, private-use and unassigned code points.
"""

from __future__ import annotations

import unicodedata

# Format characters (category Cf) that are part of how text is written.
ZERO_WIDTH_JOINER = "\u200d"  # joins emoji: 🧑‍🍳 is 🧑 ZWJ 🍳
ZERO_WIDTH_NON_JOINER = "\u200c"  # Persian, Indic scripts
ALLOWED_FORMAT = frozenset({ZERO_WIDTH_JOINER, ZERO_WIDTH_NON_JOINER})
ALLOWED_CONTROL = frozenset("\n\t")
# Tag characters (U+E0020–E007F, invisible) are allowed only as a subdivision flag's tail after
# 🏴 (🏴󠁧󠁢󠁳󠁣󠁴󠁿 is 🏴 + "gbsct" in tags + CANCEL TAG): anywhere else they smuggle unseen text.
BLACK_FLAG = "\U0001f3f4"
TAGS = range(0xE0020, 0xE0080)
CANCEL_TAG = "\U000e007f"
# Python's Unicode database lags the emoji keyboards of phones (3.11 ships Unicode 14): a code
# point it does not know yet in the emoji blocks is taken for a new emoji, not refused.
EMOJI_BLOCKS = range(0x1F000, 0x1FB00)
# Line and paragraph separators read as line breaks; Windows line ends as one.
LINE_BREAKS = {"\r\n": "\n", "\r": "\n", "\u2028": "\n", "\u2029": "\n"}


def normalise_line_breaks(text: str) -> str:
    """Every kind of line break as `\\n`."""
    for old, new in LINE_BREAKS.items():
        text = text.replace(old, new)
    return text


def _is_flag_tag(text: str, index: int) -> bool:
    """Whether the tag character at `index` belongs to a flag: 🏴 then tags up to a CANCEL TAG."""
    start = index
    while start > 0 and ord(text[start - 1]) in TAGS:
        start -= 1
    if start == 0 or text[start - 1] != BLACK_FLAG:
        return False
    end = index
    while end < len(text) and ord(text[end]) in TAGS and text[end] != CANCEL_TAG:
        end += 1
    return end < len(text) and text[end] == CANCEL_TAG


def _is_hidden(text: str, index: int, allow_newlines: bool) -> bool:
    ch = text[index]
    category = unicodedata.category(ch)
    if not category.startswith("C"):
        return False
    if category == "Cc":
        return ch not in ALLOWED_CONTROL or (ch == "\n" and not allow_newlines)
    if category == "Cf":
        if ord(ch) in TAGS:
            return not _is_flag_tag(text, index)
        return ch not in ALLOWED_FORMAT
    if category == "Cn":
        return ord(ch) not in EMOJI_BLOCKS
    return True  # Co (private use) and Cs (lone surrogates)


def hidden_characters(text: str, *, allow_newlines: bool = True) -> list[str]:
    """The characters of `text` that hide or reorder what a reader sees, e.g. `['\\u202e']`;
    empty when the text is safe to store and show."""
    return [text[i] for i in range(len(text)) if _is_hidden(text, i, allow_newlines)]
