"""Telegram Payments in the sandbox: invoices (messages and links) held to Telegram's limits,
the shipping and pre-checkout queries a payment asks the bot, charges, Stars and refunds."""

from sandbox.payments.model import DEFAULT_PROVIDER_TOKEN

__all__ = ["DEFAULT_PROVIDER_TOKEN"]
