"""Payments with an unmodified python-telegram-bot Bot: its invoices, its ShippingQuery and
PreCheckoutQuery objects and their answer() shortcuts, SuccessfulPayment, Stars refunds."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from telegram import Bot, LabeledPrice, ShippingOption, Update
from telegram.error import BadRequest

from sandbox.client import SandboxClient
from sandbox.payments import DEFAULT_PROVIDER_TOKEN
from tests.sandbox.payments_support import ADDRESS, ORDER_INFO


async def next_update(bot: Bot, kind: str, offset: list[int]) -> Update:
    """The next update carrying `kind`, confirming what comes before it."""
    for _ in range(10):
        for update in await bot.get_updates(offset=offset[0], timeout=2):
            offset[0] = update.update_id + 1
            if getattr(update, kind) is not None:
                return update
    raise AssertionError(f"no {kind}")


async def test_ptb_pays_a_flexible_invoice(bot: Bot, sandbox: SandboxClient) -> None:
    chat = sandbox.private_chat(user_id=1001, first_name="Ana")
    sent = await bot.send_invoice(
        1001,
        "Pedido P-7K2Q4F",
        "2 pizzas margarita",
        "P-7K2Q4F.sig",
        "EUR",
        [LabeledPrice("2 pizzas", 1800)],
        provider_token=DEFAULT_PROVIDER_TOKEN,
        need_name=True,
        need_phone_number=True,
        is_flexible=True,
    )
    assert sent.invoice is not None and sent.invoice.total_amount == 1800
    offset = [0]
    paying = asyncio.create_task(asyncio.to_thread(chat.pay, order_info=ORDER_INFO))

    shipping = (await next_update(bot, "shipping_query", offset)).shipping_query
    assert shipping is not None and shipping.shipping_address.post_code == ADDRESS["post_code"]
    option = ShippingOption("centro", "Reparto centro", [LabeledPrice("Envío", 250)])
    assert await shipping.answer(ok=True, shipping_options=[option])

    query = (await next_update(bot, "pre_checkout_query", offset)).pre_checkout_query
    assert query is not None
    assert (query.currency, query.total_amount, query.shipping_option_id) == ("EUR", 2050, "centro")
    assert query.order_info is not None and query.order_info.name == "Ana Pérez"
    assert await query.answer(ok=True)
    assert (await paying)["status"] == "paid"

    paid = (await next_update(bot, "message", offset)).message
    assert paid is not None and paid.successful_payment is not None
    assert paid.successful_payment.total_amount == 2050
    assert paid.successful_payment.provider_payment_charge_id.startswith("ch_")
    info = paid.successful_payment.order_info
    assert info is not None and info.shipping_address is not None
    assert info.shipping_address.city == "Madrid"


async def test_ptb_stars_refund_and_transactions(bot: Bot, sandbox: SandboxClient) -> None:
    chat = sandbox.private_chat(user_id=1001, first_name="Ana")
    await bot.send_invoice(
        1001, "Receta", "La receta en PDF", "R-1", "XTR", [LabeledPrice("Receta", 50)]
    )
    offset = [0]
    paying = asyncio.create_task(asyncio.to_thread(chat.pay))
    query = (await next_update(bot, "pre_checkout_query", offset)).pre_checkout_query
    assert query is not None and query.total_amount == 50
    await query.answer(ok=True)
    result: dict[str, Any] = await paying
    charge_id = result["successful_payment"]["telegram_payment_charge_id"]

    assert await bot.refund_star_payment(1001, charge_id)
    refunded = (await next_update(bot, "message", offset)).message
    while refunded is not None and refunded.refunded_payment is None:
        refunded = (await next_update(bot, "message", offset)).message
    assert refunded is not None and refunded.refunded_payment is not None
    assert refunded.refunded_payment.telegram_payment_charge_id == charge_id
    with pytest.raises(BadRequest, match=r"(?i)charge_already_refunded"):
        await bot.refund_star_payment(1001, charge_id)

    history = await bot.get_star_transactions()
    assert [t.id for t in history.transactions] == [charge_id, charge_id]
    assert history.transactions[0].receiver is not None
    assert history.transactions[1].source is not None


async def test_ptb_invoice_rules_and_links(bot: Bot, sandbox: SandboxClient) -> None:
    sandbox.private_chat(user_id=1001, first_name="Ana")
    with pytest.raises(BadRequest, match=r"(?i)stars_invoice_invalid"):
        await bot.send_invoice(1001, "t", "d", "p", "XTR", [LabeledPrice("a", 1)] * 2)
    with pytest.raises(BadRequest, match=r"(?i)currency_total_amount_invalid"):
        await bot.send_invoice(
            1001, "t", "d", "p", "USD", [LabeledPrice("a", 50)], DEFAULT_PROVIDER_TOKEN
        )
    link = await bot.create_invoice_link(
        "Club", "Receta nueva cada mes", "club", "XTR", [LabeledPrice("Mes", 100)],
        subscription_period=2592000,
    )  # fmt: skip
    assert link.startswith("https://t.me/$")
    with pytest.raises(BadRequest, match=r"(?i)total price must be positive"):
        await bot.create_invoice_link("t", "d", "p", "XTR", [LabeledPrice("a", 0)])
