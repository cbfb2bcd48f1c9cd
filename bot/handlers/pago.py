"""Telegram Payments in the bot: the pre-checkout answer, the successful payment, /paysupport
and /terms.

The pre-checkout query is answered here, in the bot process, within Telegram's 10 s whatever
else is going on: it takes no per-chat line or slot (bot.fairness), its handler does not block
other updates, and it only reads the database (no Celery round trip). A successful payment is
recorded once (its charge id is unique): a repeated update or a second message with the same
charge id records nothing and sends nothing."""

from __future__ import annotations

import asyncio
import logging
import time

from telegram import LabeledPrice, OrderInfo, ShippingOption, Update

from bot.context import BotContext
from core import metrics, money, texts
from core.db.engine import is_outage
from core.orders.model import Order
from core.payments.checks import is_shipped, payload_order, precheckout_problem, shipping_fee
from core.payments.store import Paid, Recording
from core.payments.zones import options_for
from tasks import payments as payment_tasks
from tasks import receipts as receipt_tasks

log = logging.getLogger(__name__)

# Waits between tries to record a payment while the database is unreachable (about 30 s).
RECORD_RETRY_DELAYS = (0.5, 1.0, 2.0, 4.0, 8.0, 15.0)


async def pre_checkout(update: Update, context: BotContext) -> None:
    query = update.pre_checkout_query
    if query is None:
        return
    started = time.monotonic()
    svc, user = context.services, query.from_user
    order_id = payload_order(query.invoice_payload, user.id)
    found = await svc.run(svc.payments.checkout, order_id) if order_id else None
    fee = _fee(context, found.order, query.shipping_option_id, query.order_info) if found else 0
    problem = precheckout_problem(
        found,
        user.id,
        query.currency,
        query.total_amount,
        time.time(),
        svc.settings.invoice_ttl,
        fee,
    )
    if problem is None:
        await query.answer(ok=True)
        metrics.precheckout_answered(time.monotonic() - started)
        log.info("order=%s pre-checkout accepted", order_id)
        return
    lang = texts.pick_language(user.language_code)
    log.warning("order=%s pre-checkout refused: %s", order_id or "?", problem)
    await query.answer(ok=False, error_message=texts.plain(lang, f"pay.error.{problem}"))
    metrics.precheckout_answered(time.monotonic() - started)
    metrics.precheckout_refused(problem)


async def shipping(update: Update, context: BotContext) -> None:
    """The shipping options for the address: one per delivery zone it is in, or a refusal."""
    query = update.shipping_query
    if query is None:
        return
    svc, user, where = context.services, query.from_user, query.shipping_address
    lang = texts.pick_language(user.language_code)
    order_id = payload_order(query.invoice_payload, user.id)
    found = await svc.run(svc.payments.checkout, order_id) if order_id else None
    settings = svc.settings
    zones = settings.delivery_zones
    if found is None or not is_shipped(found.order, zones, settings.shop_currency):
        await query.answer(ok=False, error_message=texts.plain(lang, "pay.error.unknown"))
        return
    offered = options_for(zones, where.post_code, where.city)
    if not offered:
        await query.answer(ok=False, error_message=texts.plain(lang, "pay.error.shipping"))
        return
    label = texts.raw(lang, "pay.delivery_label")
    options = [
        ShippingOption(oid, zone.name, [LabeledPrice(label, zone.fee)]) for oid, zone in offered
    ]
    await query.answer(ok=True, shipping_options=options)


def _fee(
    context: BotContext, order: Order, chosen: str | None, info: OrderInfo | None
) -> int | None:
    settings = context.services.settings
    where = info.shipping_address if info else None
    post_code, city = (where.post_code, where.city) if where else ("", "")
    return shipping_fee(
        order, settings.delivery_zones, settings.shop_currency, chosen or "", post_code, city
    )


def _address(info: OrderInfo | None) -> str:
    where = info.shipping_address if info else None
    if where is None:
        return ""
    parts = (where.street_line1, where.street_line2, where.post_code, where.city, where.state)
    return ", ".join(part for part in (*parts, where.country_code) if part)


async def successful_payment(update: Update, context: BotContext) -> None:
    message = update.effective_message
    if message is None or message.successful_payment is None or message.from_user is None:
        return
    svc, user, sp = context.services, message.from_user, message.successful_payment
    order_id = payload_order(sp.invoice_payload, user.id)
    if order_id is None:
        # Only the bot signs payloads: a payment for none of ours is for the staff to see.
        log.error("payment %s names no order of ours", sp.telegram_payment_charge_id)
        return
    info = sp.order_info
    found = await context.services.run(svc.payments.checkout, order_id)
    fee = _fee(context, found.order, sp.shipping_option_id, info) if found else 0
    paid = Paid(
        order_id=order_id,
        user_id=user.id,
        currency=sp.currency,
        total_amount=sp.total_amount,
        payload=sp.invoice_payload,
        telegram_payment_charge_id=sp.telegram_payment_charge_id,
        provider_payment_charge_id=sp.provider_payment_charge_id or "",
        shipping_option_id=sp.shipping_option_id or "",
        name=(info.name or "") if info else "",
        phone=(info.phone_number or "") if info else "",
        address=_address(info),
        email=(info.email or "") if info else "",
        # An option never offered adds nothing: validar_pago then holds the order for review.
        shipping_fee=fee or 0,
    )
    recording = await _record(context, paid)
    if recording is None or not recording.new:
        log.info("order=%s payment %s seen before", order_id, sp.telegram_payment_charge_id)
        return
    order = await svc.run(svc.store.get, order_id)
    if not recording.moved:
        # Paid when it no longer awaited payment (cancelled or expired at that moment, or an
        # order paid twice): this payment goes back (a card one is shown to the staff as due).
        charge = sp.telegram_payment_charge_id
        log.error("order=%s paid while %s: charge %s refunded", order_id, order.state, charge)
        await svc.run(payment_tasks.reembolsar.delay, order_id, "pago sin pedido", charge)
        return
    # Queued first: the thank-you may wait for a busy chat, the chain should not.
    await svc.start_order(order_id)
    # Before the thank-you, which a busy chat may hand over to the workers (ending here).
    if recording.receipt_id:
        await _send_receipt(context, recording.receipt_id)
    amount = money.format_amount(sp.total_amount, sp.currency, order.language)
    await message.reply_html(texts.text(order.language, "pay.paid", amount=amount, id=order_id))


async def _send_receipt(context: BotContext, receipt_id: int) -> None:
    """Queue the receipt issued with the payment; when Redis refuses, the recovery sweep
    queues it from the pending starts (core.recovery.starts) instead."""
    svc = context.services
    try:
        await svc.run(receipt_tasks.dispatch, receipt_id, svc.starts)
    except Exception:
        log.exception("receipt %s not queued now: the sweep will", receipt_id)


async def refunded_payment(update: Update, context: BotContext) -> None:
    """Telegram says a Stars payment went back. Usually our own refund, already recorded;
    otherwise refunded outside the bot (the owner's own tools, or our refund task died between
    Telegram's answer and its record): recorded and the customer told once, through the one
    refund path, where CHARGE_ALREADY_REFUNDED counts as done (a race with our own record
    changes nothing: the refund row and the customer's message are each once)."""
    message = update.effective_message
    if message is None or message.refunded_payment is None:
        return
    svc, charge = context.services, message.refunded_payment.telegram_payment_charge_id
    payment = await svc.run(svc.payments.payment_by_charge, charge)
    if payment is None:
        log.error("refunded_payment for a charge never recorded: %s", charge)
        return
    if await svc.run(svc.payments.is_refunded, payment.id):
        return
    log.warning("order=%s refunded outside the bot: charge %s", payment.order_id, charge)
    await svc.run(payment_tasks.reembolsar.delay, payment.order_id, "refunded_payment", charge)


async def _record(context: BotContext, paid: Paid) -> Recording | None:
    """Record the payment, trying again while the database is unreachable: Telegram sends a
    successful_payment once, so giving up too early leaves money taken and not recorded."""
    svc = context.services
    for delay in (*RECORD_RETRY_DELAYS, None):
        try:
            return await svc.run(svc.payments.record, paid)
        except Exception as exc:
            if not is_outage(exc) or delay is None:
                # Logged with what the staff need to reconcile it by hand (nothing personal).
                log.critical(
                    "order=%s payment NOT recorded: charge=%s provider_charge=%s %s %s",
                    paid.order_id,
                    paid.telegram_payment_charge_id,
                    paid.provider_payment_charge_id,
                    paid.total_amount,
                    paid.currency,
                )
                raise
            log.warning(
                "order=%s payment not recorded yet (%r), again in %s s", paid.order_id, exc, delay
            )
            await asyncio.sleep(delay)
    return None


async def paysupport(update: Update, context: BotContext) -> None:
    await _answer_with(update, context.services.settings.payment_support_text, "pay.support")


async def terms(update: Update, context: BotContext) -> None:
    await _answer_with(update, context.services.settings.payment_terms_text, "pay.terms")


async def _answer_with(update: Update, configured: str, default_key: str) -> None:
    message, user = update.effective_message, update.effective_user
    if message is None:
        return
    lang = texts.pick_language(user.language_code if user else None)
    # The shop's own text (plain, as set), or ours.
    await message.reply_text(configured or texts.plain(lang, default_key))
