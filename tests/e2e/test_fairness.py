"""Fair under load: a flooding chat cannot hold up the others, and per-user quotas.

The sandbox keeps Telegram's real flood limits here (30 messages/s, 1/s per chat with a
burst of 3): a flood's replies can only trickle out, as they would from Telegram.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from sandbox import RunningSandbox
from sandbox.client import SandboxClient
from tests.support.system import System, running_system

# More messages than the bot's 32 concurrent updates: before per-chat fairness, a flood this
# size held every slot and the other chats waited behind it.
FLOOD = 40
ORDERS_PER_MINUTE = 3
PHOTOS_PER_HOUR = 2
REQUESTS_PER_MINUTE = 8


@pytest.fixture(scope="module")
def system(
    tmp_path_factory: pytest.TempPathFactory, sandbox_server: RunningSandbox
) -> Iterator[System]:
    tmp = tmp_path_factory.mktemp("fairness")
    with running_system(
        tmp,
        sandbox_server.url,
        sandbox_server.token,
        QUOTA_ORDERS_PER_MINUTE=str(ORDERS_PER_MINUTE),
        QUOTA_PHOTOS_PER_HOUR=str(PHOTOS_PER_HOUR),
        QUOTA_REQUESTS_PER_MINUTE=str(REQUESTS_PER_MINUTE),
        LOG_LEVEL="INFO",
    ) as running:
        running.sandbox.set_limits(enabled=True)
        with running.starting():
            running.start_worker()
            running.start_bot()
        yield running
        running.sandbox.set_limits(enabled=False)


def _seq(sandbox: SandboxClient) -> int:
    return int(sandbox.wait_events(2**62, timeout=0)["seq"])


def _messages(sandbox: SandboxClient, since: int) -> list[dict[str, Any]]:
    events = sandbox.wait_events(since, timeout=0)["events"]
    return [e for e in events if e["type"] == "message"]


def _chat_of(event: dict[str, Any]) -> int:
    return int(event["chat_id"])


def test_a_chat_flooding_the_bot_does_not_delay_the_first_reply_of_others(system: System) -> None:
    flood = system.private_chat(first_name="Flood")
    others = [system.private_chat(first_name=f"Other{i}") for i in range(3)]
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda n: flood.send(f"mensaje reenviado {n}"), range(FLOOD)))
    # The flood is being answered (at its chat's pace) when the others write.
    flood.wait_for_count(n=4, timeout=30)
    since = _seq(system.sandbox)
    with ThreadPoolExecutor(3) as pool:
        list(pool.map(lambda chat: chat.send("/ayuda"), others))
    for chat in others:
        chat.wait_for(lambda m: "/pedido" in (m.text or ""), timeout=30)

    events = _messages(system.sandbox, since)
    for chat in others:
        mine = [e for e in events if _chat_of(e) == chat.id]
        asked = next(e["time"] for e in mine if not e["message"]["from_bot"])
        answered = next(e["time"] for e in mine if e["message"]["from_bot"])
        assert answered - asked < 1.0, (chat, answered - asked)
    # The flood itself still gets every answer, one a second, none lost.
    still_waiting = FLOOD - len(flood.bot_messages())
    assert still_waiting > 0  # (otherwise the flood was not in flight at all)
    flood.wait_for_count(n=FLOOD, timeout=FLOOD * 1.5 + 30)
    assert len(flood.bot_messages()) == FLOOD, flood.transcript_text()


def test_orders_over_the_quota_are_refused_with_a_message_said_once(system: System) -> None:
    chat = system.private_chat(first_name="Rafa")
    for n in range(ORDERS_PER_MINUTE):
        chat.send(f"/pedido {n + 1} cafés")
        chat.wait_for(lambda m, n=n: f"{n + 1} cafés" in (m.text or ""), timeout=30)
    chat.send("/pedido 9 cafés")
    refusal = chat.wait_for(lambda m: "como máximo 3 por minuto" in (m.text or ""), timeout=30)
    assert "Podrás hacer otro dentro de" in (refusal.text or "")
    # Asking again while over it: no order, and no second refusal to flood the chat with.
    chat.send("/pedido 10 cafés")
    chat.wait_for_count(
        lambda m: "está completado" in (m.text or ""), n=ORDERS_PER_MINUTE, timeout=60
    )
    texts = [m.text or "" for m in chat.bot_messages()]
    assert sum("como máximo" in t for t in texts) == 1, chat.transcript_text()
    assert not any("9 cafés" in t or "10 cafés" in t for t in texts), chat.transcript_text()


def test_photos_over_the_quota_are_refused_in_english_too(system: System, photos_dir: Path) -> None:
    chat = system.private_chat(language="en", first_name="Pat")
    photo = photos_dir / "Landscape_1.jpg"
    for _ in range(PHOTOS_PER_HOUR):
        chat.send_photo(photo)
    chat.wait_for_count(lambda m: bool(m.media), n=PHOTOS_PER_HOUR * 3, timeout=120)
    chat.send_photo(photo)
    refusal = chat.wait_for(lambda m: "at most 2 per hour" in (m.text or ""), timeout=30)
    assert "You can send another in" in (refusal.text or "")


def test_commands_and_presses_over_the_request_quota_are_refused(system: System) -> None:
    """/estado, and the status message's Actualizar, count against the sender's
    QUOTA_REQUESTS_PER_MINUTE: over it a command is told once and then dropped, and a press is
    answered with the wait; nothing is done for either."""
    chat = system.private_chat(first_name="Nico")
    chat.send("/pedido 1 café")  # one request
    status = chat.wait_for(lambda m: "1 café" in (m.text or "") and bool(m.buttons), timeout=30)
    # Done, so that nothing but the answers to Nico's requests comes from here on.
    chat.wait_for(lambda m: "está completado" in (m.text or ""), timeout=60)
    for _ in range(REQUESTS_PER_MINUTE - 1):
        sent = chat.send("/estado")
        chat.wait_for(lambda m, s=sent: m.message_id > s.message_id, timeout=30)
    answered = len(chat.bot_messages())
    chat.send("/estado")
    refusal = chat.wait_for(lambda m: "como máximo 8 comandos" in (m.text or ""), timeout=30)
    assert "Prueba de nuevo dentro de" in (refusal.text or "")
    chat.send("/estado")
    answer = chat.callback_answer(chat.press("Actualizar", message_id=status.message_id))
    assert answer["show_alert"] and "como máximo 8 comandos" in str(answer["text"]), answer
    # Another customer is not held by Nico's quota.
    other = system.private_chat(first_name="Olga")
    other.send("/ayuda")
    other.wait_for(lambda m: "/pedido" in (m.text or ""), timeout=30)
    # The one refusal is all Nico got after his eighth request.
    assert len(chat.bot_messages()) == answered + 1, chat.transcript_text()
