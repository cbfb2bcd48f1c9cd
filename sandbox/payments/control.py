"""The control API for payments: users paying invoices (and links), a modified client's
pre-checkout query, a declined card, a repeated successful_payment; charges and Stars."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from sandbox.control.common import (
    as_int,
    bot_of,
    chat_id_of,
    existing_chat,
    json_body,
    ok,
    sandbox_of,
    sender,
)
from sandbox.core import ControlError
from sandbox.model import Chat, User
from sandbox.payments.flow import (
    Payment,
    order_info_for,
    pay,
    repeat_successful_payment,
    validate_order_info,
)
from sandbox.payments.model import Invoice

TAMPERABLE = ("total_amount", "invoice_payload", "currency")


def _payment(request: web.Request, body: dict[str, Any], invoice: Invoice, user: User) -> Payment:
    tamper = {name: body[name] for name in TAMPERABLE if body.get(name) is not None}
    if "total_amount" in tamper:
        tamper["total_amount"] = as_int(tamper["total_amount"], "total_amount")
    option = body.get("shipping_option_id")
    payment = Payment(
        user=user,
        invoice=invoice,
        shipping_option_id=None if option in (None, "") else str(option),
        tip_amount=as_int(body.get("tip_amount") or 0, "tip_amount"),
        decline=bool(body.get("decline")),
        tamper=tamper,
    )
    info_id = body.get("order_info_id")
    if info_id:
        validated = bot_of(request).payments.validated.get(str(info_id))
        if validated is None or (validated.user_id, validated.invoice) != (user.id, invoice.key):
            raise ControlError(404, f"no validated order info {info_id} for this invoice")
        payment.order_info, payment.shipping_options = (
            validated.order_info,
            validated.shipping_options,
        )
    else:
        payment.order_info = order_info_for(invoice, body.get("order_info"))
    return payment


def _latest_invoice(request: web.Request, chat: Chat, message_id: Any) -> Invoice:
    invoices = bot_of(request).payments.invoices
    if message_id not in (None, ""):
        invoice = invoices.get((chat.id, as_int(message_id, "message_id")))
        if invoice is None:
            raise ControlError(404, f"no invoice message {message_id} in chat {chat.id}")
        return invoice
    for message in reversed(list(chat.messages.values())):
        invoice = invoices.get((chat.id, message.message_id))
        if invoice is not None and not message.deleted and invoice.paid_charge_id is None:
            return invoice
    raise ControlError(404, f"no unpaid invoice in chat {chat.id}")


async def pay_invoice(request: web.Request) -> web.Response:
    """POST /chats/{id}/pay: the user pays the chat's latest unpaid invoice (or message_id's)."""
    sb, bot = sandbox_of(request), bot_of(request)
    body = await json_body(request)
    chat = existing_chat(request)
    _, user = sender(sb, bot, chat_id_of(request), body.get("from"))
    invoice = _latest_invoice(request, chat, body.get("message_id"))
    return ok(await pay(sb, bot, _payment(request, body, invoice, user)))


async def validate(request: web.Request) -> web.Response:
    """POST /chats/{id}/order_info: the payment form's first step — the bot's shipping options
    for the address (flexible invoices) and an order_info_id to pay with."""
    sb, bot = sandbox_of(request), bot_of(request)
    body = await json_body(request)
    chat = existing_chat(request)
    _, user = sender(sb, bot, chat_id_of(request), body.get("from"))
    invoice = _latest_invoice(request, chat, body.get("message_id"))
    return ok(await validate_order_info(sb, bot, _payment(request, body, invoice, user)))


async def pay_link(request: web.Request) -> web.Response:
    """POST /invoice_links/{slug}/pay {"from": user, …}: a user pays an invoice link."""
    sb, bot = sandbox_of(request), bot_of(request)
    body = await json_body(request)
    invoice = bot.payments.links.get(request.match_info["slug"].lstrip("$"))
    if invoice is None:
        raise ControlError(404, "no such invoice link")
    spec = body.get("from")
    if not isinstance(spec, dict) or "id" not in spec:
        raise ControlError(400, "'from' (the paying user) is required")
    _, user = sender(sb, bot, as_int(spec["id"], "from.id"), spec)
    return ok(await pay(sb, bot, _payment(request, body, invoice, user)))


async def invoices(request: web.Request) -> web.Response:
    """GET /invoices?chat_id=: the bot's invoice messages (and links), newest last."""
    book = bot_of(request).payments
    wanted = request.query.get("chat_id")
    found = [
        invoice.to_control()
        for invoice in [*book.invoices.values(), *book.links.values()]
        if wanted in (None, "") or str(invoice.chat_id) == wanted
    ]
    return ok(found)


async def charges(request: web.Request) -> web.Response:
    """GET /payments: every successful payment, with its refund state."""
    return ok([charge.to_control() for charge in bot_of(request).payments.charges.values()])


async def repeat(request: web.Request) -> web.Response:
    """POST /payments/{charge_id}/repeat: the successful_payment message once more."""
    sb = sandbox_of(request)
    message = repeat_successful_payment(sb, bot_of(request), request.match_info["charge_id"])
    return ok(message.to_transcript(sb.base_url))


async def stars(request: web.Request) -> web.Response:
    """GET /stars: the bot's Telegram Stars transactions, oldest first, and its balance."""
    book = bot_of(request).payments
    balance = sum(
        item["amount"] if "source" in item else -item["amount"] for item in book.star_transactions
    )
    return ok({"balance": balance, "transactions": list(book.star_transactions)})


def routes() -> list[web.RouteDef]:
    """The payment routes (relative to the control API's prefix)."""
    return [
        web.post("/chats/{chat_id}/pay", pay_invoice),
        web.post("/chats/{chat_id}/order_info", validate),
        web.post("/invoice_links/{slug}/pay", pay_link),
        web.get("/invoices", invoices),
        web.get("/payments", charges),
        web.post("/payments/{charge_id}/repeat", repeat),
        web.get("/stars", stars),
    ]
