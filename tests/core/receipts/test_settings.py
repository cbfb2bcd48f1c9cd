"""The receipts' settings: off unless SHOP_TAX_ID is set; the VAT rate, the zone and the mail
settings checked when the process starts (a receipt is issued inside the payment's
transaction, so a setting that cannot work must stop the process, not a payment)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core.receipts.shop import receipt_book, shop_of
from core.settings import Settings, SettingsError

MAIL = {"SMTP_URL": "smtp://tienda:s3creta@mail.example:587", "SMTP_FROM": "f@nandu.es"}


def test_an_unknown_zone_stops_the_process_not_a_payment(sqlite_db: object) -> None:
    with pytest.raises(ValueError, match="Mars/Olympus"):
        Settings(shop_tax_id="B1", shop_timezone="Mars/Olympus")


def test_receipts_are_off_unless_a_tax_id_is_set(sqlite_db: object) -> None:
    assert not Settings().receipts_enabled and receipt_book(Settings(), sqlite_db) is None  # type: ignore[arg-type]
    on = Settings.from_env(
        {"SHOP_TAX_ID": "B12345678", "SHOP_NAME": "Ñandú", "SHOP_VAT_RATE": "10.5"}
    )
    assert on.receipts_enabled and on.shop_vat_rate == Decimal("10.5")
    assert shop_of(on).zone == "UTC"  # REPORT_TIMEZONE's, as before
    assert shop_of(Settings(shop_timezone="Europe/Madrid")).zone == "Europe/Madrid"
    mailed = Settings.from_env({"SHOP_TAX_ID": "B1", "RECEIPT_EMAIL": "1", **MAIL})
    assert (
        mailed.email_enabled and not Settings.from_env({"RECEIPT_EMAIL": "0", **MAIL}).email_enabled
    )
    assert "s3creta" not in repr(mailed)


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"SHOP_VAT_RATE": "121"}, "SHOP_VAT_RATE"),
        ({"SHOP_VAT_RATE": "-1"}, "SHOP_VAT_RATE"),
        ({"RECEIPT_EMAIL": "1", "SMTP_URL": MAIL["SMTP_URL"]}, "RECEIPT_EMAIL needs SMTP_FROM"),
        ({"SMTP_URL": "http://tienda:s3creta@mail.example"}, "SMTP_URL must be smtp://"),
    ],
)
def test_settings_that_cannot_work_stop_the_process(env: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError) as refused:
        Settings.from_env(env)
    assert named in str(refused.value) and "s3creta" not in str(refused.value)
