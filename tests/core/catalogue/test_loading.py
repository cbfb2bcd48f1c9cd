"""A catalogue file from disk: loaded at start only into an empty catalogue, a bad file
logged on one line, and photos found beside it, never outside its folder."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from core.catalogue.loading import load_at_start, photo_file, read_file
from core.catalogue.store import CatalogueStore
from core.db.engine import Database
from core.settings import Settings

HEADER = "sku,name_es,name_en,price,currency,category,stock,fulfilment"


def shop(folder: Path, rows: list[str], photos: tuple[str, ...] = ()) -> Path:
    (folder / "photos").mkdir(parents=True, exist_ok=True)
    for sku in photos:
        (folder / "photos" / f"{sku}.jpg").write_bytes(b"\xff\xd8\xff")
    path = folder / "catalogue.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n")
    return path


def test_blank_photos_become_the_sku_photo_when_it_exists(tmp_path: Path) -> None:
    path = shop(
        tmp_path,
        ["A-1,Uno,One,1.00,,Cosas,,manual", "B-2,Dos,Two,2,CLP,Cosas,5,automatic"],
        photos=("A-1",),
    )
    first, second = read_file(path, "EUR")
    assert first.photo == "photos/A-1.jpg" and first.currency == "EUR" and first.price == 100
    assert second.photo == "" and second.currency == "CLP" and second.price == 2
    assert photo_file(first.photo, tmp_path) == (tmp_path / "photos" / "A-1.jpg").resolve()


def test_a_photo_never_names_a_file_outside_the_folder(tmp_path: Path) -> None:
    outside = tmp_path / "secret.jpg"
    outside.write_bytes(b"x")
    folder = tmp_path / "shop"
    (folder / "photos").mkdir(parents=True)
    (folder / "photos" / "link.jpg").symlink_to(outside)
    assert photo_file("../secret.jpg", folder) is None
    assert photo_file(str(outside), folder) is None
    assert photo_file("photos/link.jpg", folder) is None
    assert photo_file("AgACAgIAAxkBAAIB", folder) is None  # a Telegram file_id
    assert photo_file("", folder) is None and photo_file("x.jpg", None) is None


def test_loaded_only_into_an_empty_catalogue(tmp_path: Path, sqlite_db: Database) -> None:
    path = shop(tmp_path, ["A-1,Uno,One,1.00,EUR,Cosas,,manual"])
    settings = Settings(catalog_file=str(path))
    store = CatalogueStore(sqlite_db)
    assert load_at_start(Settings(), sqlite_db) == 0 and store.count() == 0
    assert load_at_start(settings, sqlite_db) == 1
    assert store.set_price("A-1", 250)
    assert load_at_start(settings, sqlite_db) == 0
    assert store.get("A-1").price == 250  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("rows", "logged"),
    [
        (
            ["A-1,Uno,One,12.5.0,EUR,Cosas,,manual", "A-1,Otro,Other,1,EUR,Cosas,,manual"],
            "2 bad rows: line 2 price: bad_price; line 3 sku: duplicate_sku (2)",
        ),
        (None, "cannot read it: [Errno 2]"),
    ],
)
def test_a_bad_file_is_one_log_line_and_loads_nothing(
    tmp_path: Path,
    sqlite_db: Database,
    caplog: pytest.LogCaptureFixture,
    rows: list[str] | None,
    logged: str,
) -> None:
    path = shop(tmp_path, rows) if rows else tmp_path / "missing.csv"
    with caplog.at_level(logging.INFO, logger="core.catalogue.loading"):
        assert load_at_start(Settings(catalog_file=str(path)), sqlite_db) == 0
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(lines) == 1 and logged in lines[0], lines
    assert lines[0].startswith(f"catalogue not loaded from {path}: ")
    assert CatalogueStore(sqlite_db).count() == 0
