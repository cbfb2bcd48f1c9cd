"""What a bot's payments are made of: invoices, the queries a payment asks the bot, charges
and the bot's Telegram Stars transactions."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

# A test provider token the sandbox knows from the start (BotFather's test tokens for a
# provider look like this); `POST /sandbox/api/config {"provider_tokens": [...]}` sets others.
DEFAULT_PROVIDER_TOKEN = "284685063:TEST:sandbox-provider"


@dataclass
class Invoice:
    """An invoice as sendInvoice or createInvoiceLink made it."""

    title: str
    description: str
    payload: str
    currency: str
    prices: list[dict[str, Any]]
    provider_token: str = ""
    max_tip_amount: int = 0
    suggested_tip_amounts: list[int] = field(default_factory=list)
    start_parameter: str = ""
    need_name: bool = False
    need_phone_number: bool = False
    need_email: bool = False
    need_shipping_address: bool = False
    is_flexible: bool = False
    subscription_period: int = 0
    photo_url: str | None = None
    # Where it lives: an invoice message (chat and message id) or an invoice link (its slug).
    chat_id: int | None = None
    message_id: int | None = None
    slug: str | None = None
    paid_charge_id: str | None = None

    @property
    def key(self) -> str:
        """Which invoice this is: its chat and message, or its link."""
        return f"${self.slug}" if self.slug else f"{self.chat_id}:{self.message_id}"

    @property
    def total_amount(self) -> int:
        """The sum of the prices, in the currency's minor units."""
        return sum(int(price["amount"]) for price in self.prices)

    def to_api(self) -> dict[str, Any]:
        """The Bot API Invoice object of Message.invoice."""
        return {
            "title": self.title,
            "description": self.description,
            "start_parameter": self.start_parameter,
            "currency": self.currency,
            "total_amount": self.total_amount,
        }

    def to_control(self) -> dict[str, Any]:
        """Everything a test or the web chat's payment form needs to know about it."""
        needs = ("need_name", "need_phone_number", "need_email", "need_shipping_address")
        return {
            **self.to_api(),
            "prices": [dict(price) for price in self.prices],
            "invoice_payload": self.payload,
            "max_tip_amount": self.max_tip_amount,
            "suggested_tip_amounts": list(self.suggested_tip_amounts),
            **{name: getattr(self, name) for name in needs},
            "is_flexible": self.is_flexible,
            "subscription_period": self.subscription_period or None,
            "chat_id": self.chat_id,
            "message_id": self.message_id,
            "slug": self.slug,
            "paid": self.paid_charge_id is not None,
        }


@dataclass
class PendingQuery:
    """A shipping or pre-checkout query waiting for the bot's answer."""

    id: str
    kind: str  # shipping_query | pre_checkout_query
    user_id: int
    created: float  # loop time
    answered: bool = False
    ok: bool = False
    error_message: str | None = None
    shipping_options: list[dict[str, Any]] = field(default_factory=list)
    done: asyncio.Event = field(default_factory=asyncio.Event)
    expired: bool = False


@dataclass
class ValidatedInfo:
    """Order info a user validated for an invoice, with the shipping options the bot offered."""

    id: str
    user_id: int
    invoice: str  # the Invoice's key
    order_info: dict[str, Any]
    shipping_options: list[dict[str, Any]]


@dataclass
class Charge:
    """A successful payment, as Telegram and the provider recorded it."""

    telegram_payment_charge_id: str
    provider_payment_charge_id: str
    user_id: int
    chat_id: int
    currency: str
    total_amount: int
    invoice_payload: str
    date: int
    successful_payment: dict[str, Any]
    refunded: bool = False

    def to_control(self) -> dict[str, Any]:
        """The control API's view of a charge."""
        return {
            "telegram_payment_charge_id": self.telegram_payment_charge_id,
            "provider_payment_charge_id": self.provider_payment_charge_id,
            "user_id": self.user_id,
            "chat_id": self.chat_id,
            "currency": self.currency,
            "total_amount": self.total_amount,
            "invoice_payload": self.invoice_payload,
            "date": self.date,
            "refunded": self.refunded,
            "successful_payment": dict(self.successful_payment),
        }


@dataclass
class PaymentBook:
    """One bot's payments: invoices by message and by link, open queries, charges, Stars."""

    invoices: dict[tuple[int, int], Invoice] = field(default_factory=dict)
    links: dict[str, Invoice] = field(default_factory=dict)
    queries: dict[str, PendingQuery] = field(default_factory=dict)
    validated: dict[str, ValidatedInfo] = field(default_factory=dict)
    charges: dict[str, Charge] = field(default_factory=dict)
    star_transactions: list[dict[str, Any]] = field(default_factory=list)

    def close(self) -> None:
        """Wake every flow still waiting for an answer (the sandbox is reset)."""
        for query in self.queries.values():
            query.done.set()
