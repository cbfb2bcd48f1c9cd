"""One CSV row checked as an order, and the key that makes importing it idempotent."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from core import texts
from core.importer.csvfile import RawRow
from core.orders.model import OrderTextError, clean_order_text

# Telegram chat ids fit in 52 bits (and are never 0).
MAX_CHAT_ID = 2**52
# The `pago` column's words for a cash order; empty: the customer confirms it.
CASH_WORDS = frozenset({"efectivo", "cash"})


@dataclass(frozen=True)
class GoodRow:
    number: int
    chat_id: int
    text: str
    language: str
    reference: str
    # Paid in cash (`pago=efectivo`): placed at once, the customer only told.
    cash: bool = False
    # The `total` column as written ("" when none): a check against the server's price.
    total: str = ""
    # The row as written, for the rejected rows' file.
    original: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        """The row's identity: the same order for the same chat (and reference) is the same
        row, whichever file, position or spacing it comes in."""
        content = "\x1f".join([str(self.chat_id), self.text, self.reference])
        return hashlib.sha256(content.encode()).hexdigest()


@dataclass(frozen=True)
class BadRow:
    number: int
    reason: str  # a key of import.reason
    original: list[str]
    values: tuple[tuple[str, object], ...] = ()

    def reason_text(self, language: str) -> str:
        return texts.plain(language, f"import.reason.{self.reason}", **dict(self.values))


def check(row: RawRow) -> GoodRow | BadRow:
    """The row as an order, or why not."""
    if row.malformed:
        return BadRow(row.number, "malformed", row.original)
    if row.extra_cells:
        return BadRow(row.number, "columns", row.original)
    raw_chat = row.cells.get("chat_id", "")
    if not raw_chat:
        return BadRow(row.number, "missing_chat_id", row.original)
    try:
        chat_id = int(raw_chat)
    except ValueError:
        return BadRow(row.number, "bad_chat_id", row.original)
    if chat_id == 0 or abs(chat_id) >= MAX_CHAT_ID:
        return BadRow(row.number, "bad_chat_id", row.original)
    if chat_id < 0:
        # A group has no one customer to confirm and pay: only that customer's own chat.
        return BadRow(row.number, "not_private", row.original)
    try:
        text = clean_order_text(row.cells.get("text", ""))
    except OrderTextError as exc:
        return BadRow(row.number, exc.code, row.original)
    language = row.cells.get("language", "").lower() or texts.DEFAULT_LANGUAGE
    if language not in texts.languages():
        return BadRow(row.number, "bad_language", row.original)
    payment = row.cells.get("payment", "").lower()
    if payment and payment not in CASH_WORDS:
        return BadRow(row.number, "bad_payment", row.original)
    reference = row.cells.get("reference", "")
    total = row.cells.get("total", "")
    return GoodRow(
        row.number, chat_id, text, language, reference, bool(payment), total, tuple(row.original)
    )
