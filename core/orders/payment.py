"""The payment service client: one call per order, safe to repeat (the order id is the key)."""

from __future__ import annotations

import requests

from core.orders.model import Order


class PaymentDeclined(Exception):
    """The payment service said no (4xx): retrying will not change its mind."""

    def __init__(self, detail: str = "") -> None:
        super().__init__(detail or "declined")
        self.detail = detail


class PaymentUnavailable(Exception):
    """The payment service could not answer (5xx, timeout, connection): retry later."""


class PaymentClient:
    """Asks `PAYMENT_API_URL` to authorize an order; with no URL, every payment is approved."""

    def __init__(self, url: str, timeout: float, session: requests.Session | None = None) -> None:
        self.url = url
        self.timeout = timeout
        self.session = session or requests.Session()

    def authorize(self, order: Order) -> None:
        """Return when the payment is approved; raise PaymentDeclined or PaymentUnavailable."""
        if not self.url:
            return
        try:
            response = self.session.post(
                self.url,
                json={"order_id": order.id, "chat_id": order.chat_id, "text": order.text},
                # The same key on a retry lets the service answer without charging twice.
                headers={"Idempotency-Key": order.id},
                timeout=self.timeout,
            )
        except requests.RequestException as exc:
            raise PaymentUnavailable(type(exc).__name__) from None
        if response.status_code >= 500:
            raise PaymentUnavailable(f"HTTP {response.status_code}")
        if response.status_code >= 400:
            raise PaymentDeclined(_reason(response))


def _reason(response: requests.Response) -> str:
    """A short, printable reason from a refusal body, if it has one."""
    try:
        body = response.json()
    except ValueError:
        return ""
    reason = body.get("reason") or body.get("error") or "" if isinstance(body, dict) else ""
    return str(reason)[:200]
