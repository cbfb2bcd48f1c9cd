"""Helpers for the chat-experience end-to-end tests: a system per module, what the chat shows."""

from __future__ import annotations

import re
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from sandbox import RunningSandbox
from sandbox.client import Chat, Message
from tests.support.processes import Process
from tests.support.system import System, running_system

ORDER_ID = re.compile(r"P-[0-9A-Z]{6}")

# These tests are about what people see, not about flood control (tests/e2e/test_delivery.py
# covers that): generous limits keep a module's dozens of messages per chat quick.
ROOMY_LIMITS = {
    "RATE_CHAT_PER_SECOND": "200",
    "RATE_CHAT_BURST": "200",
    "RATE_GROUP_PER_MINUTE": "12000",
}
# The sandbox keeps Telegram's limits by default; a bot told to send at the rates above would
# meet 429s there, so the chat tests raise the sandbox's limits to the same numbers.
ROOMY_SANDBOX_LIMITS = {"chat_per_second": 200.0, "chat_burst": 200.0, "group_per_minute": 12000.0}

# Words the status message and the chat use, per language.
WORDS = {
    "es": {
        "order": "/pedido",
        "orders": "/pedidos",
        "cancel": "/cancelar",
        "status": "/estado",
        "refresh": "Actualizar",
        "cancel_button": "Cancelar",
        "confirm": "Confirmar",
        "change": "Cambiar",
        "completed": "está completado",
        "cancelled_state": "Estado: cancelado",
        "completed_state": "Estado: completado",
        "cancelled": "cancelado.",
        "ask": "Dime qué quieres pedir",
        "confirm_question": "¿Confirmas este pedido?",
        "step3": "Paso 3/3",
    },
    "en": {
        "order": "/order",
        "orders": "/orders",
        "cancel": "/cancel",
        "status": "/status",
        "refresh": "Refresh",
        "cancel_button": "Cancel",
        "confirm": "Confirm",
        "change": "Change",
        "completed": "is complete",
        "cancelled_state": "State: cancelled",
        "completed_state": "State: completed",
        "cancelled": "cancelled.",
        "ask": "Tell me what you'd like to order",
        "confirm_question": "Confirm this order?",
        "step3": "Step 3/3",
    },
}


@contextmanager
def chat_system(
    tmp_path_factory: pytest.TempPathFactory, sandbox_server: RunningSandbox, **env: str
) -> Iterator[System]:
    """Redis, one worker (all queues) and the bot, with roomy flood limits."""
    tmp = tmp_path_factory.mktemp("chat")
    with running_system(
        tmp, sandbox_server.url, sandbox_server.token, **{**ROOMY_LIMITS, **env}
    ) as running:
        running.sandbox.set_limits(
            chat_per_second=ROOMY_SANDBOX_LIMITS["chat_per_second"],
            chat_burst=int(ROOMY_SANDBOX_LIMITS["chat_burst"]),
            group_per_minute=ROOMY_SANDBOX_LIMITS["group_per_minute"],
        )
        with running.starting():
            running.start_worker(concurrency=4)
            running.start_bot()
        yield running


def running_bot(system: System) -> Process:
    """The bot process now running."""
    bots = [p for p in system.processes if p.name.startswith("bot") and p.running]
    assert len(bots) == 1, [p.name for p in bots]
    return bots[0]


def restart_bot(system: System, **env: str) -> Process:
    """Stop the bot (SIGTERM, as a redeploy does) and start a new one."""
    running_bot(system).kill(signal.SIGTERM)
    return system.start_bot(**env)


def text_of(message: Message) -> str:
    return message.text or ""


def order_id_of(message: Message) -> str:
    match = ORDER_ID.search(text_of(message))
    assert match, message.text
    return match.group(0)


def is_status(message: Message) -> bool:
    return text_of(message).startswith("🧾 ") and ORDER_ID.search(text_of(message)) is not None


def status_of(chat: Chat, order_id: str) -> Message:
    """The order's status message as the chat shows it now."""
    return chat.wait_for(lambda m: is_status(m) and order_id in text_of(m))


def place_order(chat: Chat, lang: str, what: str) -> tuple[str, Message]:
    """`/pedido <what>`; the order id and its status message."""
    sent = chat.send(f"{WORDS[lang]['order']} {what}")
    status = chat.wait_for(lambda m: is_status(m) and what in text_of(m), after=sent.message_id)
    return order_id_of(status), status


def containing(text: str, after: int | None = None) -> Any:
    """A predicate for `Chat.wait_for`: a bot message whose text contains `text`."""
    return lambda m: text in text_of(m) and (after is None or m.message_id > after)


def count_containing(chat: Chat, text: str) -> int:
    return sum(1 for m in chat.bot_messages() if text in text_of(m))


def chat_events(system: System, chat: Chat, kind: str) -> list[dict[str, Any]]:
    """Every event of one kind in the chat so far (sandbox event log), oldest first."""
    events = system.sandbox.wait_events(0, chat_id=chat.chat_id, timeout=0)["events"]
    return [e for e in events if e["type"] == kind]


def buttons_of(message: Message) -> list[str]:
    return [label for row in message.buttons for label in row]
