"""Giving a paid order's money back, once: Stars through Telegram (refundStarPayment), a card
payment recorded as due at the provider (the Bot API cannot refund it) with the provider's
charge id and the exact amount shown to the staff. The customer is told once (the courier's
key); a second run finds Telegram's CHARGE_ALREADY_REFUNDED and the refund already recorded."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from core import money, texts
from core.orders.states import HUMAN_STATES, OrderState
from core.payments.methods import INVOICED, STARS
from core.payments.store import PaymentStore
from core.telegram.client import BadRequest, BotApi
from core.telegram.courier import Courier

log = logging.getLogger(__name__)

DONE, DUE = "done", "due"
# A paid order the customer may still cancel (with a refund): the staff have not started it.
CANCELLABLE_PAID = frozenset(
    {OrderState.AWAITING_PAYMENT, OrderState.PENDIENTE, OrderState.VALIDANDO_PAGO}
)


def too_late_to_cancel(state: OrderState, payment_method: str) -> bool:
    """A paid order being prepared is not cancelled by the customer (the staff decide); nor
    is any order the shop's staff accepted (core.shopfloor: theirs to reject)."""
    if state in HUMAN_STATES and state is not OrderState.POR_ACEPTAR:
        return True
    return payment_method in INVOICED and not state.is_final and state not in CANCELLABLE_PAID


@dataclass
class Refunds:
    payments: PaymentStore
    api: BotApi
    courier: Courier
    admin_chat_ids: tuple[int, ...]
    # Sends a corrective receipt (core.receipts) to the customer: tasks.receipts.dispatch.
    send_receipt: Callable[[int], None] | None = None

    def refund(self, order_id: str, reason: str, charge_id: str = "") -> str:
        """Refund the order's payment (or the one of `charge_id`: a second payment of it);
        "done", "due", or "" when there is none."""
        order = self.payments.orders.get(order_id)
        if charge_id:
            payment = self.payments.payment_by_charge(charge_id)
        else:
            payment = self.payments.payment_of(order_id)
        if payment is None or payment.order_id != order_id:
            return ""
        if payment.method == STARS:
            self._refund_stars(order.user_id, payment.telegram_payment_charge_id)
            status = DONE
        else:
            status = DUE
        if self.payments.record_refund(payment, status, reason):
            log.info("order=%s refund %s recorded (%s)", order_id, status, reason)
        self._send_corrective(payment.id)
        lang = order.language
        amount = money.format_amount(payment.total_amount, payment.currency, lang)
        if status == DUE:
            staff = texts.text(
                "es",
                "pay.staff_refund_due",
                id=order.id,
                amount=money.format_amount(payment.total_amount, payment.currency, "es"),
                charge=payment.provider_payment_charge_id,
            )
            for chat_id in self.admin_chat_ids:
                key = f"order:{order.id}:refund_due:{payment.id}:{chat_id}"
                self.courier.send(chat_id, staff, key=key)
        key = "pay.refunded" if status == DONE else "pay.refund_due"
        self.courier.send(
            order.chat_id,
            texts.text(lang, key, id=order.id, amount=amount),
            key=f"order:{order.id}:refund:{payment.id}",
        )
        return status

    def _send_corrective(self, payment_id: int) -> None:
        """The corrective receipt of this refund, unless sent (again on a retried run)."""
        book = self.payments.receipts
        if book is None or self.send_receipt is None:
            return
        corrective = book.corrective_of(payment_id)
        if corrective is not None and not corrective.sent_at:
            self.send_receipt(corrective.id)

    def _refund_stars(self, user_id: int, charge_id: str) -> None:
        try:
            self.api.call(
                "refundStarPayment",
                {"user_id": user_id, "telegram_payment_charge_id": charge_id},
            )
        except BadRequest as exc:
            # A second call (a retried task) after the first went through: done already.
            if "CHARGE_ALREADY_REFUNDED" not in exc.description:
                raise
