"""`/pedido` matching benchmark: 10,000 products, order texts as customers write them.

- per text, the word index (CatalogueIndex, built once) against the naive scan of every
  product (NaiveScan: the same scoring, no index), as a ratio from this run (goal ≥ 20×) and
  the index's own time per text (goal < 50 ms);
- how often the two agree, and how many items the index turns into lines.
"""

from __future__ import annotations

import random
import statistics
import time

from core.catalogue.matching import CatalogueIndex, MatchResult, NaiveScan
from core.catalogue.product import Product

PRODUCTS = 10_000
TEXTS = 200
NAIVE_TEXTS = 50
SEED = 24

DISHES = {
    "pizza": "pizza", "empanada": "empanada", "ensalada": "salad", "bocadillo": "sandwich",
    "hamburguesa": "burger", "tarta": "cake", "helado": "ice cream", "zumo": "juice",
    "batido": "milkshake", "sopa": "soup", "crema": "cream soup", "tostada": "toast",
    "croqueta": "croquette", "lasaña": "lasagna", "tortilla": "omelette", "arroz": "rice",
    "galleta": "cookie", "magdalena": "muffin", "taco": "taco", "burrito": "burrito",
}  # fmt: skip
FLAVOURS = {
    "de pollo": "chicken", "de atún": "tuna", "de queso": "cheese", "de jamón": "ham",
    "de chocolate": "chocolate", "de fresa": "strawberry", "de limón": "lemon",
    "de naranja": "orange", "con tomate": "tomato", "vegana": "vegan", "picante": "spicy",
    "de setas": "mushroom", "de espinacas": "spinach", "de manzana": "apple",
    "de calabaza": "pumpkin", "de ternera": "beef", "de gambas": "prawn", "de maíz": "corn",
    "de verduras": "vegetable", "de nata": "cream",
}  # fmt: skip
SYLLABLES = ["ra", "mo", "ti", "la", "ven", "sa", "dor", "ca", "mi", "lo", "ber", "nu", "ta"]


def variety(rng: random.Random) -> str:
    """An invented house-style name (`Ravena`, `Tisador`), so that 10,000 names differ."""
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize()


def catalogue(rng: random.Random) -> list[Product]:
    products: dict[tuple[str, str, str], Product] = {}
    while len(products) < PRODUCTS:
        dish, flavour, style = rng.choice(list(DISHES)), rng.choice(list(FLAVOURS)), variety(rng)
        if (dish, flavour, style) in products:
            continue
        name_es = f"{dish.capitalize()} {flavour} {style}"
        name_en = f"{style} {FLAVOURS[flavour]} {DISHES[dish]}"
        sku = f"P{len(products):05d}"
        products[(dish, flavour, style)] = Product(sku, name_es, name_en, 500, "EUR")
    return list(products.values())


def typo(word: str, rng: random.Random) -> str:
    if len(word) < 6:
        return word
    i = rng.randrange(1, len(word) - 1)
    return word[:i] + word[i + 1 :]  # one letter dropped


def item(product: Product, rng: random.Random) -> str:
    quantity = rng.choice(["1", "2", "3x", "dos", "una", "a", "two", ""])
    name = rng.choice([product.name_es, product.name_en]).lower()
    words = name.split()
    if rng.random() < 0.3:
        words = [typo(w, rng) for w in words]
    if quantity not in ("1", "una", "a", "") and words[0].isalpha():
        words[0] += "s"  # a plural, right or wrong
    return " ".join([quantity, *words]).strip()


def texts(products: list[Product], rng: random.Random) -> list[str]:
    joiners = ["\n", ", ", " y ", " and "]
    return [
        rng.choice(joiners).join(item(rng.choice(products), rng) for _ in range(rng.randint(1, 3)))
        for _ in range(TEXTS)
    ]


def timed(matcher: CatalogueIndex, order_texts: list[str]) -> tuple[list[float], list[MatchResult]]:
    times, results = [], []
    for text in order_texts:
        start = time.perf_counter()
        results.append(matcher.match(text))
        times.append(time.perf_counter() - start)
    return times, results


def main() -> None:
    rng = random.Random(SEED)
    products = catalogue(rng)
    order_texts = texts(products, rng)
    start = time.perf_counter()
    index = CatalogueIndex(products)
    built = time.perf_counter() - start
    naive = NaiveScan(products)
    index_times, index_results = timed(index, order_texts)
    naive_times, naive_results = timed(naive, order_texts[:NAIVE_TEXTS])
    same = sum(a == b for a, b in zip(index_results, naive_results, strict=False))
    lines = sum(len(r.lines) for r in index_results)
    asked = sum(len(r.unmatched) for r in index_results)
    per_index = statistics.mean(index_times[:NAIVE_TEXTS])
    per_naive = statistics.mean(naive_times)
    p95 = statistics.quantiles(index_times, n=20)[-1]
    print(f"products: {PRODUCTS}, texts: {TEXTS} (naive scan on the first {NAIVE_TEXTS})")
    print(f"index built in {built * 1000:.0f} ms")
    print(
        f"per text: index {per_index * 1000:.2f} ms (all {TEXTS}: mean "
        f"{statistics.mean(index_times) * 1000:.2f} ms, p95 {p95 * 1000:.2f} ms), "
        f"naive scan {per_naive * 1000:.1f} ms"
    )
    print(f"ratio naive / index: {per_naive / per_index:.0f}x (goal >= 20x; index goal < 50 ms)")
    print(f"same result as the naive scan: {same}/{NAIVE_TEXTS} texts")
    print(f"items matched to a line: {lines}, asked about: {asked}")


if __name__ == "__main__":
    main()
