"""The optional payment check (PAYMENT_API_URL): what the service is sent, and what its
answers do to the order step."""

from __future__ import annotations

import pytest

from core.orders.model import Order
from core.orders.payment import PaymentClient, PaymentDeclined, PaymentUnavailable
from tests.support.payment import payment_service


def order() -> Order:
    return Order(
        "P-AAAAAA", 10, 7, "2 pizzas, calle Mayor 1", currency="EUR", total=1900, subtotal=1900
    )


def test_the_check_gets_amount_currency_customer_and_a_key_never_the_text() -> None:
    with payment_service() as service:
        PaymentClient(service.url, 5.0, token="s3cret").authorize(order())
    [call] = service.calls
    assert {k: call[k] for k in ("order_id", "amount", "currency", "customer_id")} == {
        "order_id": "P-AAAAAA",
        "amount": 1900,
        "currency": "EUR",
        "customer_id": 7,
    }
    assert call["idempotency_key"] == "P-AAAAAA"
    assert call["authorization"] == "Bearer s3cret"
    assert "text" not in call and "calle Mayor" not in str(call)


def test_a_refusal_declines_and_a_server_error_is_retried() -> None:
    with payment_service() as service:
        client = PaymentClient(service.url, 5.0)
        service.answer(402, {"reason": "fondos insuficientes"})
        with pytest.raises(PaymentDeclined, match="fondos insuficientes"):
            client.authorize(order())
        service.answer(503)
        with pytest.raises(PaymentUnavailable):
            client.authorize(order())
