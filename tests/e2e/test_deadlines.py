"""The deadlines of the human states end to end: a real beat schedules `vigilar_plazos`, a
real worker runs it and talks to the sandbox. An order sits in por_aceptar past ACCEPT_WITHIN
(moved there through the store, with a clock set in the past: no card buttons on this
branch): the staff group gets one alert, the customer one "va con retraso", the admin group
one escalation ESCALATE_AFTER later with the id and state only, and several more runs add
nothing. An order accepted after its alert is never escalated."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest

from core.orders.model import Order
from core.orders.states import OrderState
from core.orders.store import OrderStore
from sandbox import RunningSandbox
from sandbox.client import Chat
from tests.support.processes import Process, wait_until
from tests.support.system import System, running_system

STAFF_GROUP = -100_950_950
ADMIN_GROUP = -100_960_960
ACCEPT_WITHIN = 600.0
ESCALATE_AFTER = 3.0
TO_ACCEPT = (OrderState.VALIDANDO_PAGO, OrderState.PREPARANDO_ENVIO, OrderState.POR_ACEPTAR)
RUN_DONE = re.compile(r"Task vigilar_plazos\[[\w-]+\] succeeded")


@pytest.fixture(scope="module")
def system(
    tmp_path_factory: pytest.TempPathFactory, sandbox_server: RunningSandbox
) -> Iterator[System]:
    """Redis, a worker for the watcher and messages (no one runs the order chain), a beat."""
    with running_system(
        tmp_path_factory.mktemp("deadlines"),
        sandbox_server.url,
        sandbox_server.token,
        WATCH_INTERVAL="1s",
        STAFF_CHAT_ID=str(STAFF_GROUP),
        ADMIN_CHAT_IDS=str(ADMIN_GROUP),
        ACCEPT_WITHIN=f"{ACCEPT_WITHIN:g}s",
        ESCALATE_AFTER=f"{ESCALATE_AFTER:g}s",
    ) as running:
        with running.starting():
            running.start_worker(queues="telegram,watcher")
            running.start_beat()
        yield running


def waiting_for_acceptance(system: System, customer: Chat, late_by: float) -> Order:
    """An order of `customer` that entered por_aceptar ACCEPT_WITHIN + `late_by` ago."""
    past = OrderStore(system.db, clock=lambda: time.time() - ACCEPT_WITHIN - late_by)
    order, _ = past.create(customer.id, customer.id, "2 pizzas, Calle Mayor 5", 1)
    for state in TO_ACCEPT:
        past.advance(order.id, state)
    return order


def runs_done(worker: Process) -> int:
    return len(RUN_DONE.findall(worker.log()))


def mentioning(chat: Chat, order_id: str) -> list[str]:
    return [m.text or "" for m in chat.bot_messages() if order_id in (m.text or "")]


def test_a_missed_acceptance_is_alerted_escalated_and_told_once(system: System) -> None:
    staff = system.sandbox.group_chat(STAFF_GROUP, title="Cocina", user_id=9_301)
    admins = system.sandbox.group_chat(ADMIN_GROUP, title="Gerencia", user_id=9_302)
    customer, other = system.private_chat(), system.private_chat()
    order = waiting_for_acceptance(system, customer, late_by=1)
    accepted = waiting_for_acceptance(system, other, late_by=1)

    alert = staff.wait_for(lambda m: order.id in (m.text or ""), timeout=20)
    assert "plazo para aceptar vencido" in (alert.text or "")
    late = customer.wait_for(lambda m: "va con retraso" in (m.text or ""), timeout=20)
    assert order.id in (late.text or "")
    # The other order is accepted after its alert: it is never escalated.
    staff.wait_for(lambda m: accepted.id in (m.text or ""), timeout=20)
    OrderStore(system.db).advance(accepted.id, OrderState.ACEPTADO)

    escalation = admins.wait_for(lambda m: order.id in (m.text or ""), timeout=20)
    assert escalation.date - alert.date >= ESCALATE_AFTER - 1
    assert (escalation.text or "").startswith(f"🚨 {order.id} sigue esperando a la tienda")
    assert "pizza" not in (escalation.text or "") and "Mayor" not in (escalation.text or "")

    # Several more runs, past another ESCALATE_AFTER: nothing repeated.
    worker = system.processes[0]
    seen = runs_done(worker)
    wait_until(lambda: runs_done(worker) >= seen + 5, 30, "five more deadline runs")
    assert len(mentioning(staff, order.id)) == 1, staff.transcript_text()
    assert len(mentioning(admins, order.id)) == 1, admins.transcript_text()
    assert len(mentioning(customer, order.id)) == 1, customer.transcript_text()
    assert len(mentioning(other, accepted.id)) == 1
    assert mentioning(admins, accepted.id) == [], admins.transcript_text()
