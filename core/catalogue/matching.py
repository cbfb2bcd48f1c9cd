"""`/pedido` text matched against the catalogue: the lines it names, and what it does not.

`CatalogueIndex` is built once per catalogue (a word → products index and the vocabulary by
length for typos), so a text is scored against the few products its words name rather than
against all of them; `NaiveScan` scores every product, the baseline of bench/matching.py.
"""

from __future__ import annotations

import heapq
import itertools
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from core.catalogue.product import Product
from core.catalogue.scoring import (
    STOPWORD_WEIGHT,
    Query,
    Word,
    as_word,
    entry,
    score,
    unexplained,
)
from core.catalogue.words import NUMBER_WORDS, leading_quantity, split_items, strip_fillers, words

MAX_QUANTITY = 99
MAX_LINES = 50
# A product is named from this score on…
ACCEPT = 0.6
# …unless another one scores within this of it: then the customer picks among those scoring
# within CHOICE of the best.
MARGIN = 0.02
CHOICE = 0.15
# Products shown when an item names none: those scoring at least this, best first.
SUGGEST = 0.3
MAX_SUGGESTIONS = 3
MAX_CHOICES = 6
# Products fully scored per item, those sharing most words with it.
MAX_CANDIDATES = 64
SUGGEST_CUTOFF = 65
TYPO_CUTOFF = 80
# An item names at most this many more products in words it left unexplained.
MAX_DEPTH = 3


@dataclass(frozen=True)
class MatchedLine:
    product: Product
    quantity: int
    text: str  # the item as written


@dataclass(frozen=True)
class Unmatched:
    """An item not turned into a line: `reason` unknown (names nothing), ambiguous (names
    several: `suggestions` are the choices) or bad_quantity (outside 1–99)."""

    text: str
    quantity: int
    reason: str
    suggestions: tuple[Product, ...]


@dataclass(frozen=True)
class MatchResult:
    lines: tuple[MatchedLine, ...]
    unmatched: tuple[Unmatched, ...]
    # More than MAX_LINES items: the rest were not read.
    truncated: bool = False


class CatalogueIndex:
    """The catalogue ready for matching order text; build once, match many texts."""

    def __init__(self, products: Iterable[Product]) -> None:
        # Withdrawn products are not on the menu; sold-out ones are (the reply says so).
        entries = (entry(p) for p in products if p.active)
        self._entries = [item for item in entries if item.names]
        self._postings: dict[str, list[int]] = {}
        self._numbered: set[tuple[str, str]] = set()
        self._conjoined: set[tuple[str, str]] = set()
        for number, item in enumerate(self._entries):
            for name in item.names:
                self._learn(number, name.words)
        self._sizes = [e.size for e in self._entries]
        self._by_length: dict[int, list[str]] = {}
        for text in self._postings:
            self._by_length.setdefault(len(text), []).append(text)
        self._typos: dict[tuple[str, int], tuple[str, ...]] = {}

    def _learn(self, number: int, name: tuple[Word, ...]) -> None:
        for word in name:
            for form in word.forms:
                posting = self._postings.setdefault(form, [])
                if not posting or posting[-1] != number:
                    posting.append(number)
        for first, second in itertools.pairwise(name):
            if first.text in NUMBER_WORDS or first.text.isdigit():  # "Cuatro Quesos", "33 cl"
                self._numbered.update((first.text, form) for form in second.forms)
        for before, conj, after in zip(name, name[1:], name[2:], strict=False):
            if conj.text in ("y", "e", "and"):
                self._conjoined.update((a, b) for a in before.forms for b in after.forms)

    def match(self, text: str) -> MatchResult:
        """The lines `text` orders and the items it does not name."""
        items = split_items(text, self.joined, self.names_number)
        found: dict[str, MatchedLine] = {}
        unmatched: list[Unmatched] = []
        for item in items[:MAX_LINES]:
            for outcome in self._item(item):
                if isinstance(outcome, Unmatched):
                    unmatched.append(outcome)
                else:
                    self._add(found, outcome, unmatched)
        return MatchResult(tuple(found.values()), tuple(unmatched), len(items) > MAX_LINES)

    def joined(self, before: str, after: str) -> bool:
        """Whether a product's name has `before y/and after` (so they are not two items)."""
        pairs = self._conjoined
        return any((a, b) in pairs for a in as_word(before).forms for b in as_word(after).forms)

    @staticmethod
    def _add(found: dict[str, MatchedLine], line: MatchedLine, bad: list[Unmatched]) -> None:
        # The same product twice ("1 pizza margarita, 2 pizzas margarita") is one line.
        earlier = found.get(line.product.sku)
        if earlier is None:
            found[line.product.sku] = line
            return
        total = earlier.quantity + line.quantity
        if total > MAX_QUANTITY:
            bad.append(Unmatched(line.text, total, "bad_quantity", (line.product,)))
            return
        found[line.product.sku] = MatchedLine(line.product, total, f"{earlier.text}, {line.text}")

    def _item(self, text: str, depth: int = 0) -> list[MatchedLine | Unmatched]:
        tokens = strip_fillers(words(text))
        if not tokens:
            return []
        quantity, rest, as_word_ = leading_quantity(tokens)
        readings = [(1 if quantity is None else quantity, rest)]
        if as_word_ and len(tokens) > 1 and self.names_number(tokens[0], tokens[1]):
            readings.append((1, tokens))  # "cuatro quesos" may be the name
        # The reading whose best product scores highest; the quantity one on a tie.
        quantity, query, ranked = max(
            ((q, *self._rank(r)) for q, r in readings),
            key=lambda reading: reading[2][0][0] if reading[2] else 0.0,
        )
        outcome = self._decide(text, quantity, ranked)
        named, written_first = self._also_named(query, ranked, outcome, depth)
        if named and isinstance(outcome, Unmatched):
            # Not a choice between products but products written together, with no comma.
            outcome = self._decide(text, quantity, ranked[:1])
        return [*named, outcome] if written_first else [outcome, *named]

    def _also_named(
        self,
        query: Query,
        ranked: list[tuple[float, int]],
        outcome: MatchedLine | Unmatched,
        depth: int,
    ) -> tuple[list[MatchedLine | Unmatched], bool]:
        """Lines for other products named by the words the best product leaves unexplained
        ("margarita coca cola"), rather than dropping them; and whether they were written
        before the best product's words (so the lines keep the customer's order)."""
        if depth >= MAX_DEPTH or not ranked or ranked[0][0] < ACCEPT:
            return [], False
        if isinstance(outcome, Unmatched) and outcome.reason != "ambiguous":
            return [], False
        best = self._entries[ranked[0][1]]
        left = unexplained(query, best)
        more = self._item(" ".join(left), depth + 1) if left else []
        if not any(isinstance(o, MatchedLine) and o.product != best.product for o in more):
            return [], False
        texts = [word.text for word in query.words]
        first_own = next(i for i, t in enumerate(texts) if t not in left)
        named = [o for o in more if not (isinstance(o, MatchedLine) and o.product == best.product)]
        return named, texts.index(left[0]) < first_own

    def names_number(self, number: str, after: str) -> bool:
        """Whether a product's name has this number before this word ("Cuatro Quesos")."""
        return any((number, form) in self._numbered for form in as_word(after).forms)

    def _decide(
        self, text: str, quantity: int, ranked: list[tuple[float, int]]
    ) -> MatchedLine | Unmatched:
        if not ranked or ranked[0][0] < ACCEPT:
            picks = [self._entries[i].product for s, i in ranked if s >= SUGGEST]
            return Unmatched(text, quantity, "unknown", tuple(picks[:MAX_SUGGESTIONS]))
        best = ranked[0][0]
        close = [self._entries[i].product for s, i in ranked if s >= best - MARGIN]
        if len(close) > 1:
            choices = [self._entries[i].product for s, i in ranked if s >= best - CHOICE]
            return Unmatched(text, quantity, "ambiguous", tuple(choices[:MAX_CHOICES]))
        if not 1 <= quantity <= MAX_QUANTITY:
            return Unmatched(text, quantity, "bad_quantity", tuple(close))
        return MatchedLine(close[0], quantity, text)

    def _rank(self, tokens: list[str]) -> tuple[Query, list[tuple[float, int]]]:
        """The query, and (score, entry) of the best candidates for its words, best first."""
        query = Query(tokens)
        if not query.words:
            return query, []
        scored = [(score(query, self._entries[i]), i) for i in self._candidates(query)]
        if not any(s >= SUGGEST for s, _ in scored):
            scored = [(score(query, self._entries[i]), i) for i in self._near(query)]
        # Ties go to the shorter name, then to catalogue order.
        scored.sort(key=lambda pair: (-pair[0], self._sizes[pair[1]], pair[1]))
        return query, [(s, i) for s, i in scored if s > 0][: MAX_CHOICES + 1]

    def _candidates(self, query: Query) -> Iterable[int]:
        """Products sharing the most (weighted) words with the query."""
        hits: defaultdict[int, float] = defaultdict(float)
        for word in query.words:
            if word.weight <= STOPWORD_WEIGHT:
                continue
            for number in self._lookup(word, TYPO_CUTOFF):
                hits[number] += word.weight
        best = heapq.nsmallest(
            MAX_CANDIDATES, hits.items(), key=lambda kv: (-kv[1], self._sizes[kv[0]], kv[0])
        )
        return [number for number, _ in best]

    def _near(self, query: Query) -> Iterable[int]:
        """Products with a word loosely like one of the query's, for suggestions."""
        found: set[int] = set()
        for word in query.words:
            if word.weight > STOPWORD_WEIGHT:
                found.update(self._lookup(word, SUGGEST_CUTOFF, exact=False))
        return sorted(found)[:MAX_CANDIDATES]

    def _lookup(self, word: Word, cutoff: int, exact: bool = True) -> set[int]:
        found: set[int] = set()
        if exact:
            for form in word.forms:
                found.update(self._postings.get(form, ()))
        if not found and len(word.text) >= 4:
            for text in self._typo_words(word.text, cutoff):
                found.update(self._postings[text])
        return found

    def _typo_words(self, text: str, cutoff: int) -> tuple[str, ...]:
        key = (text, cutoff)
        if key not in self._typos:
            # A ratio of at least 65 needs lengths within a factor of 2 of each other.
            pool = [
                w
                for n in range(len(text) // 2, 2 * len(text) + 1)
                for w in self._by_length.get(n, ())
            ]
            hits = process.extract(text, pool, scorer=fuzz.ratio, score_cutoff=cutoff, limit=8)
            if len(self._typos) > 10_000:
                self._typos.clear()
            self._typos[key] = tuple(hit[0] for hit in hits)
        return self._typos[key]


class NaiveScan(CatalogueIndex):
    """The same matching, scoring every product for every item: the benchmark's baseline."""

    def _candidates(self, query: Query) -> Iterable[int]:
        return range(len(self._entries))

    def _near(self, query: Query) -> Iterable[int]:
        return ()  # every product was scored already
