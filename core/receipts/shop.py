"""Who issues the receipts, from the settings: the shop's name, tax id, address, VAT rate and
time zone; and the receipt book those settings make (None while receipts are off)."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.db.engine import Database
from core.receipts.book import ReceiptBook, ReceiptPolicy
from core.reports.period import shop_zone
from core.settings import Settings, SettingsError


@dataclass(frozen=True)
class Shop:
    name: str
    tax_id: str
    address: str
    zone: str


def shop_of(settings: Settings) -> Shop:
    return Shop(
        settings.shop_name, settings.shop_tax_id, settings.shop_address, shop_zone(settings)
    )


def receipt_book(settings: Settings, db: Database) -> ReceiptBook | None:
    """The book receipts are issued in, or None when receipts are off (no SHOP_TAX_ID)."""
    if not settings.receipts_enabled:
        return None
    zone = shop_zone(settings)
    try:
        ZoneInfo(zone)  # a wrong zone stops the process now, not a payment later
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(f"SHOP_TIMEZONE: unknown time zone {zone!r}") from None
    return ReceiptBook(db, ReceiptPolicy(settings.shop_vat_rate, zone))
