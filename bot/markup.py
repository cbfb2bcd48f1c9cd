"""Core's keyboards (plain Bot API dicts) as python-telegram-bot objects."""

from __future__ import annotations

from typing import Any

from telegram import InlineKeyboardMarkup


def inline(keyboard: dict[str, Any] | None) -> InlineKeyboardMarkup | None:
    """The keyboard for PTB's send and edit calls; None for no keyboard."""
    return InlineKeyboardMarkup.de_json(keyboard, None) if keyboard else None
