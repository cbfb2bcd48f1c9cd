"""The weekly report's place in beat's schedule, and what its run sends: last week's PDF to
each admin chat under a key of the week, so no re-run sends it twice."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from celery.schedules import crontab

import celeryconfig
from core.db.engine import Database
from core.orders.store import OrderStore
from core.reports.run import Reporter
from core.settings import Settings

ADMINS = (-100_777, 55)


def test_beat_sends_the_weekly_report_on_mondays_at_nine_in_the_shops_zone() -> None:
    config = celeryconfig.build(Settings(report_timezone="UTC", shop_timezone="America/Santiago"))
    entry = config["beat_schedule"]["generar-reporte-semanal"]
    assert entry["task"] == "generar_reporte" and "args" not in entry
    assert entry["schedule"] == crontab(minute=0, hour=9, day_of_week="mon")
    assert config["timezone"] == "America/Santiago"
    assert config["task_routes"]["generar_reporte"]["queue"] == "reports"
    # Without SHOP_TIMEZONE, REPORT_TIMEZONE's clock, as before.
    assert celeryconfig.build(Settings(report_timezone="Europe/Madrid"))["timezone"] == (
        "Europe/Madrid"
    )

    def weekly(when: str) -> Any:
        return (
            celeryconfig.build(Settings(weekly_report_at=when))["beat_schedule"]
            .get("generar-reporte-semanal", {})
            .get("schedule")
        )

    assert weekly("07:30") == crontab(minute=30, hour=7, day_of_week="mon")
    assert weekly("0 8 * * fri") == crontab(minute="0", hour="8", day_of_week="fri")
    assert weekly("off") is None


class Courier:
    def __init__(self) -> None:
        self.sent: list[tuple[int, str, str, bytes]] = []

    def send_file(self, chat_id: int, method: str, path: Path, *, key: str, **_: Any) -> int:
        self.sent.append((chat_id, method, key, path.read_bytes()[:5]))
        return len(self.sent)


def reporter(db: Database, courier: Courier, admins: tuple[int, ...]) -> Reporter:
    return Reporter(
        store=OrderStore(db),
        courier=courier,  # type: ignore[arg-type]
        dead_letters=None,  # type: ignore[arg-type]
        admin_chat_ids=admins,
        stale_after=3600.0,
        zone="Europe/Madrid",
    )


def test_the_weekly_run_sends_last_weeks_pdf_to_each_admin_chat_keyed_by_the_week(
    sqlite_db: Database,
) -> None:
    courier = Courier()
    wednesday = datetime(2026, 12, 9, 9, 0, tzinfo=UTC).timestamp()
    week = reporter(sqlite_db, courier, ADMINS).weekly(wednesday)
    assert week is not None and (week.first, week.last) == (date(2026, 11, 30), date(2026, 12, 6))
    assert courier.sent == [
        (chat, "sendDocument", f"weekly:2026-11-30:{chat}", b"%PDF-") for chat in ADMINS
    ]
    # No admin chat: nothing to write or send.
    assert reporter(sqlite_db, courier, ()).weekly(wednesday) is None
    assert len(courier.sent) == len(ADMINS)
