"""`/menu` page benchmark: 10,000 products in the database (SQLite and PostgreSQL).

- one category page as /menu answers it: CatalogueStore.in_category (one page of the
  category's products, in the catalogue's order) plus the product lines formatted with
  core.money.format_amount, against the formatting of a plain reply in the same run (goal:
  the page adds under 10 ms to a plain reply); p50 and p95 of each, and the ratio; and the
  same page cut from the whole category read, to show what reading one page saves;
- what the staff side costs at this size: replacing the whole catalogue in one transaction
  (CatalogueStore.replace_all, an applied import), and a catalogue file's dry run (parse,
  photos, compare with the catalogue) of 1,000 and 10,000 rows.

`python -m bench.menu [postgresql|sqlite ...]`
"""

from __future__ import annotations

import html
import random
import statistics
import time
from collections.abc import Callable

from bench._system import each_database
from core import texts
from core.catalogue.csvfile import write_catalogue
from core.catalogue.product import Product
from core.catalogue.store import CatalogueStore
from core.catalogue.upload import dry_run
from core.db.engine import Database
from core.db.schema import migrate
from core.money import format_amount
from core.orders.model import Order

PRODUCTS = 10_000
CATEGORIES = 50  # 200 products each
PAGE = 8  # product lines on one /menu page
SAMPLES = 300
GOAL_ADDED_MS = 10.0
SEED = 24
CURRENCIES = ("EUR", "EUR", "EUR", "XTR")


def catalogue(rng: random.Random) -> list[Product]:
    products = []
    for n in range(PRODUCTS):
        currency = rng.choice(CURRENCIES)
        price = rng.randint(50, 5000) if currency == "XTR" else rng.randint(100, 9999)
        products.append(
            Product(
                sku=f"P{n:05d}",
                name_es=f"Plato <especial> número {n}",
                name_en=f"Special <dish> number {n}",
                price=price,
                currency=currency,
                category=f"Categoría {n % CATEGORIES:02d}",
                stock=None if n % 3 else rng.randint(0, 50),
            )
        )
    return products


def page_text(store: CatalogueStore, category: str, language: str, whole: bool = False) -> str:
    """One category page as /menu shows it: the title, then a line per product (escaped
    name, price in the reader's language), PAGE of them; read as one page (offset/limit) or,
    `whole`, by reading the whole category."""
    products = store.in_category(category) if whole else store.in_category(category, 0, PAGE)
    lines = [f"<b>{html.escape(category)}</b>"]
    for product in products[:PAGE]:
        price = format_amount(product.price, product.currency, language)
        lines.append(f"• {html.escape(product.name(language))} — {price}")
    return "\n".join(lines)


def plain_reply(order: Order) -> str:
    """A plain reply's formatting: an order's status message (texts, no database)."""
    return texts.status_message(order)


def timings(samples: int, call: Callable[[int], object]) -> list[float]:
    found = []
    for n in range(samples):
        began = time.perf_counter()
        call(n)
        found.append(time.perf_counter() - began)
    return found


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[94]


def once(call: Callable[[], object]) -> float:
    began = time.perf_counter()
    call()
    return time.perf_counter() - began


def bench(name: str, url: str, products: list[Product]) -> None:
    db = Database(url)
    migrate(db)
    store = CatalogueStore(db)
    loaded = once(lambda: store.replace_all(products))
    print(f"[{name}] replace_all of {PRODUCTS:,} products (one transaction): {loaded:.2f} s")
    again = once(lambda: store.replace_all(products))
    print(f"[{name}] replace_all again (every product already there): {again:.2f} s")
    for rows in (1_000, PRODUCTS):
        data = write_catalogue(products[:rows]).encode()
        took = once(lambda data=data: dry_run(store, data, "EUR", None))  # type: ignore[misc]
        print(f"[{name}] dry run of a {rows:,}-row file (parse + compare): {took * 1000:.0f} ms")

    categories = store.categories()
    assert len(categories) == CATEGORIES, categories
    order = Order(id="P-7K2Q4F", chat_id=1, user_id=1, text="2 pizzas margarita", language="es")
    for language in ("es", "en"):  # warm: Babel's locale data, the connection pool
        page_text(store, categories[0], language)
        plain_reply(order)
    page = timings(SAMPLES, lambda n: page_text(store, categories[n % CATEGORIES], "es"))
    plain = timings(SAMPLES, lambda n: plain_reply(order))
    whole = timings(SAMPLES, lambda n: page_text(store, categories[n % CATEGORIES], "es", True))
    page_p95, plain_p95 = p95(page), p95(plain)
    added = (page_p95 - plain_p95) * 1000
    print(
        f"[{name}] menu page ({PRODUCTS // CATEGORIES} products in the category, {PAGE} shown): "
        f"p50 {statistics.median(page) * 1000:.2f} ms, p95 {page_p95 * 1000:.2f} ms"
    )
    print(
        f"[{name}] plain reply: p50 {statistics.median(plain) * 1000:.3f} ms, "
        f"p95 {plain_p95 * 1000:.3f} ms"
    )
    print(
        f"[{name}] the same page from the whole category read: "
        f"p50 {statistics.median(whole) * 1000:.2f} ms, p95 {p95(whole) * 1000:.2f} ms"
    )
    verdict = "OK" if added < GOAL_ADDED_MS else "OVER GOAL"
    print(
        f"[{name}] page / plain reply (p95): {page_p95 / plain_p95:.0f}x; the page adds "
        f"{added:.2f} ms (goal < {GOAL_ADDED_MS:.0f} ms) {verdict}"
    )
    db.dispose()


def main(argv: list[str] | None = None) -> None:
    products = catalogue(random.Random(SEED))
    for name, url, _ in each_database(argv):
        bench(name, url, products)


if __name__ == "__main__":
    main()
