"""A catalogue file sent by staff: told from an orders CSV by its header, tried in a dry run
against the catalogue (nothing changes), then applied in one transaction."""

from __future__ import annotations

import codecs
import csv
import hashlib
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from core.catalogue.csvfile import parse_catalogue
from core.catalogue.loading import with_photos
from core.catalogue.previews import Changes, Preview, compare
from core.catalogue.product import Product
from core.catalogue.store import CatalogueStore

# Enough of a file to read its header line.
HEAD_BYTES = 4096
# The column an orders CSV never has and a catalogue always does.
MARK = "sku"


def is_catalogue(head: bytes) -> bool:
    """Whether a CSV whose first bytes are `head` is a catalogue (its header names `sku`),
    whatever its encoding: a catalogue in the wrong encoding is still told so, as such."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text = head.decode("utf-16", errors="replace")
    else:
        text = head.decode("utf-8", errors="replace")
    line = text.lstrip("\ufeff").split("\n", 1)[0]
    delimiter = ";" if line.count(";") > line.count(",") else ","
    cells = next(csv.reader([line], delimiter=delimiter), [])
    return MARK in {cell.strip().lower() for cell in cells}


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class DryRun:
    """A file's products and what applying them would change."""

    products: list[Product]
    changes: Changes
    # The catalogue's version the file was compared with (CatalogueStore.version).
    version: float
    digest: str


def dry_run(store: CatalogueStore, data: bytes, currency: str, folder: Path | None) -> DryRun:
    """Read the file all or nothing and compare it with the catalogue; nothing is written.
    Raises CatalogueFileError or CatalogueRejected (every bad row, with its line)."""
    products = with_photos(parse_catalogue(data, default_currency=currency), folder)
    # The version first: a change landing between the two reads makes the preview outdated.
    version = store.version()
    return DryRun(products, compare(store.all(), products), version, digest(data))


class Outcome(StrEnum):
    APPLIED = "applied"
    # The catalogue changed after the preview: what it showed is no longer what would happen.
    OUTDATED = "outdated"
    # The file read now is not the one previewed.
    GONE = "gone"


def apply(
    store: CatalogueStore, preview: Preview, data: bytes, currency: str, folder: Path | None
) -> tuple[Outcome, Changes | None]:
    """Replace the catalogue with the previewed file, in one transaction, when it is still
    the file and the catalogue it was previewed against."""
    if digest(data) != preview.digest:
        return Outcome.GONE, None
    if store.version() != preview.version:
        return Outcome.OUTDATED, None
    checked = dry_run(store, data, currency, folder)
    store.replace_all(checked.products)
    return Outcome.APPLIED, checked.changes
