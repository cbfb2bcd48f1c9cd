"""The receipts' settings (core.receipts), declared apart from core.settings so that module
stays one screen of the shop's other settings; `Settings` inherits them, so they are read,
documented and checked like every other variable."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Self
from urllib.parse import urlsplit

from pydantic import AfterValidator, SecretStr, model_validator
from pydantic_settings import BaseSettings

from core.settings_types import NO_SECRET, Seconds


def _vat_rate(rate: Decimal) -> Decimal:
    if not Decimal(0) <= rate < Decimal(100):
        raise ValueError(f"VAT rate out of range: {rate} (a percentage such as 21 or 10)")
    return rate


VatRate = Annotated[Decimal, AfterValidator(_vat_rate)]


class ReceiptSettings(BaseSettings):
    """Who issues the receipts and how they travel. Receipts are on when SHOP_TAX_ID is set
    (a receipt without the seller's tax id is not one); off, the shop works as before."""

    shop_name: str = ""
    shop_tax_id: str = ""
    shop_address: str = ""
    # The VAT included in every price, in percent (one rate for the whole shop).
    shop_vat_rate: VatRate = Decimal(21)
    # Ask for an email at checkout (the invoice's need_email) and mail the receipt there.
    receipt_email: bool = False
    # smtp://user:password@host:587 (STARTTLS) or smtps://user:password@host:465 (TLS).
    smtp_url: SecretStr = NO_SECRET
    smtp_from: str = ""
    smtp_timeout: Seconds = 30.0
    # A mail that failed is tried again, waits doubling up to this (tasks.receipts.MailTask).
    smtp_retry_max: Seconds = 3600.0

    @model_validator(mode="after")
    def _mail_is_complete(self) -> Self:
        url = self.smtp_url.get_secret_value()
        if url and urlsplit(url).scheme not in ("smtp", "smtps"):
            raise ValueError("SMTP_URL must be smtp://user:password@host:587 or smtps://…:465")
        # SMTP_URL itself only where mail is sent (compose gives it to the workers alone).
        if self.receipt_email and not self.smtp_from:
            raise ValueError("RECEIPT_EMAIL needs SMTP_FROM (and the workers SMTP_URL)")
        return self

    @property
    def receipts_enabled(self) -> bool:
        return bool(self.shop_tax_id.strip())

    @property
    def email_enabled(self) -> bool:
        return self.receipts_enabled and self.receipt_email
