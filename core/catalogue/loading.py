"""A catalogue file from disk: loaded when the bot starts with an empty catalogue
(`CATALOG_FILE`), and the product photos kept beside it.

Photos are named relative to the catalogue file's folder, never by an absolute path: a staff
member's CSV cannot make the bot send a file from elsewhere on the server, and the database
holds names that survive a move of the shop's folder (or a restore on another machine). A
blank `photo` cell means `photos/<SKU>.jpg` when that file exists (the layout of `demo/`).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable
from pathlib import Path

from core.catalogue.csvfile import CatalogueFileError, CatalogueRejected, parse_catalogue
from core.catalogue.product import Product
from core.catalogue.store import CatalogueStore
from core.db.engine import Database
from core.settings import Settings

log = logging.getLogger(__name__)

PHOTOS = "photos"
PHOTO_SUFFIX = ".jpg"
# A log line names at most this many bad rows (the rest are counted).
LOGGED_ERRORS = 10


def catalogue_folder(settings: Settings) -> Path | None:
    """The shop's folder (CATALOG_FILE's), where photos are looked up; None without one."""
    return Path(settings.catalog_file).resolve().parent if settings.catalog_file else None


def photo_file(photo: str, folder: Path | None) -> Path | None:
    """The file a product's `photo` names inside `folder`; None when it names none there (no
    photo, or a Telegram file_id)."""
    if not photo or folder is None:
        return None
    path = (folder / photo).resolve()
    # csvfile refuses `..` and absolute names already; this holds for symlinks too.
    if not path.is_relative_to(folder.resolve()) or not path.is_file():
        return None
    return path


def with_photos(products: Iterable[Product], folder: Path | None) -> list[Product]:
    """`products` with each blank photo set to `photos/<SKU>.jpg` where that file exists."""
    found = []
    for product in products:
        default = f"{PHOTOS}/{product.sku}{PHOTO_SUFFIX}"
        if not product.photo and photo_file(default, folder) is not None:
            product = dataclasses.replace(product, photo=default)
        found.append(product)
    return found


def read_file(path: Path, default_currency: str) -> list[Product]:
    """Every product of a catalogue file on disk, photos resolved beside it. Raises OSError,
    CatalogueFileError or CatalogueRejected."""
    products = parse_catalogue(path.read_bytes(), default_currency=default_currency)
    return with_photos(products, path.resolve().parent)


def describe_problem(exc: Exception) -> str:
    """One line for the log: what is wrong with a catalogue file."""
    if isinstance(exc, CatalogueRejected):
        shown = [
            f"line {e.line}"
            + (f" {e.column}" if e.column else "")
            + f": {e.reason}"
            + (f" ({e.detail})" if e.detail else "")
            for e in exc.errors[:LOGGED_ERRORS]
        ]
        more = len(exc.errors) - len(shown)
        return (
            f"{len(exc.errors)} bad rows: " + "; ".join(shown) + (f"; {more} more" if more else "")
        )
    if isinstance(exc, CatalogueFileError):
        return f"the file is refused: {exc}"
    return f"cannot read it: {exc}"


def load_at_start(settings: Settings, db: Database) -> int:
    """Load CATALOG_FILE when it is set and the catalogue is empty; how many products were
    loaded. A bad file is logged on one line and loads nothing: the bot starts all the same."""
    if not settings.catalog_file:
        return 0
    store = CatalogueStore(db)
    if store.count():
        log.info(
            "catalogue: %s products in the database; %s not loaded",
            store.count(),
            settings.catalog_file,
        )
        return 0
    path = Path(settings.catalog_file)
    try:
        products = read_file(path, settings.shop_currency)
    except (OSError, CatalogueFileError, CatalogueRejected) as exc:
        log.error("catalogue not loaded from %s: %s", path, describe_problem(exc))
        return 0
    store.replace_all(products)
    photos = sum(1 for p in products if p.photo)
    log.info("catalogue loaded from %s: %s products, %s with a photo", path, len(products), photos)
    return len(products)
