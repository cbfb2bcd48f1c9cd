"""The month's statement for the staff: every receipt issued in a calendar month of the
shop's zone, one CSV row each (number, date, kind, order, corrected receipt, method, total,
base, VAT), the sums per currency, and any number missing from the series (there should be
none: core.receipts.numbering).

The CSV opens as it is in a spreadsheet: UTF-8 with a BOM, amounts in major units with a
point, every text cell passed through core.csvsafe."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from core import csvsafe, money, texts
from core.receipts.book import ReceiptBook
from core.receipts.model import Receipt

COLUMNS = (
    "numero",
    "fecha",
    "tipo",
    "pedido",
    "rectifica",
    "forma_pago",
    "moneda",
    "total",
    "base",
    "iva",
    "tipo_iva",
)


@dataclass(frozen=True)
class Month:
    year: int
    month: int
    zone: str

    @classmethod
    def before(cls, now: float, zone: str) -> Month:
        """The calendar month before the one `now` is in, in `zone`."""
        today = datetime.fromtimestamp(now, ZoneInfo(zone)).date()
        first = date(today.year, today.month, 1)
        year, month = (first.year - 1, 12) if first.month == 1 else (first.year, first.month - 1)
        return cls(year, month, zone)

    def bounds(self) -> tuple[float, float]:
        tz = ZoneInfo(self.zone)
        start = datetime(self.year, self.month, 1, tzinfo=tz)
        after = (self.year + 1, 1) if self.month == 12 else (self.year, self.month + 1)
        return start.timestamp(), datetime(*after, 1, tzinfo=tz).timestamp()

    @property
    def label(self) -> str:
        return f"{self.year}-{self.month:02d}"


@dataclass
class Statement:
    month: Month
    receipts: list[Receipt]
    # currency → [total, base, vat]
    sums: dict[str, list[int]] = field(default_factory=dict)

    @property
    def missing(self) -> list[str]:
        """Numbers absent between the month's first and last of each year."""
        found: dict[int, set[int]] = defaultdict(set)
        for receipt in self.receipts:
            found[receipt.year].add(receipt.seq)
        return [
            f"{year}-{seq:06d}"
            for year, seqs in sorted(found.items())
            for seq in range(min(seqs), max(seqs) + 1)
            if seq not in seqs
        ]


def statement_of(book: ReceiptBook, month: Month) -> Statement:
    receipts = book.issued_between(*month.bounds())
    sums: dict[str, list[int]] = {}
    for receipt in receipts:
        acc = sums.setdefault(receipt.currency, [0, 0, 0])
        acc[0] += receipt.total
        acc[1] += receipt.base
        acc[2] += receipt.vat
    return Statement(month, receipts, sums)


def statement_csv(statement: Statement) -> bytes:
    tz = ZoneInfo(statement.month.zone)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for r in statement.receipts:
        when = datetime.fromtimestamp(r.issued_at, tz).isoformat(timespec="seconds")
        major = [money.to_major(v, r.currency) for v in (r.total, r.base, r.vat)]
        row = [r.number, when, r.kind, r.order_id, r.corrects, r.method, r.currency, *major]
        writer.writerow(csvsafe.safe_row([*row, r.vat_rate]))
    for currency, (total, base, vat) in sorted(statement.sums.items()):
        major = [money.to_major(v, currency) for v in (total, base, vat)]
        writer.writerow(csvsafe.safe_row(["TOTAL", "", "", "", "", "", currency, *major, ""]))
    return out.getvalue().encode("utf-8-sig")


def statement_text(statement: Statement, language: str) -> str:
    """The caption that goes with the CSV (Telegram HTML)."""
    label = statement.month.label
    if not statement.receipts:
        return texts.text(language, "receipt.statement_empty", month=label)
    sums = " ".join(
        texts.plain(
            language,
            "receipt.statement_sum",
            currency=currency,
            total=money.format_amount(total, currency, language),
            base=money.format_amount(base, currency, language),
            vat=money.format_amount(vat, currency, language),
        )
        for currency, (total, base, vat) in sorted(statement.sums.items())
    )
    caption = texts.text(
        language,
        "receipt.statement_caption",
        month=label,
        count=len(statement.receipts),
        first=statement.receipts[0].number,
        last=statement.receipts[-1].number,
        totals=sums,
    )
    if not statement.missing:
        return caption
    gap = texts.text(language, "receipt.statement_gap", missing=", ".join(statement.missing[:20]))
    return f"{caption}\n{gap}"
