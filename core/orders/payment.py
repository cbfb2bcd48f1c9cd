"""validar_pago's check: an order paid through Telegram has its recorded payment verified
against it; an order without a payment method (payments off) asks the payment service, one
call per order, safe to repeat (the order id is the key)."""

from __future__ import annotations

import logging
from collections.abc import Callable

import requests

from core.orders.model import Order
from core.payments.checks import Recorded, payment_problem
from core.payments.methods import CASH, INVOICED

log = logging.getLogger(__name__)


class PaymentDeclined(Exception):
    """The payment service said no (4xx): retrying will not change its mind."""

    def __init__(self, detail: str = "") -> None:
        super().__init__(detail or "declined")
        self.detail = detail


class PaymentHeld(PaymentDeclined):
    """The recorded payment does not match the order (or there is none): the order is held
    for the staff to review ("pago en revisión"), never approved."""


class PaymentUnavailable(Exception):
    """The payment service could not answer (5xx, timeout, connection): retry later."""


class PaymentClient:
    """Verifies a Telegram payment against its order (`recorded`: the payment recorded for an
    order id); cash is collected by the staff; an order with no payment method asks
    `PAYMENT_API_URL`, and with no URL it is placed "sin cobro" (payments off)."""

    def __init__(
        self,
        url: str,
        timeout: float,
        session: requests.Session | None = None,
        recorded: Callable[[str], Recorded | None] | None = None,
        token: str = "",
    ) -> None:
        self.url = url
        self.token = token
        self.timeout = timeout
        self.session = session or requests.Session()
        self.recorded = recorded

    def _headers(self, order: Order) -> dict[str, str]:
        # The same key on a retry lets the service answer without charging twice; the token
        # (PAYMENT_API_TOKEN, a secret) says it is us.
        headers = {"Idempotency-Key": order.id}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return headers

    def authorize(self, order: Order) -> None:
        """Return when the payment is approved; raise PaymentDeclined (PaymentHeld) or
        PaymentUnavailable."""
        if order.payment_method in INVOICED:
            payment = self.recorded(order.id) if self.recorded is not None else None
            problem = payment_problem(order, payment)
            if problem is not None:
                log.warning("order=%s payment held for review: %s", order.id, problem)
                raise PaymentHeld(problem)
            return
        if order.payment_method == CASH or not self.url:
            return
        try:
            response = self.session.post(
                self.url, json=_check_of(order), headers=self._headers(order), timeout=self.timeout
            )
        except requests.RequestException as exc:
            raise PaymentUnavailable(type(exc).__name__) from None
        if response.status_code >= 500:
            raise PaymentUnavailable(f"HTTP {response.status_code}")
        if response.status_code >= 400:
            raise PaymentDeclined(_reason(response))


def _check_of(order: Order) -> dict[str, object]:
    """What the payment service (a fraud or ERP check) is asked: the order's id, amount in
    minor units, currency and customer, never its text (no personal data leaves)."""
    return {
        "order_id": order.id,
        "amount": order.total,
        "currency": order.currency,
        "customer_id": order.user_id,
        "chat_id": order.chat_id,
    }


def _reason(response: requests.Response) -> str:
    """A short, printable reason from a refusal body, if it has one."""
    try:
        body = response.json()
    except ValueError:
        return ""
    reason = body.get("reason") or body.get("error") or "" if isinstance(body, dict) else ""
    return str(reason)[:200]
