"""Reading a PDF report back as people and spreadsheets would check it: its text line by line
(`pdftotext -layout`), and the sums it must show, straight from SQL."""

from __future__ import annotations

import subprocess
from pathlib import Path

from sqlalchemy import text

from core.db.engine import Database

SOLD = "o.state NOT IN ('por_cotizar', 'esperando_pago', 'fallido', 'cancelado')"


def spaced(value: str) -> str:
    """Whitespace (Babel's no-break spaces too) made single spaces."""
    return " ".join(value.replace("\u00a0", " ").replace("\u202f", " ").split())


def pdf_lines(path: Path) -> list[str]:
    """The PDF's text line by line as laid out (a table row on one line), spaced."""
    out = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True, text=True
    )
    return [spaced(line) for line in out.stdout.splitlines() if line.strip()]


def sums(db: Database, start: float, end: float) -> tuple[int, int, str]:
    """Paid and refunded in EUR in [start, end), and the best-selling product's name, by SQL."""
    where = "currency = 'EUR' AND created_at >= :start AND created_at < :end"
    bounds = {"start": start, "end": end}
    with db.reading() as session:
        paid = session.scalar(text(f"SELECT SUM(total_amount) FROM payments WHERE {where}"), bounds)
        refunded = session.scalar(text(f"SELECT SUM(amount) FROM refunds WHERE {where}"), bounds)
        top = session.execute(
            text(
                "SELECT l.name_es, SUM(l.quantity) AS q FROM order_lines l "
                "JOIN orders o ON o.id = l.order_id WHERE l.currency = 'EUR' "
                f"AND o.created_at >= :start AND o.created_at < :end AND {SOLD} "
                "GROUP BY l.name_es ORDER BY q DESC"
            ),
            bounds,
        ).first()
    assert paid and refunded and top
    return int(paid), int(refunded), str(top[0])
