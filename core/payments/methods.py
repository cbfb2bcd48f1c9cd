"""How an order is paid, as stored in `orders.payment_method`."""

from __future__ import annotations

TELEGRAM = "telegram"  # a card, through the provider of PAYMENT_PROVIDER_TOKEN
STARS = "stars"  # Telegram Stars (currency XTR), for digital goods
CASH = "cash"  # on delivery or at pickup: the staff collect it
STARS_CURRENCY = "XTR"
# Paid through Telegram before the chain runs: validar_pago verifies the recorded payment.
INVOICED = frozenset({TELEGRAM, STARS})


def invoice_method(currency: str) -> str:
    """The Telegram method that charges an order in `currency`."""
    return STARS if currency == STARS_CURRENCY else TELEGRAM


def takes_invoices(methods: tuple[str, ...]) -> bool:
    return any(method in INVOICED for method in methods)
