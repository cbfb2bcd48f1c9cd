"""A catalogue file sent by staff: told from an orders CSV, compared with the catalogue
without writing, applied only when still the file and the catalogue that were previewed."""

from __future__ import annotations

import codecs

import pytest
import redis

from core.catalogue import CatalogueRejected, Product
from core.catalogue.previews import Previews, compare
from core.catalogue.store import CatalogueStore
from core.catalogue.upload import Outcome, apply, dry_run, is_catalogue
from core.db.engine import Database

HEADER = "sku,name_es,name_en,price,currency,category,stock,fulfilment"


def csv(*rows: str) -> bytes:
    return ("\n".join([HEADER, *rows]) + "\n").encode()


@pytest.mark.parametrize(
    ("head", "catalogue"),
    [
        (b"\xef\xbb\xbfsku;name_es;price\r\n", True),
        (b"SKU , Name_ES,price\n", True),
        (codecs.BOM_UTF16_LE + "sku,name_es,price\n".encode("utf-16-le"), True),
        (b"chat_id,texto,idioma\n1,sku,es\n", False),
        (b"\xff\xfe\x00garbage", False),
        (b"", False),
    ],
)
def test_a_catalogue_is_told_by_its_header(head: bytes, catalogue: bool) -> None:
    assert is_catalogue(head) is catalogue


def product(sku: str, price: int = 100, active: bool = True) -> Product:
    return Product(sku, sku.title(), "", price, "EUR", "Cosas", active=active)


def test_compare_counts_new_changed_withdrawn_and_unchanged() -> None:
    current = [product("A"), product("B"), product("C"), product("OLD", active=False)]
    changes = compare(current, [product("A"), product("B", 150), product("D")])
    assert changes.new == ("D",) and changes.changed == ("B",) and changes.unchanged == ("A",)
    assert changes.withdrawn == ("C",)  # OLD was withdrawn already
    assert changes.total == 3


def test_a_dry_run_writes_nothing_and_a_bad_file_is_refused_whole(sqlite_db: Database) -> None:
    store = CatalogueStore(sqlite_db)
    run = dry_run(store, csv("A-1,Uno,One,1.00,EUR,X,,manual"), "EUR", None)
    assert run.changes.new == ("A-1",) and store.count() == 0
    with pytest.raises(CatalogueRejected) as refused:
        dry_run(
            store, csv("A-1,Uno,One,1.00,EUR,X,,manual", "A-2,Dos,,-1,EUR,X,,manual"), "EUR", None
        )
    assert [(e.line, e.column, e.reason) for e in refused.value.errors] == [
        (3, "price", "negative")
    ]


def test_applied_once_and_only_as_previewed(sqlite_db: Database, redis_url: str) -> None:
    store = CatalogueStore(sqlite_db)
    previews = Previews(redis.Redis.from_url(redis_url))
    data = csv("A-1,Uno,One,1.00,EUR,X,,manual", "A-2,Dos,Two,2.00,EUR,X,3,manual")
    run = dry_run(store, data, "EUR", None)
    preview = previews.create(7, 8, "file-id", "carta.csv", run.digest, run.version)
    previews.attach(preview.id, 42)
    taken = previews.take(preview.id)
    assert taken is not None and taken.message_id == 42 and taken.file_id == "file-id"
    assert previews.take(preview.id) is None  # a double tap gets nothing

    assert (
        apply(store, taken, data + b"A-3,Tres,,3,EUR,X,,manual\n", "EUR", None)[0] is Outcome.GONE
    )
    outcome, changes = apply(store, taken, data, "EUR", None)
    assert outcome is Outcome.APPLIED and changes is not None and len(changes.new) == 2
    assert store.get("A-2").stock == 3  # type: ignore[union-attr]

    # A change after the preview: the numbers it showed are stale, so it is not applied.
    again = dry_run(store, csv("A-1,Uno,One,5.00,EUR,X,,manual"), "EUR", None)
    later = previews.create(7, 8, "file-2", "b.csv", again.digest, again.version)
    store.set_price("A-2", 999)
    stale = previews.take(later.id)
    assert stale is not None
    assert (
        apply(store, stale, csv("A-1,Uno,One,5.00,EUR,X,,manual"), "EUR", None)[0]
        is Outcome.OUTDATED
    )
    assert store.get("A-1").price == 100  # type: ignore[union-attr]
