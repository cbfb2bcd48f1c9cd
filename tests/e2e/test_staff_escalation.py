"""An alert nobody answers: repeated every ESCALATE_AFTER (2 s here), ESCALATE_REPEATS (1)
times, then sent to ESCALATION_CHAT_IDS, and then nothing more."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from core.watcher.index import StaleIndex
from sandbox import RunningSandbox
from sandbox.client import Message
from tests.e2e.test_orders import is_status, order_id_of
from tests.support.processes import wait_until
from tests.support.system import System, running_system

ADMIN = 9_201
ESCALATION_GROUP = -100_920_920


@pytest.fixture(scope="module")
def system(
    tmp_path_factory: pytest.TempPathFactory, sandbox_server: RunningSandbox
) -> Iterator[System]:
    tmp = tmp_path_factory.mktemp("escalation")
    with running_system(
        tmp,
        sandbox_server.url,
        sandbox_server.token,
        WATCH_INTERVAL="1s",
        STALE_AFTER="2s",
        ESCALATE_AFTER="2s",
        ESCALATE_REPEATS="1",
        ADMIN_CHAT_IDS=str(ADMIN),
        ESCALATION_CHAT_IDS=str(ESCALATION_GROUP),
        ADMIN_USER_IDS="9202",  # Marta, on call in the escalation group
    ) as running:
        with running.starting():
            running.start_worker(queues="images,telegram,watcher,imports,reports")
            running.start_bot()
            running.start_beat()
        yield running


def test_unanswered_alert_is_repeated_then_escalated_then_left(system: System) -> None:
    admin = system.sandbox.private_chat(user_id=ADMIN, first_name="Ana")
    escalation = system.sandbox.group_chat(
        ESCALATION_GROUP, title="Guardia", user_id=9_202, first_name="Marta"
    )
    customer = system.private_chat()
    customer.send("/pedido 1 tarta")
    order_id = order_id_of(customer.wait_for(is_status, timeout=15))

    def cards(text: str) -> list[Message]:
        return [
            m
            for m in admin.bot_messages() + escalation.bot_messages()
            if order_id in (m.text or "") and text in (m.text or "") and m.buttons
        ]

    alert = admin.wait_for(
        lambda m: "🛎" in (m.text or "") and order_id in (m.text or ""), timeout=30
    )
    reminder = admin.wait_for(
        lambda m: "Recordatorio 1/1" in (m.text or "") and order_id in (m.text or ""), timeout=30
    )
    escalated = escalation.wait_for(
        lambda m: "Escalado" in (m.text or "") and order_id in (m.text or ""), timeout=30
    )
    assert reminder.date - alert.date >= 1 and escalated.date - reminder.date >= 1
    assert "tras 2 avisos sin respuesta" in (escalated.text or "")
    assert escalated.buttons[0][0] == "Atendido"  # the escalation chat can act on it

    # Nothing more: a few more watcher runs (ESCALATE_AFTER apart) add no card.
    index = StaleIndex(system.store, system.client)
    after = time.time() + 2.5  # past the next ESCALATE_AFTER
    wait_until(
        lambda: sum(float(run["at"]) > after for run in index.history()) >= 3,
        30,
        "three watcher runs after the escalation",
    )
    assert len(cards("")) == 3, admin.transcript_text() + escalation.transcript_text()

    # Someone in the escalation chat answers: the card says so.
    answer = escalation.callback_answer(
        escalation.press("Atendido", message_id=escalated.message_id)
    )
    assert answer["text"] == "✅ Atendido: hecho."
    escalation.wait_for(
        lambda m: m.message_id == escalated.message_id and "✅ Atendido · Marta" in (m.text or ""),
        timeout=10,
    )
