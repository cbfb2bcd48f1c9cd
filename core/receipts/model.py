"""A receipt as the PDF, the email and the statement read it (a row of core.db.receipts)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.db.receipts import ReceiptRow

RECEIPT, CORRECTIVE = "factura", "rectificativa"


@dataclass(frozen=True)
class Line:
    name: str
    quantity: int
    unit_price: int
    total: int


@dataclass(frozen=True)
class Receipt:
    id: int
    number: str
    year: int
    seq: int
    kind: str
    order_id: str
    issued_at: float
    method: str
    currency: str
    total: int
    base: int
    vat: int
    vat_rate: str
    lines: tuple[Line, ...]
    chat_id: int
    user_id: int
    language: str
    customer_name: str = ""
    email: str = ""
    address: str = ""
    # The number of the receipt a corrective one corrects ("" for a receipt).
    corrects: str = ""
    sent_at: float = 0.0
    emailed_at: float = 0.0

    @property
    def is_corrective(self) -> bool:
        return self.kind == CORRECTIVE

    @property
    def file_name(self) -> str:
        """The PDF's name, as the chat and the email show it."""
        return f"factura-{self.number}.pdf"


def to_receipt(row: ReceiptRow, corrects: str = "") -> Receipt:
    return Receipt(
        id=row.id,
        number=row.number,
        year=row.year,
        seq=row.seq,
        kind=row.kind,
        order_id=row.order_id,
        issued_at=row.issued_at,
        method=row.method,
        currency=row.currency,
        total=row.total,
        base=row.base,
        vat=row.vat,
        vat_rate=row.vat_rate,
        lines=tuple(Line(str(n), int(q), int(u), int(t)) for n, q, u, t in row.lines or []),
        chat_id=row.chat_id,
        user_id=row.user_id,
        language=row.language,
        customer_name=row.customer_name,
        email=row.email,
        address=row.address,
        corrects=corrects,
        sent_at=row.sent_at,
        emailed_at=row.emailed_at,
    )


def stored_lines(lines: list[Line]) -> list[list[Any]]:
    return [[ln.name, ln.quantity, ln.unit_price, ln.total] for ln in lines]
