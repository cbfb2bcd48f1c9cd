"""How well an item's words name a product: the share of the product's name the words cover
(recall) and the share of the words the name explains (precision), word by word, with plurals
as equals and small typos as near equals."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import fuzz

from core.catalogue.product import Product
from core.catalogue.words import STOPWORDS, forms, singular, words

STOPWORD_WEIGHT = 0.25
# A number in a name (`Coca-Cola 33 cl`) says less than its words.
NUMBER_WEIGHT = 0.5
# Typos: `piza` for pizza (89), `margarta` (94), `coffe` (91); short words must be exact.
TYPO_CUTOFF = 80
MIN_TYPO_LENGTH = 4
RECALL_SHARE = 0.65
MAX_JOINED = 12  # letters
# A word counts as found in a name from this similarity on.
FOUND = 0.8


@dataclass(frozen=True)
class Word:
    text: str
    forms: frozenset[str]
    plain: str
    weight: float


@lru_cache(maxsize=65536)
def as_word(text: str) -> Word:
    if text in STOPWORDS:
        weight = STOPWORD_WEIGHT
    elif text.isdigit():
        weight = NUMBER_WEIGHT
    else:
        weight = 1.0
    return Word(text, forms(text), singular(text), weight)


@dataclass(frozen=True)
class Name:
    words: tuple[Word, ...]
    # The sum of its words' weights: what a full match of the name scores.
    weight: float


@dataclass(frozen=True)
class Entry:
    """A product as the matcher sees it: its names' words, Spanish and English."""

    product: Product
    names: tuple[Name, ...]

    @property
    def size(self) -> int:
        return min(len(name.words) for name in self.names)


def _name(texts: list[str]) -> Name:
    name_words = tuple(as_word(w) for w in texts)
    return Name(name_words, sum(w.weight for w in name_words))


def entry(product: Product) -> Entry:
    texts = dict.fromkeys(tuple(words(t)) for t in (product.name_es, product.name_en) if words(t))
    names = [_name(list(text)) for text in texts]
    # A short name may be typed as one word: "cocacola" for Coca-Cola.
    names += [_name(["".join(text)]) for text in texts if len("".join(text)) <= MAX_JOINED]
    return Entry(product, tuple(names))


def similarity(query: Word, word: Word) -> float:
    """1 for the same word or a plural of it; 0.8–0.99 for a near spelling; else 0."""
    if query.forms & word.forms:
        return 1.0
    if len(query.text) < MIN_TYPO_LENGTH or len(word.text) < MIN_TYPO_LENGTH:
        return 0.0
    best = max(
        fuzz.ratio(query.text, word.text, score_cutoff=TYPO_CUTOFF),
        fuzz.ratio(query.plain, word.plain, score_cutoff=TYPO_CUTOFF),
    )
    return best / 100


class Query:
    """An item's words, remembering how similar each is to the product words met so far (a
    catalogue repeats its words: one comparison per distinct word, not per product)."""

    def __init__(self, texts: list[str]) -> None:
        self.words = [as_word(text) for text in texts]
        self.asked = sum(word.weight for word in self.words)
        self._rows: dict[str, tuple[float, ...]] = {}

    def row(self, word: Word) -> tuple[float, ...]:
        """The similarity of each of the query's words to `word`."""
        found = self._rows.get(word.text)
        if found is None:
            found = self._rows[word.text] = tuple(similarity(q, word) for q in self.words)
        return found


def name_score(query: Query, name: Name) -> float:
    """0–1: how well the words name this name; 0 unless one of its real words is found."""
    covered = [0.0] * len(query.words)
    recall = 0.0
    found_content = False
    for word in name.words:
        row = query.row(word)
        best = max(row)
        recall += word.weight * best
        found_content = found_content or (best >= FOUND and word.weight == 1.0)
        covered = [c if c >= s else s for c, s in zip(covered, row, strict=True)]
    if not found_content or not name.weight:
        return 0.0
    precision = sum(q.weight * c for q, c in zip(query.words, covered, strict=True)) / query.asked
    return RECALL_SHARE * recall / name.weight + (1 - RECALL_SHARE) * precision


def score(query: Query, candidate: Entry) -> float:
    """The best score over the product's names."""
    return max(name_score(query, name) for name in candidate.names)


def unexplained(query: Query, candidate: Entry) -> list[str]:
    """The query's real words (not stopwords or numbers) that the product's best-fitting name
    does not explain: "margarita" in "margarita coca cola" matched to Coca-Cola."""
    name = max(candidate.names, key=lambda n: name_score(query, n))
    rows = [query.row(word) for word in name.words]
    return [
        q.text
        for i, q in enumerate(query.words)
        if q.weight == 1.0 and all(row[i] < FOUND for row in rows)
    ]
