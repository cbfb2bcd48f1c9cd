"""A product the shop sells, and the rules each of its fields keeps wherever it comes from (the
catalogue CSV, a staff quick edit, the database)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from core.safetext import hidden_characters

# Letters, digits and . _ - , starting with a letter or digit: fits a command (`/precio SKU
# 12.50`), a callback button's data and a file name. Stored upper case, so `pz-marg` and
# `PZ-MARG` are one product.
SKU = re.compile(r"[A-Z0-9][A-Z0-9._-]{0,31}")
MAX_NAME = 80
MAX_CATEGORY = 40
MAX_DESCRIPTION = 500
# A stock count a shop keeps; anything larger is a typo.
MAX_STOCK = 1_000_000
UNLIMITED = None


class Fulfilment(StrEnum):
    """How a paid order line is completed."""

    MANUAL = "manual"  # the staff prepare it
    AUTOMATIC = "automatic"  # a worker completes it (digital goods)


class ProductError(ValueError):
    """Why a product field was refused; `code` is a reason the staff are shown."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class Product:
    """One product; `price` in minor units of `currency`."""

    sku: str
    name_es: str
    name_en: str
    price: int
    currency: str
    category: str = ""
    description: str = ""
    photo: str = ""
    # Units left to sell; None is unlimited.
    stock: int | None = UNLIMITED
    active: bool = True
    fulfilment: Fulfilment = Fulfilment.MANUAL

    def name(self, language: str) -> str:
        """The name in `language`; the Spanish one when there is no English name."""
        return self.name_en if language == "en" and self.name_en else self.name_es

    @property
    def sold_out(self) -> bool:
        return self.stock is not None and self.stock <= 0

    def can_sell(self, quantity: int) -> bool:
        """Whether `quantity` units can be ordered now."""
        return self.active and (self.stock is None or self.stock >= quantity)


def clean_sku(raw: str) -> str:
    """The SKU as stored (upper case). Raises ProductError(missing_sku / bad_sku)."""
    sku = raw.strip().upper()
    if not sku:
        raise ProductError("missing_sku")
    if not SKU.fullmatch(sku):
        raise ProductError("bad_sku")
    return sku


def _clean_text(raw: str, limit: int, too_long: str) -> str:
    text = " ".join(raw.split())  # one line, single spaces: names go on buttons and invoices
    if len(text) > limit:
        raise ProductError(too_long)
    if hidden_characters(text):
        raise ProductError("bad_text")
    return text


def clean_name(raw: str, *, required: bool) -> str:
    """A product name. Raises ProductError(missing_name / name_too_long / bad_text)."""
    name = _clean_text(raw, MAX_NAME, "name_too_long")
    if required and not name:
        raise ProductError("missing_name")
    return name


def clean_category(raw: str) -> str:
    """A category name (blank: the product is listed under the menu's general category)."""
    return _clean_text(raw, MAX_CATEGORY, "category_too_long")


def clean_description(raw: str) -> str:
    """A description: several lines allowed."""
    text = raw.strip()
    if len(text) > MAX_DESCRIPTION:
        raise ProductError("description_too_long")
    if hidden_characters(text):
        raise ProductError("bad_text")
    return text


def parse_stock(raw: str) -> int | None:
    """A stock cell: digits, or blank for unlimited. Raises ProductError(bad_stock)."""
    text = raw.strip()
    if not text:
        return UNLIMITED
    if not text.isascii() or not text.isdigit() or int(text) > MAX_STOCK:
        raise ProductError("bad_stock")
    return int(text)


def parse_fulfilment(raw: str) -> Fulfilment:
    """`manual` (the default, when blank) or `automatic`. Raises ProductError(bad_fulfilment)."""
    text = raw.strip().lower()
    if not text:
        return Fulfilment.MANUAL
    try:
        return Fulfilment(text)
    except ValueError:
        raise ProductError("bad_fulfilment") from None
