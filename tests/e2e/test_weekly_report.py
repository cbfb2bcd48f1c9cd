"""The seed's weekly report end to end: beat sends `generar_reporte` at its time (Monday 09:00
by default; here a run due two minutes ago, set in RedBeat's schedule, so no test waits for a
Monday), a worker writes last week's PDF and it reaches the admin chat as a document, once:
the same week's job run again sends nothing more."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from celery import Celery
from celery.schedules import crontab
from redbeat import RedBeatSchedulerEntry

from core.money import format_amount
from core.reports.period import Period, last_week
from sandbox import RunningSandbox
from sandbox.client import Chat
from sandbox.client.messages import Message
from tests.support.report_pdf import pdf_lines, spaced, sums
from tests.support.shop_week import seed_week
from tests.support.system import System, running_system

ADMIN = 9_427
ZONE = "Europe/Madrid"
ENTRY = "generar-reporte-semanal"


def is_pdf(message: Message) -> bool:
    media = message.media
    return bool(media) and media[0].type == "document" and media[0].mime_type == "application/pdf"


@pytest.fixture(scope="module")
def due() -> datetime:
    """This week's run of the job: two minutes ago, in the shop's time zone."""
    return (datetime.now(ZoneInfo(ZONE)) - timedelta(minutes=2)).replace(second=0, microsecond=0)


@pytest.fixture(scope="module")
def system(
    tmp_path_factory: pytest.TempPathFactory, sandbox_server: RunningSandbox, due: datetime
) -> Iterator[System]:
    with running_system(
        tmp_path_factory.mktemp("weekly"),
        sandbox_server.url,
        sandbox_server.token,
        ADMIN_CHAT_IDS=str(ADMIN),
        SHOP_TIMEZONE=ZONE,
        # The weekly schedule, on the weekday and at the minute of `due`.
        WEEKLY_REPORT_AT=f"{due.minute} {due.hour} * * {due.isoweekday() % 7}",
        DAILY_REPORT_AT="off",
        BACKUP_AT="off",
    ) as running:
        yield running


def celery_app(system: System) -> Celery:
    app = Celery("weekly-test", broker=system.redis.url, backend=system.redis.url)
    app.conf.update(
        timezone=ZONE, redbeat_redis_url=system.redis.url, redbeat_key_prefix="pedidos:redbeat:"
    )
    return app


def test_the_weekly_pdf_reaches_the_admin_chat_once_from_the_beat_schedule(
    system: System, due: datetime
) -> None:
    # Given last week's orders, and the job's run of this week due since two minutes ago
    # (beat last sent it just after last week's run)
    week: Period = last_week(datetime.now(ZoneInfo(ZONE)).date(), ZONE)
    seed_week(system.db, week.bounds()[0], 120)
    app = celery_app(system)
    entry = RedBeatSchedulerEntry(
        ENTRY,
        "generar_reporte",
        crontab(minute=due.minute, hour=due.hour, day_of_week=due.isoweekday() % 7),
        options={"expires": 3600},
        app=app,
    )
    entry.save()
    entry.reschedule(last_run_at=due - timedelta(days=7) + timedelta(minutes=1))
    admin: Chat = system.sandbox.private_chat(user_id=ADMIN, first_name="Ana")

    # When beat and a worker run
    system.start_worker(queues="reports,telegram")
    beat = system.start_beat()

    # Then the admin chat gets last week's report as a PDF document
    document = admin.wait_for(is_pdf, timeout=60)
    assert f"Sending due task {ENTRY} (generar_reporte)" in beat.log()
    paid, refunded, top = sums(system.db, *week.bounds())
    net = format_amount(paid - refunded, "EUR", "es")
    assert (document.caption or "").startswith(
        f"📄 Informe semanal del {week.first} al {week.last} ({ZONE}): {net} netos"
    )
    path = system.tmp / "semanal.pdf"
    path.write_bytes(system.sandbox.download(document.media[0].file_id))
    lines = pdf_lines(path)
    eur = [spaced(format_amount(v, "EUR", "es")) for v in (paid, refunded, paid - refunded)]
    assert f"Total {eur[0]} {eur[1]} {eur[2]}" in lines
    assert lines[lines.index("Productos más vendidos (unidades)") + 2].startswith(f"1 {top} ")

    # And the same week's job run again (a retry, a redelivery) sends nothing more
    assert app.send_task("generar_reporte", queue="reports").get(timeout=60) == {
        "week": week.first.isoformat()
    }
    assert [m.message_id for m in admin.bot_messages() if is_pdf(m)] == [document.message_id]
