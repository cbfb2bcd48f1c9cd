"""sendInvoice and createInvoiceLink's parameters, checked in the order Telegram checks them:
telegram-bot-api's get_input_message_invoice, then TDLib's process_input_message_invoice, then
Telegram's own limits (lengths, currency, provider, Stars, totals)."""

from __future__ import annotations

import itertools
import json
from typing import Any

from sandbox.botapi.params import Params, bad
from sandbox.payments.currencies import STARS, currencies
from sandbox.payments.model import Invoice

# TDLib's check_currency_amount: no amount above 9999'9999'9999 minor units.
MAX_AMOUNT = 9999_9999_9999
# createInvoiceLink's subscription_period: "currently, it must always be 2592000 (30 days)".
SUBSCRIPTION_PERIOD = 2592000
MAX_TITLE = 32
MAX_DESCRIPTION = 255
MAX_PAYLOAD_BYTES = 128
MAX_TIPS = 4


def required_arg(params: Params, name: str) -> str:
    value = params.get_str(name)
    if not value:
        raise bad(f'Parameter "{name}" is required')
    return value


def json_arg(params: Params, name: str, error: str) -> Any:
    value = params.raw(name)
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError as exc:
            raise bad(error) from exc
    return value


def _long_field(item: dict[str, Any], name: str) -> int:
    """TDLib's get_required_long_field: a JSON number or a string holding an integer."""
    if name not in item:
        raise ValueError(f'Can\'t find field "{name}"')
    value = item[name]
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f'Field "{name}" must be a Number')
    try:
        if isinstance(value, float):
            raise ValueError
        return int(str(value).strip())
    except ValueError as exc:
        raise ValueError(f'Field "{name}" must be a valid Number') from exc


def _string_field(item: dict[str, Any], name: str) -> str:
    if name not in item:
        raise ValueError(f'Can\'t find field "{name}"')
    if not isinstance(item[name], str):
        raise ValueError(f'Field "{name}" must be of type String')
    return item[name]


def labeled_prices(value: Any) -> list[dict[str, Any]]:
    """An Array of LabeledPrice (Client::get_labeled_price_parts); ValueError with its words."""
    if not isinstance(value, list):
        raise ValueError("Expected an Array of labeled prices")
    prices = []
    for item in value:
        try:
            if not isinstance(item, dict):
                raise ValueError("LabeledPrice must be an Object")
            label = _string_field(item, "label")
            if not label:
                raise ValueError("LabeledPrice label must be non-empty")
            prices.append({"label": label, "amount": _long_field(item, "amount")})
        except ValueError as exc:
            raise ValueError(f"Can't parse labeled price: {exc}") from exc
    if not prices:
        raise ValueError("There must be at least one price")
    return prices


def _prices(params: Params) -> list[dict[str, Any]]:
    required_arg(params, "prices")
    try:
        return labeled_prices(json_arg(params, "prices", "Can't parse prices JSON object"))
    except ValueError as exc:
        raise bad(str(exc)) from exc


def _tips(params: Params) -> tuple[int, list[int]]:
    """max_tip_amount and suggested_tip_amounts as the Bot API reads them."""
    max_tip = 0
    raw_max = params.get_str("max_tip_amount")
    if raw_max:
        try:
            max_tip = int(raw_max.strip())
        except ValueError as exc:
            raise bad('Can\'t parse "max_tip_amount" as Number') from exc
    tips: list[int] = []
    if params.get_str("suggested_tip_amounts"):
        value = json_arg(params, "suggested_tip_amounts", _TIPS_JSON)
        if not isinstance(value, list):
            raise bad("Expected an Array of suggested tip amounts")
        tips = [_tip(amount) for amount in value]
    return max_tip, tips


_TIPS_JSON = "Can't parse suggested_tip_amounts JSON object"


def _tip(amount: Any) -> int:
    if isinstance(amount, bool) or not isinstance(amount, int | float | str):
        raise bad("Suggested tip amount must be of type Number or String")
    try:
        if isinstance(amount, float):
            raise ValueError
        return int(str(amount).strip())
    except ValueError as exc:
        raise bad("Can't parse suggested tip amount as Number") from exc


def _check_amounts(invoice: Invoice) -> None:
    """TDLib's checks of the prices, the total and the tips."""
    if any(abs(int(price["amount"])) > MAX_AMOUNT for price in invoice.prices):
        raise bad("Too big amount of the currency specified")
    total = invoice.total_amount
    if total <= 0:
        raise bad("Total price must be positive")
    if total > MAX_AMOUNT:
        raise bad("Total price is too big")
    if invoice.max_tip_amount < 0 or invoice.max_tip_amount > MAX_AMOUNT:
        raise bad("Invalid max_tip_amount of the currency specified")
    for tip in invoice.suggested_tip_amounts:
        if tip <= 0:
            raise bad("Suggested tip amount must be positive")
        if tip > invoice.max_tip_amount:
            raise bad("Suggested tip amount can't be bigger than max_tip_amount")
    if len(invoice.suggested_tip_amounts) > MAX_TIPS:
        raise bad("There can be at most 4 suggested tip amounts")


def _check_telegram_limits(invoice: Invoice, provider_tokens: set[str], link: bool) -> None:
    """What Telegram's servers refuse once TDLib let the invoice through."""
    if not 1 <= len(invoice.title) <= MAX_TITLE:
        raise bad("TITLE_INVALID")
    if not 1 <= len(invoice.description) <= MAX_DESCRIPTION:
        raise bad("DESCRIPTION_INVALID")
    if not 1 <= len(invoice.payload.encode()) <= MAX_PAYLOAD_BYTES:
        raise bad("INVOICE_PAYLOAD_INVALID")
    currency = currencies().get(invoice.currency)
    if currency is None:
        raise bad("CURRENCY_INVALID")
    if invoice.currency == STARS:
        tipped = invoice.max_tip_amount or invoice.suggested_tip_amounts
        if invoice.provider_token or len(invoice.prices) != 1 or tipped:
            raise bad("STARS_INVOICE_INVALID")
    elif invoice.provider_token not in provider_tokens:
        raise bad("PAYMENT_PROVIDER_INVALID")
    tips = invoice.suggested_tip_amounts
    if any(later <= earlier for earlier, later in itertools.pairwise(tips)):
        raise bad("SUGGESTED_TIP_AMOUNTS_INVALID")
    if not currency.min_amount <= invoice.total_amount <= currency.max_amount:
        raise bad("CURRENCY_TOTAL_AMOUNT_INVALID")
    _check_subscription(invoice, link)


def _check_subscription(invoice: Invoice, link: bool) -> None:
    if not invoice.subscription_period:
        return
    if not link:
        # A subscription is sold through an invoice link only, never an invoice message.
        raise bad("SUBSCRIPTION_EXPORT_MISSING")
    if invoice.currency != STARS or invoice.subscription_period != SUBSCRIPTION_PERIOD:
        raise bad("SUBSCRIPTION_PERIOD_INVALID")


def parse_invoice(params: Params) -> Invoice:
    """The invoice a sendInvoice or createInvoiceLink call describes, as the Bot API reads it."""
    title = required_arg(params, "title")
    description = required_arg(params, "description")
    payload = required_arg(params, "payload")
    currency = required_arg(params, "currency")
    prices = _prices(params)
    max_tip, tips = _tips(params)
    stars = currency == STARS
    flexible = params.get_bool("is_flexible") and not stars
    invoice = Invoice(
        title=title,
        description=description,
        payload=payload,
        currency=currency,
        prices=prices,
        provider_token=params.get_str("provider_token") or "",
        max_tip_amount=max_tip,
        suggested_tip_amounts=tips,
        start_parameter=params.get_str("start_parameter") or "",
        # Ignored for Telegram Stars, as the Bot API documents; TDLib makes a flexible invoice
        # ask for the shipping address, and asking to send the phone or email asks for them.
        need_name=params.get_bool("need_name") and not stars,
        need_phone_number=_needs(params, "need_phone_number", "send_phone_number_to_provider"),
        need_email=_needs(params, "need_email", "send_email_to_provider"),
        need_shipping_address=(params.get_bool("need_shipping_address") or flexible) and not stars,
        is_flexible=flexible,
        subscription_period=params.get_clamped("subscription_period", 0, 0, 2**31 - 1),
        photo_url=params.get_str("photo_url"),
    )
    invoice.need_phone_number &= not stars
    invoice.need_email &= not stars
    return invoice


def check_invoice(invoice: Invoice, provider_tokens: set[str], link: bool = False) -> None:
    """TDLib's checks, then Telegram's (a subscription only on an invoice `link`)."""
    _check_amounts(invoice)
    _check_telegram_limits(invoice, provider_tokens, link)


def _needs(params: Params, name: str, to_provider: str) -> bool:
    return params.get_bool(name) or params.get_bool(to_provider)
