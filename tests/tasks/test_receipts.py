"""`generar_facturas` from the beat schedule: on day 1 at 06:00 in the shop's zone (a
controlled clock reads the schedule), the previous month's statement goes to every admin
chat once, however often beat sends the job that day."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from celery import Celery

import celeryconfig
from core.db.engine import Database
from core.settings import Settings
from tasks import clients, delivery
from tasks import receipts as receipt_tasks
from tests.support.receipts import MADRID, Clock, awaiting, paid_for, shop
from tests.support.system import WORKER_COMMAND

ADMINS = (-100777, 55)


def at(*when: int) -> datetime:
    return datetime(*when, tzinfo=ZoneInfo(MADRID))  # type: ignore[misc, arg-type]


def test_beat_sends_the_statement_on_day_one_at_six_in_the_shops_zone() -> None:
    settings = Settings(shop_tax_id="B12345678", shop_timezone=MADRID, report_timezone="UTC")
    config = celeryconfig.build(settings)
    entry = config["beat_schedule"]["generar-facturas"]
    assert entry["task"] == "generar_facturas" and config["timezone"] == MADRID
    queue = config["task_routes"]["generar_facturas"]["queue"]
    queues = next(a for a in WORKER_COMMAND if a.startswith("--queues=")).split("=")[1]
    assert queue in queues.split(",")

    # The schedule as beat reads it, with the clock in our hands.
    app = Celery("receipts-beat-test", set_as_current=False)
    app.conf.timezone = config["timezone"]
    schedule = entry["schedule"]
    schedule.app = app
    now = [at(2026, 12, 1, 5, 59)]
    schedule.nowfun = lambda: now[0]
    last_run = at(2026, 11, 1, 23, 0)  # its last run of November's day 1

    due, next_in = schedule.is_due(last_run)
    assert not due and next_in == pytest.approx(60, abs=1)  # 06:00 Madrid, 05:00 UTC
    now[0] = at(2026, 12, 1, 6, 0, 1)
    assert schedule.is_due(last_run)[0]
    # Once sent at six, again at seven (a beat down at six still sends it), never on day 2.
    assert not schedule.is_due(at(2026, 12, 1, 6, 0, 2))[0]
    now[0] = at(2026, 12, 2, 6, 0, 1)
    assert not schedule.is_due(at(2026, 12, 1, 23, 0, 1))[0]

    # Receipts off (no SHOP_TAX_ID): no statement either.
    assert "generar-facturas" not in celeryconfig.build(Settings())["beat_schedule"]


class Courier:
    """Sends once per key, as core.telegram.courier does."""

    def __init__(self) -> None:
        self.sent: dict[str, tuple[int, str, bytes]] = {}

    def send_file(
        self, chat_id: int, method: str, path: Path, *, key: str, caption: str = "", **_: Any
    ) -> int:
        self.sent.setdefault(key, (chat_id, caption, path.read_bytes()))
        return len(self.sent)

    def send(self, chat_id: int, text: str, *, key: str, **_: Any) -> int:
        self.sent.setdefault(key, (chat_id, text, b""))
        return len(self.sent)


def test_the_monthly_job_sends_last_months_statement_once(
    sqlite_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock(at(2026, 11, 3, 10, 0).timestamp())
    orders, payments = shop(sqlite_db, clock)
    for n in (1, 2):
        payments.record(paid_for(awaiting(orders, n, user=n), f"nov-{n}"))
    clock.now = at(2026, 12, 1, 0, 5).timestamp()
    payments.record(paid_for(awaiting(orders, 3, user=3), "dec-1"))
    settings = Settings(admin_chat_ids=ADMINS, shop_tax_id="B1", shop_timezone=MADRID)
    monkeypatch.setattr(clients, "settings", lambda: settings)
    monkeypatch.setattr(receipt_tasks, "book", lambda: payments.receipts)
    courier = Courier()
    monkeypatch.setattr(delivery, "courier", lambda: courier)

    six = at(2026, 12, 1, 6, 0).timestamp()
    for hour in range(3):  # beat sends it at six, seven and eight
        assert receipt_tasks.generar_facturas.apply(kwargs={"now": six + hour * 3600}).get() == 2

    assert sorted(courier.sent) == [f"statement:2026-11:{chat}" for chat in sorted(ADMINS)]
    _chat, caption, data = courier.sent[f"statement:2026-11:{ADMINS[0]}"]
    assert "2, de la 2026-000001 a la 2026-000002" in caption and "28,50" in caption
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert [r["numero"] for r in rows] == ["2026-000001", "2026-000002", "TOTAL"]
    assert rows[-1]["total"] == "28.50"
