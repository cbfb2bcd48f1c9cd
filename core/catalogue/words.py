"""Order text as words: folded (case, accents), singular and plural forms, quantities written as
digits, `3x` / `x3` or words, and the items of a text (one a line, or split at commas and at
"y" / "and")."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from functools import lru_cache

NUMBER_WORDS = {
    **dict.fromkeys(("un", "una", "uno", "a", "an", "one"), 1),
    **dict.fromkeys(("dos", "two"), 2),
    **dict.fromkeys(("tres", "three"), 3),
    **dict.fromkeys(("cuatro", "four"), 4),
    **dict.fromkeys(("cinco", "five"), 5),
    **dict.fromkeys(("seis", "six"), 6),
    **dict.fromkeys(("siete", "seven"), 7),
    **dict.fromkeys(("ocho", "eight"), 8),
    **dict.fromkeys(("nueve", "nine"), 9),
    **dict.fromkeys(("diez", "ten"), 10),
}
# Words that carry little of a product's identity: they count a quarter as much.
STOPWORDS = frozenset(
    {"de", "del", "con", "la", "el", "los", "las", "al", "en", "y", "e", "a", "para", "por"}
    | {"sin", "and", "with", "of", "the", "for", "an", "in"}
)
# What people say around an order ("quiero 2 pizzas por favor"): dropped at an item's ends.
FILLERS = tuple(
    tuple(phrase.split())
    for phrase in (
        "por favor",
        "porfa",
        "porfavor",
        "quiero",
        "quisiera",
        "me pones",
        "ponme",
        "dame",
        "me das",
        "me gustaria",
        "para mi",
        "gracias",
        "i would like",
        "i d like",
        "id like",
        "i want",
        "i ll have",
        "can i have",
        "could i have",
        "can i get",
        "please",
        "thanks",
        "thank you",
    )
)
TIMES = "x"
# One item a line, or several on a line between commas or semicolons…
SEPARATORS = re.compile(r"[\n,;+]+")
# …or around a conjunction, unless a product's own name has it ("pan y tomate").
CONJUNCTION = re.compile(r"\s+(?:y|e|and|&)\s+", re.IGNORECASE)
# …or before a number followed by a word, inside a line.
NEXT_NUMBER = re.compile(r"\s+(?=[0-9]+\s*(?:[x×]\s*)?[^\W\d_])")
NON_WORD = re.compile(r"[^0-9a-z]+")
DIGITS_LETTERS = re.compile(r"(?<=[0-9])(?=[a-z])|(?<=[a-z])(?=[0-9])")
MIN_STEM = 3
Keep = Callable[[list[str], list[str]], bool]


@lru_cache(maxsize=65536)
def fold(text: str) -> str:
    """Lower case, no accents, letters and digits only, one space between words:
    `2 Cafés-con Leche!` → `2 cafes con leche`; `3x` → `3 x`."""
    plain = text.replace("×", " x ").casefold()
    if not plain.isascii():
        plain = unicodedata.normalize("NFKD", plain)
        plain = "".join(ch for ch in plain if not unicodedata.combining(ch))
    spaced = DIGITS_LETTERS.sub(" ", NON_WORD.sub(" ", plain))
    return " ".join(spaced.split())


def words(text: str) -> list[str]:
    return fold(text).split()


@lru_cache(maxsize=65536)
def forms(word: str) -> frozenset[str]:
    """The word and what it may be the plural of, in Spanish and English: `pizzas` → pizza,
    `panes` → pan, `tomatoes` → tomato, `nueces` → nuez, `berries` → berry. Two words are the
    same when their forms meet, so `brownie` meets `brownies` without knowing which rule holds."""
    found = {word}
    if word.endswith("s") and not word.endswith("ss"):
        found.add(word[:-1])
        if word.endswith("es"):
            found.add(word[:-2])
        if word.endswith("ies"):
            found.add(word[:-3] + "y")
        if word.endswith("ces"):
            found.add(word[:-3] + "z")
    return frozenset(form for form in found if len(form) >= MIN_STEM or form == word)


def singular(word: str) -> str:
    """A plain guess at the singular (a final `s` off), for comparing words with typos."""
    return word[:-1] if len(word) > MIN_STEM and word.endswith("s") else word


def strip_fillers(tokens: list[str]) -> list[str]:
    """The item's words without polite phrases at either end."""
    changed = True
    while changed and tokens:
        changed = False
        for phrase in FILLERS:
            n = len(phrase)
            if tuple(tokens[:n]) == phrase:
                tokens, changed = tokens[n:], True
            elif len(tokens) > n and tuple(tokens[-n:]) == phrase:
                tokens, changed = tokens[:-n], True
    return tokens


def _count(token: str) -> int | None:
    if token.isdigit():
        return int(token)
    return NUMBER_WORDS.get(token)


def leading_quantity(tokens: list[str]) -> tuple[int | None, list[str], bool]:
    """(quantity, the other words, whether it was written as a word) for `2 pizzas`, `2x pizza`,
    `x2 pizza`, `dos pizzas`, `pizza x2`; (None, words, False) when no quantity is written."""
    if len(tokens) >= 2 and tokens[0] == TIMES and tokens[1].isdigit():
        return int(tokens[1]), tokens[2:], False
    if len(tokens) >= 2 and _count(tokens[0]) is not None:
        rest = tokens[2:] if tokens[1] == TIMES and len(tokens) > 2 else tokens[1:]
        return _count(tokens[0]), rest, not tokens[0].isdigit()
    if len(tokens) >= 3 and tokens[-2] == TIMES and tokens[-1].isdigit():
        return int(tokens[-1]), tokens[:-2], False
    return None, tokens, False


def _split(pieces: list[str], between: re.Pattern[str], keep: Keep) -> list[str]:
    """Each piece cut at every `between` match, unless `keep(words before, words after)`."""
    items: list[str] = []
    for piece in pieces:
        start, current = 0, ""
        for found in between.finditer(piece):
            left, right = piece[start : found.start()], piece[found.end() :]
            current += left
            before, after = words(current), words(right)
            if not before or not after or keep(before, after):
                current += found.group()
            else:
                items.append(current)
                current = ""
            start = found.end()
        items.append(current + piece[start:])
    return items


def split_items(
    text: str, joined: Callable[[str, str], bool], numbered: Callable[[str, str], bool]
) -> list[str]:
    """The items of an order text as the customer wrote them: one a line, or between commas,
    `+`, conjunctions (unless `joined(word before, word after)`: a product's name has it
    there) and before a number that starts another item (`2 pizzas 1 coca cola`, unless
    `numbered(number, next word)`: a name such as "Coca-Cola 33 cl")."""

    def same_item_at_conjunction(before: list[str], after: list[str]) -> bool:
        return joined(before[-1], after[0])

    def same_item_at_number(_before: list[str], after: list[str]) -> bool:
        rest = after[2:] if after[1:2] == [TIMES] else after[1:]
        return not rest or numbered(after[0], rest[0])

    items = _split(SEPARATORS.split(text), CONJUNCTION, same_item_at_conjunction)
    items = _split(items, NEXT_NUMBER, same_item_at_number)
    return [item.strip(" -•*·\t") for item in items if words(item)]
