"""/exportar end to end: a staff member asks, the status message shows progress, and two CSV
documents arrive that a spreadsheet opens safely (BOM, formulas as text, the shop's clock)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from sandbox import RunningSandbox
from sandbox.client import Chat, Message
from tests.e2e.test_orders import is_status, order_id_of
from tests.support.system import System, running_system

ADMIN = 9_501
ZONE = "Asia/Kolkata"  # +05:30 all year: a time left in UTC would show
FORMULA = '=HYPERLINK("http://x","y")'


@pytest.fixture(scope="module")
def system(
    tmp_path_factory: pytest.TempPathFactory, sandbox_server: RunningSandbox
) -> Iterator[System]:
    tmp = tmp_path_factory.mktemp("exports")
    with running_system(
        tmp, sandbox_server.url, sandbox_server.token, ADMIN_CHAT_IDS=str(ADMIN), SHOP_TIMEZONE=ZONE
    ) as running:
        with running.starting():
            running.start_worker(queues="orders,telegram,reports")
            running.start_bot()
        yield running


def document(admin: Chat, name: str) -> Message:
    return admin.wait_for(
        lambda m: bool(m.media) and (m.media[0].file_name or "").startswith(name), timeout=60
    )


def test_a_staff_member_exports_and_the_files_open_safely(system: System) -> None:
    customer = system.private_chat()
    customer.send(f"/pedido {FORMULA}")
    order_id = order_id_of(customer.wait_for(is_status, timeout=15))
    today = datetime.now(ZoneInfo(ZONE)).date()
    first, last = (today - timedelta(days=1)).isoformat(), today.isoformat()

    admin = system.sandbox.private_chat(user_id=ADMIN, first_name="Ana")
    asked = admin.send(f"/exportar {first} {last}")
    status = admin.wait_for(lambda m: "Exportación lista" in (m.text or ""), timeout=60)
    # The bot's "en cola…" answer, edited by the worker into its last word.
    assert status.reply_to_message_id == asked.message_id
    assert "pedidos: 1 · filas de líneas: 1" in (status.text or "")
    assert f"del {first} al {last} ({ZONE})" in (status.text or "")

    lines = document(admin, f"pedidos-lineas-{first}-{last}")
    orders = document(admin, f"pedidos-{first}-{last}")
    assert (lines.media[0].file_name, orders.media[0].file_name) == (
        f"pedidos-lineas-{first}-{last}.csv",
        f"pedidos-{first}-{last}.csv",
    )
    for sent in (lines, orders):
        data = system.sandbox.download(sent.media[0].file_id)
        assert data.startswith(b"\xef\xbb\xbf")
        [row] = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
        assert row["order_id"] == order_id
        assert row["product" if sent is lines else "text"] == "'" + FORMULA
        created = datetime.fromisoformat(row["created_at"])
        assert row["created_at"].endswith("+05:30")
        assert created.date() in (today - timedelta(days=1), today)


def test_bad_ranges_are_explained_and_customers_refused(system: System) -> None:
    admin = system.sandbox.private_chat(user_id=ADMIN, first_name="Ana")
    admin.send("/exportar 2026-11-30 2026-11-01")
    admin.wait_for(lambda m: "posterior a la de fin" in (m.text or "") and "Uso:" in (m.text or ""))
    admin.send("/exportar 2025-01-01 2026-12-31")
    admin.wait_for(lambda m: "Como mucho 366 días" in (m.text or ""))
    customer = system.private_chat(language="en")
    customer.send("/export 2026-11-01 2026-11-30")
    customer.wait_for(lambda m: "for the staff (admins) only" in (m.text or ""))
