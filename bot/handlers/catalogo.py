"""Staff commands on the catalogue: /catalogo (the catalogue as its CSV), and the quick edits
/precio SKU 12.50, /stock SKU 10 (∞: unlimited) and /agotado SKU (stock 0).

A catalogue file sent as a document is bot.handlers.catalogo_csv.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TypeVar

from telegram import InputFile
from telegram.error import RetryAfter

from bot.context import BotContext, Incoming, on_message
from bot.handlers.common import command_argument
from core import texts
from core.catalogue import EditError, Product, parse_price_edit, parse_sold_out, parse_stock_edit
from core.catalogue.csvfile import write_catalogue
from core.catalogue.store import CatalogueStore
from core.money import MoneyError, format_amount

log = logging.getLogger(__name__)
T = TypeVar("T")

EXPORT_NAME = "catalogo-{day}.csv"
# Excel opens a UTF-8 CSV as UTF-8 only when it starts with a BOM (parse_catalogue drops it).
BOM = "\ufeff"
# A file cannot be handed to the workers as a busy chat's text replies are
# (bot.rate_limiter): it waits for the chat's slot, this many times at most.
SEND_TRIES = 3


async def patiently(send: Callable[[], Awaitable[T]]) -> T:
    """`send()`, waiting out the chat's flood limit (RetryAfter) up to SEND_TRIES times."""
    for attempt in range(1, SEND_TRIES + 1):
        try:
            return await send()
        except RetryAfter as exc:
            if attempt == SEND_TRIES:
                raise
            wait = exc.retry_after
            await asyncio.sleep(wait.total_seconds() if isinstance(wait, timedelta) else wait)
    raise AssertionError("unreachable")


def catalogue_of(context: BotContext) -> CatalogueStore:
    """The catalogue in the system of record the bot was started with (the one instance, so
    the matching index sees the staff's changes at once)."""
    return context.services.catalogue


@on_message
async def catalogo(incoming: Incoming, context: BotContext) -> None:
    """The whole catalogue as the CSV an import reads, to edit and send back."""
    svc, lang = context.services, incoming.lang
    products = await svc.run(catalogue_of(context).all)
    data = (BOM + write_catalogue(products)).encode()
    day = time.strftime("%Y-%m-%d", time.gmtime())
    key = "catalogue.staff.export_caption" if products else "catalogue.staff.export_empty"
    caption = texts.text(lang, key, count=len(products))
    await patiently(
        lambda: incoming.message.reply_document(
            InputFile(data, filename=EXPORT_NAME.format(day=day)),
            caption=caption,
            parse_mode="HTML",
        )
    )
    log.info("catalogue exported chat=%s products=%s", incoming.chat.id, len(products))


def _stock_text(lang: str, stock: int | None) -> str:
    return texts.raw(lang, "catalogue.staff.unlimited") if stock is None else str(stock)


async def _refuse_edit(incoming: Incoming, command: str, exc: EditError) -> None:
    lang = incoming.lang
    usage = texts.text(lang, f"catalogue.usage.{command}")
    if exc.code == "usage":
        await incoming.message.reply_html(usage)
        return
    reason = texts.text(lang, f"catalogue.reason.{exc.code}", detail="")
    await incoming.message.reply_html(f"❌ {reason}\n{usage}")


async def _product(incoming: Incoming, context: BotContext, sku: str) -> Product | None:
    """The product, or None after telling the staff member there is no such SKU."""
    product = await context.services.run(catalogue_of(context).get, sku)
    if product is None:
        await incoming.message.reply_html(
            texts.text(incoming.lang, "catalogue.staff.unknown_sku", sku=sku)
        )
    return product


@on_message
async def precio(incoming: Incoming, context: BotContext) -> None:
    """/precio SKU 12.50: a new price, in the product's currency."""
    lang = incoming.lang
    try:
        edit = parse_price_edit(command_argument(incoming.message))
    except EditError as exc:
        await _refuse_edit(incoming, "precio", exc)
        return
    product = await _product(incoming, context, edit.sku)
    if product is None:
        return
    try:
        price = edit.price(product.currency)
    except MoneyError as exc:
        reason = texts.text(lang, f"money.error.{exc.code}", **exc.values)
        usage = texts.text(lang, "catalogue.usage.precio")
        await incoming.message.reply_html(f"❌ {reason}\n{usage}")
        return
    if not await context.services.run(catalogue_of(context).set_price, product.sku, price):
        await _product(incoming, context, product.sku)  # withdrawn meanwhile: says so
        return
    log.info(
        "price sku=%s %s -> %s by user=%s", product.sku, product.price, price, incoming.user.id
    )
    await incoming.message.reply_html(
        texts.text(
            lang,
            "catalogue.staff.price_set",
            sku=product.sku,
            name=product.name(lang),
            old=format_amount(product.price, product.currency, lang),
            new=format_amount(price, product.currency, lang),
        )
    )


async def _set_stock(
    incoming: Incoming, context: BotContext, sku: str, stock: int | None, key: str
) -> None:
    product = await _product(incoming, context, sku)
    if product is None:
        return
    if not await context.services.run(catalogue_of(context).set_stock, product.sku, stock):
        await _product(incoming, context, product.sku)
        return
    log.info("stock sku=%s %s -> %s by user=%s", sku, product.stock, stock, incoming.user.id)
    lang = incoming.lang
    await incoming.message.reply_html(
        texts.text(
            lang,
            key,
            sku=product.sku,
            name=product.name(lang),
            old=_stock_text(lang, product.stock),
            new=_stock_text(lang, stock),
        )
    )


@on_message
async def stock(incoming: Incoming, context: BotContext) -> None:
    """/stock SKU 10, or /stock SKU ∞ for no limit."""
    try:
        edit = parse_stock_edit(command_argument(incoming.message))
    except EditError as exc:
        await _refuse_edit(incoming, "stock", exc)
        return
    await _set_stock(incoming, context, edit.sku, edit.stock, "catalogue.staff.stock_set")


@on_message
async def agotado(incoming: Incoming, context: BotContext) -> None:
    """/agotado SKU: sold out (stock 0) until /stock gives it units again."""
    try:
        sku = parse_sold_out(command_argument(incoming.message))
    except EditError as exc:
        await _refuse_edit(incoming, "agotado", exc)
        return
    await _set_stock(incoming, context, sku, 0, "catalogue.staff.sold_out")
