"""Payments in the system of record: the checkout view of an order, each successful payment
recorded once with the order it pays moved on in the same transaction, and refunds."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import exists, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import metrics
from core.db.models import Customer, OrderRow
from core.db.payments import PaymentRow, RefundRow
from core.db.shop import OrderLineRow
from core.orders.rows import customer, to_order
from core.orders.states import OrderState
from core.orders.store import OrderStore
from core.orders.waiting import call_off, waiting_since
from core.payments.checks import Checkout, Recorded
from core.payments.methods import invoice_method
from core.receipts.book import ReceiptBook

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Paid:
    """What Telegram's successful_payment says (order_info's fields "" when not asked)."""

    order_id: str
    user_id: int
    currency: str
    total_amount: int
    payload: str
    telegram_payment_charge_id: str
    provider_payment_charge_id: str
    shipping_option_id: str = ""
    name: str = ""
    phone: str = ""
    address: str = ""
    # What the chosen shipping option adds to the order's delivery fee and total.
    shipping_fee: int = 0
    # order_info.email, asked for when receipts go by email (RECEIPT_EMAIL).
    email: str = ""


@dataclass(frozen=True)
class Recording:
    """What recording a payment did: `new` False for a charge id seen before (nothing done);
    `moved` when it took the order from awaiting payment to pendiente; `receipt_id` the
    receipt issued with it (0: receipts are off, or the order was not moved)."""

    new: bool
    moved: bool
    receipt_id: int = 0


def _recorded(row: PaymentRow) -> Recorded:
    return Recorded(
        id=row.id,
        order_id=row.order_id,
        method=row.method,
        currency=row.currency,
        total_amount=row.total_amount,
        payload=row.payload,
        telegram_payment_charge_id=row.telegram_payment_charge_id,
        provider_payment_charge_id=row.provider_payment_charge_id or "",
    )


class PaymentStore:
    def __init__(self, orders: OrderStore, receipts: ReceiptBook | None = None) -> None:
        self.orders = orders
        self.db = orders.db
        # Set (SHOP_TAX_ID): each payment that pays its order takes a receipt number in its
        # own transaction, and a refund its corrective one (core.receipts).
        self.receipts = receipts

    def checkout(self, order_id: str) -> Checkout | None:
        with self.db.reading() as session:
            row = session.get(OrderRow, order_id)
            if row is None:
                return None
            lines = session.scalar(select(exists().where(OrderLineRow.order_id == order_id)))
            return Checkout(to_order(row), bool(row.stock_reserved), bool(lines))

    def record(self, paid: Paid) -> Recording:
        """Record `paid` once (its Telegram charge id is unique) and, in the same transaction,
        move its order from awaiting payment to pendiente with who paid and where it goes,
        and issue its receipt (the number is taken in this transaction: core.receipts)."""
        receipt_id = 0
        try:
            with self.db.transaction() as session:
                row = self._row(paid)
                session.add(row)
                session.flush()
                moved = self._pay_order(session, paid)
                if moved and self.receipts is not None:
                    receipt_id = self.receipts.for_payment(session, row, paid.email).id
        except IntegrityError:
            log.info("payment %s already recorded", paid.telegram_payment_charge_id)
            return Recording(new=False, moved=False)
        if moved and self.orders.starts is not None:
            self.orders.starts.add("order", paid.order_id)
            if receipt_id:
                self.orders.starts.add("receipt", str(receipt_id))
        metrics.order_event("paid")
        metrics.payment(paid.currency, paid.total_amount)
        return Recording(new=True, moved=moved, receipt_id=receipt_id)

    def _row(self, paid: Paid) -> PaymentRow:
        return PaymentRow(
            order_id=paid.order_id,
            user_id=paid.user_id,
            method=invoice_method(paid.currency),
            currency=paid.currency,
            total_amount=paid.total_amount,
            telegram_payment_charge_id=paid.telegram_payment_charge_id,
            provider_payment_charge_id=paid.provider_payment_charge_id or None,
            payload=paid.payload,
            shipping_option_id=paid.shipping_option_id,
            created_at=self.orders.clock(),
        )

    def _pay_order(self, session: Session, paid: Paid) -> bool:
        moved = self.orders.transition(
            session, paid.order_id, OrderState.PENDIENTE, customer(paid.user_id), "pagado"
        )
        if not moved:
            # Paid after it was cancelled or expired (a race with the pre-checkout answer):
            # the payment stays recorded, and validar_pago never runs for it.
            log.warning("order=%s paid while not awaiting payment", paid.order_id)
            return False
        session.execute(
            update(OrderRow)
            .where(OrderRow.id == paid.order_id)
            .values(
                delivery_fee=OrderRow.delivery_fee + paid.shipping_fee,
                total=OrderRow.total + paid.shipping_fee,
                customer_name=paid.name[:200],
                customer_phone=paid.phone[:40],
                shipping_address=paid.address,
            )
            .execution_options(synchronize_session=False)
        )
        known = session.get(Customer, paid.user_id)
        if known is not None and (paid.name or paid.phone or paid.address):
            known.name = paid.name[:200] or known.name
            known.phone = paid.phone[:40] or known.phone
            known.address = paid.address or known.address
            known.updated_at = self.orders.clock()
        return True

    def payment_of(self, order_id: str) -> Recorded | None:
        with self.db.reading() as session:
            row = session.scalar(
                select(PaymentRow).where(PaymentRow.order_id == order_id).order_by(PaymentRow.id)
            )
            return _recorded(row) if row else None

    def payment_by_charge(self, charge_id: str) -> Recorded | None:
        with self.db.reading() as session:
            row = session.scalar(
                select(PaymentRow).where(PaymentRow.telegram_payment_charge_id == charge_id)
            )
            return _recorded(row) if row else None

    def count(self, order_id: str) -> int:
        with self.db.reading() as session:
            ids = session.scalars(select(PaymentRow.id).where(PaymentRow.order_id == order_id))
            return len(list(ids))

    def refund_of(self, order_id: str) -> RefundRow | None:
        with self.db.reading() as session:
            row = session.scalar(select(RefundRow).where(RefundRow.order_id == order_id))
            if row is not None:
                session.expunge(row)
            return row

    def is_refunded(self, payment_id: int) -> bool:
        """Whether a refund of this payment is recorded (done or due)."""
        with self.db.reading() as session:
            found = session.scalar(select(RefundRow.id).where(RefundRow.payment_id == payment_id))
            return found is not None

    def record_refund(self, payment: Recorded, status: str, reason: str) -> bool:
        """Record the refund of `payment` (done, or due at the provider) with its corrective
        receipt, in one transaction; False if it was."""
        try:
            with self.db.transaction() as session:
                refund = RefundRow(
                    payment_id=payment.id,
                    order_id=payment.order_id,
                    method=payment.method,
                    currency=payment.currency,
                    amount=payment.total_amount,
                    telegram_payment_charge_id=payment.telegram_payment_charge_id,
                    provider_payment_charge_id=payment.provider_payment_charge_id,
                    status=status,
                    reason=reason,
                    created_at=self.orders.clock(),
                    done_at=self.orders.clock() if status == "done" else 0.0,
                )
                session.add(refund)
                session.flush()
                corrective = self.receipts.for_refund(session, refund) if self.receipts else None
        except IntegrityError:
            return False
        if corrective is not None and self.orders.starts is not None:
            self.orders.starts.add("receipt", str(corrective.id))
        metrics.refund(payment.currency, payment.total_amount)
        return True

    def due_refunds(self, limit: int) -> list[RefundRow]:
        """Refunds still due at the provider, oldest first (what the staff have to do)."""
        query = (
            select(RefundRow).where(RefundRow.status == "due").order_by(RefundRow.id).limit(limit)
        )
        with self.db.reading() as session:
            rows = list(session.scalars(query))
            session.expunge_all()
            return rows

    def mark_refunded(self, order_id: str) -> bool:
        """The staff refunded the order's due refund at the provider; False if none was due."""
        with self.db.transaction() as session:
            result = session.execute(
                update(RefundRow)
                .where(RefundRow.order_id == order_id, RefundRow.status == "due")
                .values(status="done", done_at=self.orders.clock())
                .execution_options(synchronize_session=False)
            )
        return bool(getattr(result, "rowcount", 0))

    def expired(self, created_before: float, limit: int) -> list[str]:
        """Orders still awaiting payment whose invoice was sent before `created_before`."""
        return waiting_since(self.orders, OrderState.AWAITING_PAYMENT, created_before, limit)

    def expire(self, order_id: str, error: str) -> bool:
        """Cancel an order whose invoice expired (its stock goes back); False if it was paid
        or ended meanwhile: a payment recorded at the same moment is either before (nothing
        here) or after (refused by the state machine, the order is cancelled)."""
        return call_off(self.orders, order_id, OrderState.AWAITING_PAYMENT, error)
