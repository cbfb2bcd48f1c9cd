"""/informe and the daily summary end to end: a CSV parsed back, a chart opened and measured."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from PIL import Image

from sandbox import RunningSandbox
from sandbox.client import Chat
from tests.e2e.test_orders import completed, is_status, order_id_of
from tests.support.system import System, running_system

ADMIN = 9_401


@pytest.fixture(scope="module")
def system(
    tmp_path_factory: pytest.TempPathFactory, sandbox_server: RunningSandbox
) -> Iterator[System]:
    tmp = tmp_path_factory.mktemp("reports")
    with running_system(
        tmp,
        sandbox_server.url,
        sandbox_server.token,
        ADMIN_CHAT_IDS=str(ADMIN),
        # Every minute, so the test sees one without waiting for 08:00.
        DAILY_REPORT_AT="* * * * *",
    ) as running:
        with running.starting():
            running.start_worker()
            running.start_bot()
        yield running


@pytest.fixture(scope="module")
def admin(system: System) -> Chat:
    return system.sandbox.private_chat(user_id=ADMIN, first_name="Ana")


@pytest.fixture(scope="module")
def orders(system: System) -> dict[str, str]:
    """Three completed orders and one cancelled, by id → state."""
    placed = {}
    for what in ("1 pizza", "2 pizzas", "3 pizzas"):
        chat = system.private_chat()
        chat.send(f"/pedido {what}")
        order_id = order_id_of(chat.wait_for(is_status, timeout=15))
        chat.wait_for(completed, timeout=30)
        placed[order_id] = "completado"
    # Beat from here on: the daily summary (every minute here) counts these orders, and the
    # wait for its minute passes while the other tests run.
    system.start_beat()
    return placed


def test_informe_sends_the_csv_and_the_chart(
    system: System, admin: Chat, orders: dict[str, str]
) -> None:
    today = datetime.now(UTC).date().isoformat()
    admin.send(f"/informe {today} {today}")
    admin.wait_for(lambda m: f"Preparando el informe del {today} al {today}" in (m.text or ""))
    # The report's chart (the daily summary's chart may come in between).
    photo = admin.wait_for(
        lambda m: (
            bool(m.media) and m.media[0].type == "photo" and "Pedidos del" in (m.caption or "")
        ),
        timeout=60,
    )
    document = admin.wait_for(
        lambda m: bool(m.media) and (m.media[0].file_name or "") == f"informe-{today}-{today}.csv"
    )
    # In a private chat /exportar's money files come along: one row per line, one per order.
    names = {f"pedidos-lineas-{today}-{today}.csv", f"pedidos-{today}-{today}.csv"}
    admin.wait(
        lambda ms: len({m.media[0].file_name for m in ms if m.media} & names) == 2,
        60,
        what="the export's two files",
    )
    assert f"Pedidos del {today} al {today} (UTC): 3" in (photo.caption or "")
    # The PDF report comes first (orders with no price: no money).
    pdf = admin.wait_for(lambda m: bool(m.media) and m.media[0].mime_type == "application/pdf")
    assert pdf.message_id < photo.message_id
    assert (
        pdf.caption or ""
    ) == f"📄 Informe del {today} al {today} (UTC): 0,00\xa0€ netos, 3 pedidos."

    rows = list(
        csv.DictReader(
            io.StringIO(system.sandbox.download(document.media[0].file_id).decode("utf-8-sig"))
        )
    )
    assert {row["id"]: row["state"] for row in rows} == orders
    assert all(
        row["created_at"].startswith(today) and float(row["seconds_to_finish"]) >= 0 for row in rows
    )

    chart = Image.open(io.BytesIO(system.sandbox.download(photo.media[0].file_id)))
    assert (photo.media[0].original_width, photo.media[0].original_height) == (1200, 600)
    assert chart.size == (1200, 600)
    # Not a blank picture: the bars' green (completado) is there.
    colours: list[tuple[int, tuple[int, int, int]]] = chart.convert("RGB").getcolors(1 << 20) or []  # type: ignore[assignment]
    assert any(
        abs(r - 0x43) < 24 and abs(g - 0xA0) < 24 and abs(b - 0x47) < 24 for _, (r, g, b) in colours
    )


def test_informe_semana_sends_this_weeks_pdf(
    system: System, admin: Chat, orders: dict[str, str]
) -> None:
    today = datetime.now(UTC).date()
    monday = (today - timedelta(days=today.weekday())).isoformat()
    last = admin.bot_messages()[-1].message_id
    admin.send("/informe semana")
    admin.wait_for(lambda m: f"Preparando el informe del {monday} al {today}" in (m.text or ""))
    pdf = admin.wait_for(
        lambda m: bool(m.media) and m.media[0].mime_type == "application/pdf", after=last
    )
    assert (pdf.caption or "").startswith(f"📄 Informe del {monday} al {today} (UTC)")


def test_informe_explains_bad_dates_and_refuses_customers(system: System, admin: Chat) -> None:
    admin.send("/informe 2026-13-01")
    usage = admin.wait_for(
        lambda m: "no es una fecha" in (m.text or "") and "Uso:" in (m.text or "")
    )
    assert "/informe semana" in (usage.text or "") and "/informe mes" in (usage.text or "")
    customer = system.private_chat(language="en")
    customer.send("/report")
    customer.wait_for(lambda m: "for the staff (admins) only" in (m.text or ""))


def test_daily_summary_reaches_the_admin_chat(
    system: System, admin: Chat, orders: dict[str, str]
) -> None:
    summary = admin.wait_for(
        lambda m: bool(m.media) and "Resumen diario" in (m.caption or ""), timeout=150
    )
    caption = summary.caption or ""
    assert "Pedidos nuevos: 3" in caption and "• completado ✅: 3" in caption
    assert "Atrasados ahora: 0" in caption and "Entregas fallidas pendientes: 0" in caption
    assert "Hasta completar: p50" in caption
    chart = Image.open(io.BytesIO(system.sandbox.download(summary.media[0].file_id)))
    assert chart.size == (1200, 600)
