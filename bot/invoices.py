"""An order paid through Telegram: stored awaiting payment (its stock reserved, its chain not
started) and sent its invoice; the chain starts when the payment is recorded
(bot.handlers.pago). The invoice is sent once per order: a double tap finds the order (its
source) and the invoice already sent."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from telegram import Bot, LabeledPrice
from telegram.error import BadRequest

from bot.placing import NewPricedOrder
from bot.services import Services
from core import texts
from core.orders.model import Order
from core.orders.priced import place_priced
from core.orders.states import OrderState
from core.payments.checks import is_shipped
from core.payments.invoice import Invoice, invoice_for

log = logging.getLogger(__name__)

# Order.extra: the invoice message, once sent.
INVOICE_FIELD = "invoice_message_id"
# The error of an order whose invoice Telegram refused.
INVOICE_REFUSED = "invoice_refused"


@dataclass(frozen=True)
class NewInvoicedOrder(NewPricedOrder):
    """A priced order awaiting payment, and its invoice."""

    bot: Bot | None = field(default=None, compare=False)

    async def store(self, svc: Services) -> tuple[Order, bool]:
        return await svc.run(
            place_priced,
            svc.store,
            self.chat_id,
            self.user_id,
            self.quote,
            self.source,
            self.lang,
            self.payment_method,
            True,
        )

    async def record_and_queue(self, svc: Services, unit: Order, status_id: int) -> None:
        """Record the status message and send the invoice (nothing is queued until paid)."""
        if status_id:
            await svc.run(svc.store.set_fields, unit.id, status_message_id=status_id)
        order = await svc.run(svc.store.get, unit.id)
        if order.state is not OrderState.AWAITING_PAYMENT or order.extra.get(INVOICE_FIELD):
            return
        lines = await svc.run(svc.store.lines, order.id)
        token = svc.settings.payment_provider_token.get_secret_value()
        settings = svc.settings
        shipped = is_shipped(order, settings.delivery_zones, settings.shop_currency)
        invoice = invoice_for(order, lines, self.lang, token, shipped, settings.email_enabled)
        if self.bot is None:
            raise RuntimeError("an invoiced order needs the bot to send its invoice")
        try:
            sent = await send_invoice(self.bot, order.chat_id, invoice)
        except BadRequest as exc:
            # Telegram refuses this invoice for good (e.g. a total below the currency's
            # minimum): the order is cancelled, its stock given back, and the customer told.
            log.warning("order=%s invoice refused: %s", order.id, exc.message)
            _, cancelled = await svc.run(
                svc.store.advance, order.id, OrderState.CANCELADO, error=INVOICE_REFUSED
            )
            await svc.run(svc.fulfilment().show_status, cancelled, True)
            text = texts.text(self.lang, "pay.invoice_refused", id=order.id)
            await self.bot.send_message(order.chat_id, text, parse_mode="HTML")
            return
        await svc.run(svc.store.set_fields, order.id, **{INVOICE_FIELD: sent})
        log.info("order=%s invoice sent message=%s", order.id, sent)


async def send_invoice(bot: Bot, chat_id: int, invoice: Invoice) -> int:
    message = await bot.send_invoice(
        chat_id,
        title=invoice.title,
        description=invoice.description,
        payload=invoice.payload,
        currency=invoice.currency,
        prices=[LabeledPrice(label, amount) for label, amount in invoice.prices],
        provider_token=invoice.provider_token,
        need_name=invoice.need_name or None,
        need_phone_number=invoice.need_phone_number or None,
        need_email=invoice.need_email or None,
        need_shipping_address=invoice.flexible or None,
        is_flexible=invoice.flexible or None,
    )
    return message.message_id
