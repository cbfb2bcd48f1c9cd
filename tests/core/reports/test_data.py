"""/informe's CSV: what customers wrote goes only where personal data may (a private chat or
the staff chat); an admin group's copy has the ids, states and times, and an empty `text`."""

from __future__ import annotations

import csv
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from core.db.engine import Database
from core.orders.store import OrderStore
from core.reports.data import collect
from core.reports.period import Period


@pytest.mark.parametrize("texts_too", [True, False])
def test_the_csv_has_order_texts_only_when_asked(
    sqlite_db: Database, tmp_path: Path, texts_too: bool
) -> None:
    store = OrderStore(sqlite_db)
    order, _ = store.create(7, 7, "2 pizzas, Calle Mayor 5", 1)
    today = datetime.fromtimestamp(time.time(), UTC).date()
    out = tmp_path / "report.csv"
    tally = collect(store, Period(today, today, "UTC"), out, texts_too)
    [row] = list(csv.DictReader(out.open(encoding="utf-8-sig")))
    assert tally.total == 1 and row["id"] == order.id and row["state"] == "pendiente"
    assert row["text"] == ("2 pizzas, Calle Mayor 5" if texts_too else "")
