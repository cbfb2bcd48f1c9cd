"""/informe's CSV holds customers' order texts: opened in a spreadsheet, they are text."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from pathlib import Path

from core.db.engine import Database
from core.orders.store import OrderStore
from core.reports.data import collect
from core.reports.period import Period


def test_the_report_csv_shows_formulas_as_text_and_has_a_bom(
    sqlite_db: Database, tmp_path: Path
) -> None:
    noon = datetime(2026, 11, 4, 12, tzinfo=UTC).timestamp()
    store = OrderStore(sqlite_db, clock=lambda: noon)
    store.create(-5, 5, '=HYPERLINK("http://x","y")', 1)
    store.create(-5, 5, "+1-2", 2)
    path = tmp_path / "informe.csv"
    collect(store, Period(date(2026, 11, 4), date(2026, 11, 4), "UTC"), path, texts_too=True)
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert sorted(row["text"] for row in rows) == ["'+1-2", '\'=HYPERLINK("http://x","y")']
    # A group's chat id is a negative number, and stays one.
    assert {row["chat_id"] for row in rows} == {"-5"}
