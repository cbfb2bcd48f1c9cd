"""A user paying an invoice, as Telegram runs it: the shipping query (flexible invoices), the
pre-checkout query the bot must answer within 10 s, the provider's charge, and the
successful_payment service message. The flow waits for the bot's answers on the event loop,
so the sandbox keeps serving the bot's calls (and everyone else's) meanwhile."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sandbox.core import ControlError
from sandbox.payments.currencies import STARS
from sandbox.payments.model import Charge, Invoice, PendingQuery, ValidatedInfo

if TYPE_CHECKING:
    from sandbox.bots import BotState
    from sandbox.core import Sandbox
    from sandbox.model import Chat, Message, User

# telegram-bot-api keeps shipping and pre-checkout updates 150 s, in a queue per user.
QUERY_UPDATE_TTL = 150
ADDRESS_FIELDS = ("country_code", "state", "city", "street_line1", "street_line2", "post_code")
REQUIRED_ADDRESS_FIELDS = ("country_code", "city", "street_line1", "post_code")
# SuccessfulPayment fields that a pre-checkout query carries too.
SUCCESSFUL_FIELDS = (
    "currency",
    "total_amount",
    "invoice_payload",
    "shipping_option_id",
    "order_info",
)


@dataclass
class Payment:
    """What the paying user does: who, which invoice, what they fill in, what goes wrong."""

    user: User
    invoice: Invoice
    order_info: dict[str, Any] = field(default_factory=dict)
    shipping_option_id: str | None = None
    tip_amount: int = 0
    decline: bool = False
    # A modified client's pre-checkout query: another total_amount, invoice_payload or currency.
    tamper: dict[str, Any] = field(default_factory=dict)
    # The options of an earlier validate_order_info (no second shipping query then).
    shipping_options: list[dict[str, Any]] | None = None


def order_info_for(invoice: Invoice, given: dict[str, Any] | None) -> dict[str, Any]:
    """The OrderInfo Telegram sends: only what the invoice asked for, all of it required."""
    given = given or {}
    wanted = {
        "name": invoice.need_name,
        "phone_number": invoice.need_phone_number,
        "email": invoice.need_email,
        "shipping_address": invoice.need_shipping_address,
    }
    info: dict[str, Any] = {}
    for name, needed in wanted.items():
        if not needed:
            continue
        if not given.get(name):
            raise ControlError(400, f"the invoice asks for order_info.{name}")
        info[name] = given[name]
    if "shipping_address" in info:
        info["shipping_address"] = _address(info["shipping_address"])
    return info


def _address(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        raise ControlError(400, "order_info.shipping_address must be an object")
    missing = [name for name in REQUIRED_ADDRESS_FIELDS if not value.get(name)]
    if missing:
        raise ControlError(400, f"order_info.shipping_address needs {', '.join(missing)}")
    return {name: str(value.get(name) or "") for name in ADDRESS_FIELDS}


async def ask_bot(
    sb: Sandbox, bot: BotState, user: User, kind: str, fields: dict[str, Any], timeout: float
) -> PendingQuery:
    """Send the bot a shipping or pre-checkout query and wait (without blocking) for its answer;
    an unanswered query is expired, so a late answer is refused."""
    loop = asyncio.get_running_loop()
    query = PendingQuery(str(secrets.randbits(63)), kind, user.id, loop.time())
    bot.payments.queries[query.id] = query
    payload = {"id": query.id, "from": user.to_api(), **fields}
    bot.push_update(kind, payload, queue=f"payment:{user.id}", ttl=QUERY_UPDATE_TTL)
    sb.events.publish(
        {"type": kind, "bot_id": bot.id, "chat_id": user.id, "query_id": query.id, **fields}
    )
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(query.done.wait(), timeout)
    query.expired = not query.answered
    return query


def _failed(stage: str, error: str | None, **more: Any) -> dict[str, Any]:
    return {"status": "failed", "stage": stage, "error": error or "", **more}


async def pay(sb: Sandbox, bot: BotState, payment: Payment) -> dict[str, Any]:
    """Run the payment to its end; the outcome is also shown in the chat (a `payment` event)."""
    invoice = payment.invoice
    if invoice.paid_charge_id is not None and invoice.message_id is not None:
        raise ControlError(409, "this invoice is paid already")
    if not 0 <= payment.tip_amount <= invoice.max_tip_amount:
        raise ControlError(400, f"tip_amount is 0 to {invoice.max_tip_amount}")
    outcome = await _run(sb, bot, payment)
    sb.events.publish(
        {
            "type": "payment",
            "bot_id": bot.id,
            "chat_id": invoice.chat_id if invoice.chat_id is not None else payment.user.id,
            "invoice_message_id": invoice.message_id,
            "user_id": payment.user.id,
            **{k: v for k, v in outcome.items() if k != "message"},
        }
    )
    return outcome


async def _run(sb: Sandbox, bot: BotState, payment: Payment) -> dict[str, Any]:
    invoice = payment.invoice
    shipping: dict[str, Any] | None = None
    if invoice.is_flexible:
        options = payment.shipping_options
        if options is None:
            asked = await ask_shipping(sb, bot, payment.user, invoice, payment.order_info)
            if isinstance(asked, dict):
                return asked
            options = asked
        shipping = _chosen(options, payment.shipping_option_id)
    fee = sum(int(price["amount"]) for price in shipping["prices"]) if shipping else 0
    fields: dict[str, Any] = {
        "currency": invoice.currency,
        "total_amount": invoice.total_amount + fee + payment.tip_amount,
        "invoice_payload": invoice.payload,
    }
    if shipping is not None:
        fields["shipping_option_id"] = shipping["id"]
    if payment.order_info:
        fields["order_info"] = payment.order_info
    fields.update(payment.tamper)
    query = await ask_bot(
        sb, bot, payment.user, "pre_checkout_query", fields, sb.precheckout_timeout
    )
    if not query.answered:
        return _failed("pre_checkout", "BOT_PRECHECKOUT_TIMEOUT", pre_checkout_query_id=query.id)
    if not query.ok:
        return _failed("pre_checkout", query.error_message, pre_checkout_query_id=query.id)
    if payment.decline:
        return _failed("provider", "CARD_DECLINED", pre_checkout_query_id=query.id)
    message = record_payment(sb, bot, payment, fields)
    return {
        "status": "paid",
        "pre_checkout_query_id": query.id,
        "message_id": message.message_id,
        "chat_id": message.chat.id,
        "successful_payment": message.extra["successful_payment"],
        "message": message.to_transcript(sb.base_url),
    }


async def ask_shipping(
    sb: Sandbox, bot: BotState, user: User, invoice: Invoice, order_info: dict[str, Any]
) -> list[dict[str, Any]] | dict[str, Any]:
    """The shipping options the bot offers for this address, or the failed outcome."""
    fields = {
        "invoice_payload": invoice.payload,
        "shipping_address": order_info["shipping_address"],
    }
    query = await ask_bot(sb, bot, user, "shipping_query", fields, sb.shipping_timeout)
    if not query.answered:
        return _failed("shipping", "BOT_RESPONSE_TIMEOUT", shipping_query_id=query.id)
    if not query.ok:
        return _failed("shipping", query.error_message, shipping_query_id=query.id)
    return query.shipping_options


def _chosen(options: list[dict[str, Any]], wanted: str | None) -> dict[str, Any]:
    """The option the user picks (the first one unless they say)."""
    wanted = wanted or options[0]["id"]
    for option in options:
        if option["id"] == wanted:
            return option
    ids = ", ".join(option["id"] for option in options)
    raise ControlError(400, f"no shipping option {wanted!r}; the bot offered {ids}")


async def validate_order_info(sb: Sandbox, bot: BotState, payment: Payment) -> dict[str, Any]:
    """The payment form's first step (TDLib's validateOrderInfo): the shipping query of a
    flexible invoice, its options kept under an order_info_id for the payment to use."""
    options: list[dict[str, Any]] = []
    if payment.invoice.is_flexible:
        asked = await ask_shipping(sb, bot, payment.user, payment.invoice, payment.order_info)
        if isinstance(asked, dict):
            return asked
        options = asked
    info_id = secrets.token_hex(8)
    bot.payments.validated[info_id] = ValidatedInfo(
        info_id, payment.user.id, payment.invoice.key, payment.order_info, options
    )
    return {"status": "validated", "order_info_id": info_id, "shipping_options": options}


def _charge_ids(bot: BotState, user: User, currency: str) -> tuple[str, str]:
    """Telegram's and the provider's charge ids; a Stars payment has no provider charge."""
    if currency == STARS:
        return "stx" + secrets.token_urlsafe(48), ""
    telegram = f"{bot.id}_{user.id}_{secrets.randbelow(10**12)}"
    return telegram, "ch_" + secrets.token_hex(12)


def record_payment(sb: Sandbox, bot: BotState, payment: Payment, fields: dict[str, Any]) -> Message:
    """The charge, the Stars transaction and the successful_payment service message."""
    user, invoice = payment.user, payment.invoice
    telegram_id, provider_id = _charge_ids(bot, user, str(fields["currency"]))
    successful: dict[str, Any] = {key: fields[key] for key in SUCCESSFUL_FIELDS if key in fields}
    now = int(sb.now())
    if invoice.subscription_period:
        successful["subscription_expiration_date"] = now + invoice.subscription_period
        successful.update(is_recurring=True, is_first_recurring=True)
    successful["telegram_payment_charge_id"] = telegram_id
    successful["provider_payment_charge_id"] = provider_id
    chat = sb.ensure_chat(bot, user.id, user=user)
    charge = Charge(
        telegram_id, provider_id, user.id, chat.id, str(fields["currency"]),
        int(fields["total_amount"]), str(fields["invoice_payload"]), now, successful,
    )  # fmt: skip
    bot.payments.charges[telegram_id] = charge
    invoice.paid_charge_id = telegram_id
    if charge.currency == STARS:
        bot.payments.star_transactions.append(star_transaction(charge, user, "source"))
    return service_message(sb, bot, chat, user, {"successful_payment": successful}, invoice)


def star_transaction(charge: Charge, user: User, side: str) -> dict[str, Any]:
    """A StarTransaction: the user as `source` of a payment, or as `receiver` of its refund."""
    partner = {"type": "user", "transaction_type": "invoice_payment", "user": user.to_api()}
    partner["invoice_payload"] = charge.invoice_payload
    return {
        "id": charge.telegram_payment_charge_id,
        "amount": charge.total_amount,
        "date": charge.date,
        side: partner,
    }


def service_message(
    sb: Sandbox,
    bot: BotState,
    chat: Chat,
    user: User,
    extra: dict[str, Any],
    invoice: Invoice | None = None,
) -> Message:
    """A payment service message from the user in their private chat, sent to the bot."""
    reply_to = None
    if invoice is not None and invoice.chat_id == chat.id and invoice.message_id is not None:
        reply_to = chat.messages.get(invoice.message_id)
    message = sb.add_message(bot, chat, user, extra=extra, reply_to=reply_to)
    sb.deliver(bot, message)
    return message


def repeat_successful_payment(sb: Sandbox, bot: BotState, charge_id: str) -> Message:
    """The same successful_payment again (same charge ids), as a retried delivery can bring."""
    charge = bot.payments.charges.get(charge_id)
    if charge is None:
        raise ControlError(404, f"no charge {charge_id}")
    chat = bot.chats[charge.chat_id]
    user = sb.users[charge.user_id]
    return service_message(sb, bot, chat, user, {"successful_payment": charge.successful_payment})
