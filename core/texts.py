"""User-facing texts: one TOML file per language in core/locales, chosen by Telegram language.

Texts are Telegram HTML. Every value put into a text is escaped here, so markup a customer
types can never break or inject formatting.
"""

from __future__ import annotations

import html
import tomllib
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

from core import money
from core.orders.model import Order
from core.orders.states import STEPS, OrderState
from core.progress import render_progress

LOCALES_DIR = Path(__file__).with_name("locales")
DEFAULT_LANGUAGE = "es"


@cache
def _catalog(language: str) -> dict[str, str]:
    with (LOCALES_DIR / f"{language}.toml").open("rb") as fh:
        data = tomllib.load(fh)

    flat: dict[str, str] = {}

    def walk(prefix: str, node: dict[str, object]) -> None:
        for key, value in node.items():
            name = f"{prefix}{key}"
            if isinstance(value, dict):
                walk(f"{name}.", value)
            else:
                flat[name] = str(value)

    walk("", data)
    return flat


@cache
def _languages() -> tuple[str, ...]:
    # Read once: every text looks its language up here, and the files do not change.
    found = sorted(p.stem for p in LOCALES_DIR.glob("*.toml"))
    return tuple(sorted(found, key=lambda lang: lang != DEFAULT_LANGUAGE))


def languages() -> list[str]:
    """Languages with a text file, default first."""
    return list(_languages())


def pick_language(telegram_code: str | None) -> str:
    """Our language for a Telegram `language_code` like `en-GB`; Spanish by default."""
    if telegram_code:
        base = telegram_code.split("-")[0].lower()
        if base in _languages():
            return base
    return DEFAULT_LANGUAGE


class Html(str):
    """Text already in Telegram HTML (the output of `text`), inserted without escaping."""


def _safe(value: object) -> str:
    return value if isinstance(value, Html) else html.escape(str(value), quote=False)


def text(language: str, key: str, **values: object) -> Html:
    """The text `key` in `language` (falling back to Spanish) with escaped values."""
    catalog = _catalog(pick_language(language))
    template = catalog.get(key) or _catalog(DEFAULT_LANGUAGE)[key]
    return Html(template.format(**{name: _safe(value) for name, value in values.items()}))


def raw(language: str, key: str) -> str:
    """A text with no values, unescaped (button labels, command descriptions)."""
    catalog = _catalog(pick_language(language))
    return catalog.get(key) or _catalog(DEFAULT_LANGUAGE)[key]


def plain(language: str, key: str, **values: object) -> str:
    """A plain-text text with values, unescaped (button answers are not parsed as HTML)."""
    return raw(language, key).format(**values)


def state_name(language: str, state: OrderState) -> str:
    return raw(language, f"state.{state.value}")


def format_time(timestamp: float) -> str:
    """A UTC timestamp as `2026-11-23 18:04 UTC`."""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M UTC")


def format_age(seconds: float, language: str) -> str:
    """A short age: `45 s`, `12 min`, `26 h`, `3 d`."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 72 * 3600:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} d"


def status_message(order: Order, language: str | None = None) -> str:
    """The order's status message: id, what was ordered, progress bar and step."""
    lang = language or order.language
    lines = [
        text(lang, "order.status_title", id=order.id),
        f"<i>{html.escape(order.text, quote=False)}</i>",
    ]
    if order.total and order.currency:
        amount = money.format_amount(order.total, order.currency, lang)
        lines.append(text(lang, "shop.total", amount=amount))
    if order.payment_method == "cash":
        lines.append(text(lang, "pay.cash_note"))  # the staff collect it: "a cobrar"
    lines.append(render_progress(order.progress))
    if order.state in STEPS:
        lines.append(
            text(
                lang,
                "order.step_line",
                current=order.step,
                total=len(STEPS),
                step=state_name(lang, order.state),
            )
        )
    else:
        lines.append(text(lang, "order.state_line", state=state_name(lang, order.state)))
    if order.state is OrderState.FALLIDO and order.error:
        lines.append(text(lang, "order.reason_line", reason=failure_reason(lang, order.error)))
    return "\n".join(lines)


def failure_reason(language: str, error_code: str) -> Html:
    """Customer words for a failure code stored on the order (`code` or `code:detail`)."""
    code, _, detail = error_code.partition(":")
    key = f"failure.{code}"
    if key not in _catalog(DEFAULT_LANGUAGE):
        key = "failure.unknown"
    return text(language, key, detail=f" ({detail})" if detail else "")


def order_summary(order: Order, now: float, language: str | None = None) -> str:
    """The answer to `/estado <id>`: state, step, progress, times and any failure reason."""
    lang = language or order.language
    lines = [
        status_message(order, lang),
        text(lang, "order.created_line", at=format_time(order.created_at)),
    ]
    if order.finished_at:
        lines.append(text(lang, "order.finished_line", at=format_time(order.finished_at)))
    else:
        lines.append(text(lang, "order.age_line", age=format_age(now - order.created_at, lang)))
    return "\n".join(lines)


def order_list_line(order: Order, now: float, language: str) -> str:
    """One line of an order list: id, state, progress and age."""
    return text(
        language,
        "order.list_line",
        id=order.id,
        state=state_name(language, order.state),
        percent=order.progress,
        age=format_age(now - order.created_at, language),
        what=order.text if len(order.text) <= 40 else order.text[:39] + "…",
    )
