"""The catalogue in the system of record, on both engines: an import replaces it whole
(withdrawn products kept inactive), and a menu page reads only its products."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from core.catalogue.product import Product
from core.catalogue.store import CatalogueStore
from core.db.engine import Database


@pytest.fixture
def store(database_url: str) -> Iterator[CatalogueStore]:
    db = Database(database_url)
    yield CatalogueStore(db)
    db.dispose()


def product(sku: str, category: str = "Pizzas", price: int = 900) -> Product:
    return Product(sku, f"Producto {sku}", "", price, "EUR", category)


def test_an_import_replaces_the_catalogue_and_withdraws_what_it_leaves_out(
    store: CatalogueStore,
) -> None:
    store.replace_all([product("A"), product("B"), product("C", "Bebidas")])
    store.replace_all([product("C", "Bebidas", 250), product("A", price=1000), product("D")])
    assert [p.sku for p in store.all(active_only=True)] == ["C", "A", "D"]  # the file's order
    withdrawn = store.get("B")
    assert withdrawn is not None and not withdrawn.active  # kept: orders still name it
    assert store.get("A").price == 1000 and store.get("C").price == 250  # type: ignore[union-attr]
    assert store.count() == 4 and store.categories() == ["Bebidas", "Pizzas"]


def test_a_menu_page_reads_one_page_of_the_category_in_order(store: CatalogueStore) -> None:
    store.replace_all([product(f"P{n:02d}", "Pizzas" if n % 2 else "Postres") for n in range(20)])
    whole = store.in_category("Pizzas")
    assert [p.sku for p in whole] == [f"P{n:02d}" for n in range(1, 20, 2)]
    assert store.in_category("Pizzas", 0, 4) == whole[:4]
    assert store.in_category("Pizzas", 8, 4) == whole[8:]
