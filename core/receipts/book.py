"""The receipt book: issuing a receipt inside the transaction of what it receipts (a payment,
a refund, a cash order handed over), and reading receipts back.

Every receipt is a snapshot: its lines, amounts, VAT rate and customer are copied when it is
issued, so a later price change, a deleted order (retention) or a new VAT rate never changes a
receipt already given."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import literal, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from core import texts
from core.db.engine import Database
from core.db.models import OrderRow
from core.db.payments import PaymentRow, RefundRow
from core.db.receipts import ReceiptRow
from core.db.shop import OrderLineRow
from core.orders.states import OrderState
from core.receipts.model import CORRECTIVE, RECEIPT, Line, Receipt, stored_lines, to_receipt
from core.receipts.numbering import format_number, take_number
from core.receipts.vat import rate_text, split_vat

CASH = "cash"


@dataclass(frozen=True)
class ReceiptPolicy:
    """What every receipt is issued with: the VAT rate included in prices, and the zone whose
    calendar years number them."""

    vat_rate: Decimal
    zone: str


def _order_lines(session: Session, order: OrderRow) -> list[Line]:
    rows = session.scalars(
        select(OrderLineRow)
        .where(OrderLineRow.order_id == order.id)
        .order_by(OrderLineRow.position)
    )
    english = order.language == "en"
    lines = [
        Line(
            (row.name_en if english and row.name_en else row.name_es),
            row.quantity,
            row.unit_price,
            row.line_total,
        )
        for row in rows
    ]
    if not lines:
        # A free-text order priced as a whole (a quote): its text is the one line.
        lines = [Line(order.text[:200], 1, order.subtotal, order.subtotal)]
    if order.delivery_fee:
        label = texts.raw(order.language, "pay.delivery_label")
        lines.append(Line(label, 1, order.delivery_fee, order.delivery_fee))
    return lines


def _parties(order: OrderRow) -> dict[str, object]:
    """Whose receipt it is, as the order says now (copied: the receipt never changes)."""
    return {
        "order_id": order.id,
        "chat_id": order.chat_id,
        "user_id": order.user_id,
        "language": order.language,
        "customer_name": order.customer_name,
        "address": order.shipping_address,
    }


class ReceiptBook:
    def __init__(
        self, db: Database, policy: ReceiptPolicy, clock: Callable[[], float] = time.time
    ) -> None:
        self.db = db
        self.policy = policy
        self.clock = clock

    # -- issuing, inside the caller's transaction ---------------------------------------------

    def _issue(
        self, session: Session, total: int, lines: list[Line], **fields: object
    ) -> ReceiptRow:
        """Take the next number and add the receipt, in `session`'s transaction."""
        year, seq, now = take_number(session, self.clock, self.policy.zone)
        base, vat = split_vat(total, self.policy.vat_rate)
        row = ReceiptRow(
            number=format_number(year, seq),
            year=year,
            seq=seq,
            issued_at=now,
            total=total,
            base=base,
            vat=vat,
            vat_rate=rate_text(self.policy.vat_rate),
            lines=stored_lines(lines),
            **fields,
        )
        session.add(row)
        session.flush()
        return row

    def for_payment(self, session: Session, payment: PaymentRow, email: str = "") -> ReceiptRow:
        """The receipt of a payment just recorded in `session` (its order already moved)."""
        order = session.get(OrderRow, payment.order_id, populate_existing=True)
        assert order is not None
        return self._issue(
            session,
            payment.total_amount,
            _order_lines(session, order),
            kind=RECEIPT,
            source=f"payment:{payment.id}",
            payment_id=payment.id,
            method=payment.method,
            currency=payment.currency,
            email=email[:254],
            **_parties(order),
        )

    def for_refund(self, session: Session, refund: RefundRow) -> ReceiptRow | None:
        """The corrective receipt of a refund just recorded in `session`: the receipt of its
        payment with every amount negated, to the same customer; None when that payment had
        no receipt."""
        original = session.scalar(
            select(ReceiptRow).where(ReceiptRow.source == f"payment:{refund.payment_id}")
        )
        if original is None:
            return None
        lines = [Line(str(n), -int(q), int(u), -int(t)) for n, q, u, t in original.lines or []]
        return self._issue(
            session,
            -refund.amount,
            lines,
            kind=CORRECTIVE,
            source=f"refund:{refund.id}",
            refund_id=refund.id,
            payment_id=refund.payment_id,
            corrects_id=original.id,
            method=original.method,
            currency=original.currency,
            order_id=original.order_id,
            chat_id=original.chat_id,
            user_id=original.user_id,
            language=original.language,
            customer_name=original.customer_name,
            address=original.address,
            email=original.email,
        )

    def for_cash(self, order_id: str) -> int | None:
        """The receipt of a cash order that was handed over (and paid), in a transaction of
        its own; its id, or None when it had one already or is not such an order."""
        try:
            with self.db.transaction() as session:
                order = session.get(OrderRow, order_id)
                if order is None or order.payment_method != CASH:
                    return None
                row = self._issue(
                    session,
                    order.total,
                    _order_lines(session, order),
                    kind=RECEIPT,
                    source=f"{CASH}:{order_id}",
                    method=CASH,
                    currency=order.currency,
                    **_parties(order),
                )
                return row.id
        except IntegrityError:
            return None  # issued already (a second sweep at the same moment)

    def cash_awaiting_receipt(self, since: float, limit: int) -> list[str]:
        """Cash orders completed (handed over and paid) since `since` with no receipt yet."""
        query = (
            select(OrderRow.id)
            .outerjoin(ReceiptRow, ReceiptRow.source == literal(f"{CASH}:") + OrderRow.id)
            .where(
                OrderRow.finished_at >= since,
                OrderRow.state == OrderState.COMPLETADO.value,
                OrderRow.payment_method == CASH,
                ReceiptRow.id.is_(None),
            )
            .order_by(OrderRow.finished_at)
            .limit(limit)
        )
        with self.db.reading() as session:
            return list(session.scalars(query))

    # -- reading -------------------------------------------------------------------------------

    def get(self, receipt_id: int) -> Receipt | None:
        with self.db.reading() as session:
            original = aliased(ReceiptRow)
            found = session.execute(
                select(ReceiptRow, original.number)
                .outerjoin(original, original.id == ReceiptRow.corrects_id)
                .where(ReceiptRow.id == receipt_id)
            ).first()
            return to_receipt(found[0], found[1] or "") if found else None

    def of_source(self, source: str) -> Receipt | None:
        with self.db.reading() as session:
            row_id = session.scalar(select(ReceiptRow.id).where(ReceiptRow.source == source))
        return self.get(row_id) if row_id else None

    def corrective_of(self, payment_id: int) -> Receipt | None:
        """The corrective receipt of a payment's refund, if it has one."""
        with self.db.reading() as session:
            row_id = session.scalar(
                select(ReceiptRow.id).where(
                    ReceiptRow.payment_id == payment_id, ReceiptRow.kind == CORRECTIVE
                )
            )
        return self.get(row_id) if row_id else None

    def issued_between(self, start: float, end: float) -> list[Receipt]:
        """Receipts issued in [start, end), in number order."""
        with self.db.reading() as session:
            original = aliased(ReceiptRow)
            rows = session.execute(
                select(ReceiptRow, original.number)
                .outerjoin(original, original.id == ReceiptRow.corrects_id)
                .where(ReceiptRow.issued_at >= start, ReceiptRow.issued_at < end)
                .order_by(ReceiptRow.year, ReceiptRow.seq)
            ).all()
            return [to_receipt(row, number or "") for row, number in rows]

    def mark(self, receipt_id: int, field: str) -> None:
        """Record when the receipt was sent (`sent_at`) or mailed (`emailed_at`)."""
        with self.db.transaction() as session:
            session.execute(
                update(ReceiptRow)
                .where(ReceiptRow.id == receipt_id)
                .values({field: self.clock()})
                .execution_options(synchronize_session=False)
            )
