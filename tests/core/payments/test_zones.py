"""Payment settings: delivery zones parsed from DELIVERY_ZONES, an address's options, the fee
pre-checkout adds for the chosen one, and card payments refused without a provider token."""

from __future__ import annotations

import pytest

from core.orders.model import Order
from core.payments.checks import shipping_fee
from core.payments.zones import options_for, parse_zones
from core.settings import Settings

ZONES = parse_zones("Centro: 28001-28015, 28020 = 300; Madrid: madrid, Getafe = 450")


def test_an_address_gets_one_option_per_zone_it_is_in() -> None:
    assert [(i, z.fee) for i, z in options_for(ZONES, "28005", "Madrid")] == [
        ("zona-1", 300),
        ("zona-2", 450),
    ]
    assert [i for i, _ in options_for(ZONES, "28901", "GETAFE")] == ["zona-2"]
    assert [i for i, _ in options_for(ZONES, "28020", "Alcorcón")] == ["zona-1"]
    assert options_for(ZONES, "41001", "Sevilla") == []


def test_a_bad_zone_is_named_when_settings_are_read() -> None:
    with pytest.raises(ValueError, match="not a delivery zone"):
        Settings(delivery_zones="Centro 28001 300")  # type: ignore[arg-type]
    assert Settings(delivery_zones="Centro: 28001 = 300").delivery_zones[0].fee == 300  # type: ignore[arg-type]


def test_the_fee_is_the_chosen_option_of_that_address_only() -> None:
    order = Order("P-ABCDEF", 7, 7, "x", currency="EUR", total=1000)
    assert shipping_fee(order, ZONES, "EUR", "zona-2", "28005", "Madrid") == 450
    assert shipping_fee(order, ZONES, "EUR", "zona-1", "41001", "Sevilla") is None
    assert shipping_fee(order, ZONES, "EUR", "", "", "") is None
    # No zones (or a Stars order): nothing asked, nothing added, no option accepted.
    assert shipping_fee(order, (), "EUR", "", "", "") == 0
    assert shipping_fee(order, (), "EUR", "zona-1", "28005", "Madrid") is None
    stars = Order("P-ABCDEG", 7, 7, "x", currency="XTR", total=50)
    assert shipping_fee(stars, ZONES, "XTR", "", "", "") == 0


def test_card_payments_need_a_provider_token() -> None:
    problems = Settings(payment_methods="telegram,cash").problems()  # type: ignore[arg-type]
    assert any("PAYMENT_PROVIDER_TOKEN is required" in p for p in problems)
    with_token = Settings(payment_methods="telegram", payment_provider_token="284685063:TEST:x")  # type: ignore[arg-type]
    assert with_token.problems() == []
    assert Settings(payment_methods="stars,cash").problems() == []  # type: ignore[arg-type]
