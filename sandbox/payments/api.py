"""The Bot API's payment methods: sendInvoice, createInvoiceLink, answerShippingQuery,
answerPreCheckoutQuery, refundStarPayment and getStarTransactions."""

from __future__ import annotations

import secrets
from typing import Any

from sandbox.botapi.common import (
    bot_message,
    check_flood,
    check_reachable,
    reply_target,
    resolve_chat,
)
from sandbox.botapi.markup import validate_markup
from sandbox.botapi.params import Context, Params, bad
from sandbox.payments.currencies import STARS, currencies
from sandbox.payments.flow import service_message, star_transaction
from sandbox.payments.invoices import check_invoice, json_arg, labeled_prices, required_arg
from sandbox.payments.invoices import parse_invoice as parse
from sandbox.payments.model import Invoice, PendingQuery

# telegram-bot-api's words for Telegram's QUERY_ID_INVALID (late, repeated or unknown answer).
QUERY_INVALID = "query is too old and response timeout expired or query ID is invalid"


def _invoice_markup(params: Params, invoice: Invoice) -> dict[str, Any]:
    """The keyboard of an invoice message: a Pay button first, Telegram's own if none is given."""
    markup = validate_markup(
        params.get_json("reply_markup", "can't parse reply keyboard markup JSON object"),
        inline_only=True,
    )
    if markup is None:
        currency = currencies().get(invoice.currency)
        total = invoice.total_amount
        price = currency.format(total) if currency else f"{total} {invoice.currency}"
        return {"inline_keyboard": [[{"text": f"Pay {price}", "pay": True}]]}
    if not markup["inline_keyboard"][0][0].get("pay"):
        raise bad("REPLY_MARKUP_BUY_EMPTY")
    return markup


async def send_invoice(ctx: Context, params: Params) -> Any:
    """sendInvoice: an invoice message with a Pay button."""
    invoice = parse(params)
    chat = resolve_chat(ctx, params)
    markup = _invoice_markup(params, invoice)
    reply_to = reply_target(params, chat)
    check_reachable(ctx, chat)
    check_invoice(invoice, ctx.sandbox.provider_tokens)
    check_flood(ctx, chat)
    message = bot_message(
        ctx, chat, reply_markup=markup, reply_to=reply_to, extra={"invoice": invoice.to_api()}
    )
    invoice.chat_id, invoice.message_id = chat.id, message.message_id
    ctx.bot.payments.invoices[(chat.id, message.message_id)] = invoice
    return message.to_api()


async def create_invoice_link(ctx: Context, params: Params) -> Any:
    """createInvoiceLink: a t.me/$… link anyone can pay (subscriptions only here, in Stars)."""
    invoice = parse(params)
    check_invoice(invoice, ctx.sandbox.provider_tokens, link=True)
    invoice.slug = secrets.token_urlsafe(16)
    ctx.bot.payments.links[invoice.slug] = invoice
    return f"https://t.me/${invoice.slug}"


def _open_query(ctx: Context, params: Params, name: str, kind: str) -> PendingQuery:
    query = ctx.bot.payments.queries.get((params.get_str(name) or "").strip())
    if query is None or query.kind != kind or query.answered or query.expired:
        raise bad(QUERY_INVALID)
    return query


def _shipping_options(params: Params) -> list[dict[str, Any]]:
    """ShippingOption objects as Client::get_shipping_options reads them."""
    value = json_arg(
        params, "shipping_options", "Can't parse shipping options JSON object"
    )  # fmt: skip
    if not isinstance(value, list):
        raise bad("Expected an Array of shipping options")
    options = []
    for item in value:
        try:
            options.append(_shipping_option(item))
        except ValueError as exc:
            raise bad(f"Can't parse shipping option: {exc}") from exc
    if not options:
        raise bad("There must be at least one shipping option")
    return options


def _shipping_option(item: Any) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise ValueError("ShippingOption must be an Object")
    for name in ("id", "title"):
        if name not in item:
            raise ValueError(f'Can\'t find field "{name}"')
        if not isinstance(item[name], str):
            raise ValueError(f'Field "{name}" must be of type String')
    if not item["id"]:
        raise ValueError("ShippingOption identifier must be non-empty")
    if not item["title"]:
        raise ValueError("ShippingOption title must be non-empty")
    if not isinstance(item.get("prices"), list):
        raise ValueError('Field "prices" must be of type Array')
    try:
        prices = labeled_prices(item["prices"])
    except ValueError as exc:
        raise ValueError(f"Can't parse shipping option prices: {exc}") from exc
    return {"id": item["id"], "title": item["title"], "prices": prices}


async def answer_shipping_query(ctx: Context, params: Params) -> Any:
    """answerShippingQuery: options (each with id, title, prices) or an error_message."""
    ok = params.get_bool("ok")
    if ok:
        required_arg(params, "shipping_options")
        options = _shipping_options(params)
    else:
        error = required_arg(params, "error_message")
    query = _open_query(ctx, params, "shipping_query_id", "shipping_query")
    query.answered, query.ok = True, ok
    if ok:
        query.shipping_options = options
    else:
        query.error_message = error
    query.done.set()
    return True


async def answer_pre_checkout_query(ctx: Context, params: Params) -> Any:
    """answerPreCheckoutQuery: within 10 s of the query; error_message when not ok."""
    ok = params.get_bool("ok")
    error = None if ok else required_arg(params, "error_message")
    query = _open_query(ctx, params, "pre_checkout_query_id", "pre_checkout_query")
    query.answered, query.ok, query.error_message = True, ok, error
    query.done.set()
    return True


async def refund_star_payment(ctx: Context, params: Params) -> Any:
    """refundStarPayment: the Stars back to the user, once; a refunded_payment message."""
    raw_user = params.get_int("user_id") or 0
    if raw_user <= 0:
        raise bad("Invalid user_id specified")
    charge_id = required_arg(params, "telegram_payment_charge_id")
    user = ctx.sandbox.users.get(raw_user)
    charge = ctx.bot.payments.charges.get(charge_id)
    if user is None or charge is None or charge.user_id != user.id or charge.currency != STARS:
        raise bad("CHARGE_NOT_FOUND")
    if charge.refunded:
        raise bad("CHARGE_ALREADY_REFUNDED")
    charge.refunded = True
    ctx.bot.payments.star_transactions.append(star_transaction(charge, user, "receiver"))
    refunded = {
        "currency": charge.currency,
        "total_amount": charge.total_amount,
        "invoice_payload": charge.invoice_payload,
        "telegram_payment_charge_id": charge.telegram_payment_charge_id,
    }
    chat = ctx.sandbox.ensure_chat(ctx.bot, user.id, user=user)
    service_message(ctx.sandbox, ctx.bot, chat, user, {"refunded_payment": refunded})
    return True


async def get_star_transactions(ctx: Context, params: Params) -> Any:
    """getStarTransactions: the bot's Stars transactions, newest first."""
    offset = params.get_clamped("offset", 0, 0, 2**31 - 1)
    limit = params.get_clamped("limit", 100, 1, 100)
    newest_first = list(reversed(ctx.bot.payments.star_transactions))
    return {"transactions": newest_first[offset : offset + limit]}


METHODS = {
    "sendInvoice": send_invoice,
    "createInvoiceLink": create_invoice_link,
    "answerShippingQuery": answer_shipping_query,
    "answerPreCheckoutQuery": answer_pre_checkout_query,
    "refundStarPayment": refund_star_payment,
    "getStarTransactions": get_star_transactions,
}
