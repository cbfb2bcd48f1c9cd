"""Status texts and the progress bar as the customer reads them."""

from __future__ import annotations

import pytest

from core import texts
from core.orders.model import Order
from core.orders.states import OrderState
from core.progress import render_progress


@pytest.mark.parametrize(
    ("percent", "bar"),
    [
        (0, "▱▱▱▱▱▱▱▱▱▱ 0%"),
        (33, "▰▰▰▱▱▱▱▱▱▱ 33%"),
        (99, "▰▰▰▰▰▰▰▰▰▱ 99%"),
        (100, "▰▰▰▰▰▰▰▰▰▰ 100%"),
        (140, "▰▰▰▰▰▰▰▰▰▰ 100%"),
        (-5, "▱▱▱▱▱▱▱▱▱▱ 0%"),
    ],
)
def test_progress_bar(percent: int, bar: str) -> None:
    assert render_progress(percent) == bar


def make_order(**fields: object) -> Order:
    base: dict[str, object] = {"id": "P-7K2Q4F", "chat_id": 1, "user_id": 1, "text": "2 pizzas"}
    base.update(fields)
    return Order(**base)  # type: ignore[arg-type]


def test_status_message_shows_step_and_bar() -> None:
    order = make_order(state=OrderState.PREPARANDO_ENVIO, step=2, progress=33)
    shown = texts.status_message(order)
    assert "P-7K2Q4F" in shown
    assert "▰▰▰▱▱▱▱▱▱▱ 33%" in shown
    assert "Paso 2/3: preparando envío" in shown


def test_markup_in_customer_text_is_escaped() -> None:
    shown = texts.status_message(make_order(text="<b>2</b> & <a href='x'>pizzas</a>"))
    assert "<b>2</b>" not in shown
    assert "&lt;b&gt;2&lt;/b&gt; &amp; &lt;a href='x'&gt;pizzas&lt;/a&gt;" in shown


def test_failure_reason_in_customer_words_both_languages() -> None:
    order = make_order(state=OrderState.FALLIDO, error="payment_declined:<tarjeta>")
    assert "el pago fue rechazado (&lt;tarjeta&gt;)" in texts.status_message(order)
    assert "the payment was declined (&lt;tarjeta&gt;)" in texts.status_message(order, "en")


def test_unknown_failure_code_still_reads_well() -> None:
    assert "problema inesperado" in texts.failure_reason("es", "something_new")


@pytest.mark.parametrize(
    ("code", "lang"), [("en-GB", "en"), ("es-MX", "es"), ("fr", "es"), (None, "es")]
)
def test_language_follows_telegram_with_spanish_default(code: str | None, lang: str) -> None:
    assert texts.pick_language(code) == lang


def test_every_language_has_every_text() -> None:
    spanish = set(texts._catalog("es"))
    for language in texts.languages():
        assert set(texts._catalog(language)) == spanish, language


@pytest.mark.parametrize(
    ("seconds", "shown"), [(5, "5 s"), (125, "2 min"), (26 * 3600, "26 h"), (4 * 86400, "4 d")]
)
def test_ages(seconds: int, shown: str) -> None:
    assert texts.format_age(seconds, "es") == shown
