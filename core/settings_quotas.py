"""The per-user quotas' settings (core.quotas, README "Quotas"), declared apart from
core.settings like the receipts' ones; `Settings` inherits them. 0 turns a quota off."""

from __future__ import annotations

from pydantic_settings import BaseSettings


class QuotaSettings(BaseSettings):
    """How much one person may ask of the bot in a window."""

    # Orders (/pedido, a checkout) per minute.
    quota_orders_per_minute: int = 10
    # Commands and button presses per minute (bot.handlers.request_quota).
    quota_requests_per_minute: int = 60
    # Photos per hour.
    quota_photos_per_hour: int = 30
