"""The command menu in both languages, and "typing…" / "uploading photo…" while replies take
a moment, end to end."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from PIL import Image

from sandbox import RunningSandbox
from sandbox.client import Chat
from tests.support.chat import WORDS, chat_events, chat_system, containing, restart_bot
from tests.support.system import System


@pytest.fixture(scope="module")
def system(
    tmp_path_factory: pytest.TempPathFactory, sandbox_server: RunningSandbox
) -> Iterator[System]:
    with chat_system(tmp_path_factory, sandbox_server) as running:
        yield running


def test_the_command_menu_is_set_in_both_languages_at_start_up(system: System) -> None:
    menus = {
        (entry["scope"], entry["language_code"]): [c["command"] for c in entry["commands"]]
        for entry in system.sandbox.commands()
    }
    assert menus[("default", "")] == ["pedido", "estado", "pedidos", "cancelar", "ayuda"]
    assert menus[("default", "en")] == ["order", "status", "orders", "cancel", "help"]


def test_admin_chats_also_see_the_admin_commands(system: System) -> None:
    admin = system.private_chat(first_name="Admin")
    unknown = 4_242_424  # an admin chat the bot has not met: skipped, the bot still starts
    restart_bot(system, ADMIN_CHAT_IDS=f"{unknown},{admin.chat_id}")
    try:
        menus = {
            (entry["scope"], entry["language_code"]): [c["command"] for c in entry["commands"]]
            for entry in system.sandbox.commands()
        }
        assert menus[(f"chat:{admin.chat_id}", "")] == [
            *["pedido", "estado", "pedidos", "cancelar", "ayuda"],
            *["atrasados", "entregas", "informe", "exportar", "importar"],
            *["catalogo", "precio", "stock", "agotado"],
        ]
        assert menus[(f"chat:{admin.chat_id}", "en")] == [
            *["order", "status", "orders", "cancel", "help"],
            *["stale", "deliveries", "report", "export", "import"],
            *["catalogue", "price", "stock", "soldout"],
        ]
        assert not any(scope == f"chat:{unknown}" for scope, _ in menus)
        assert menus[("default", "")] == ["pedido", "estado", "pedidos", "cancelar", "ayuda"]
        # The bot runs: it answers the admin.
        admin.send("/ayuda")
        admin.wait_for(containing(WORDS["es"]["orders"]))
    finally:
        restart_bot(system)


@pytest.mark.parametrize("lang", ["es", "en"])
def test_help_lists_the_chat_commands(system: System, lang: str) -> None:
    chat = system.private_chat(language=lang)
    chat.send({"es": "/ayuda", "en": "/help"}[lang])
    shown = chat.wait_for(containing(WORDS[lang]["orders"]))
    assert WORDS[lang]["cancel"] in (shown.text or "")


def reply_events(system: System, chat: Chat) -> list[tuple[str, str]]:
    """What the chat saw, in order: ("action", name) and ("message", first words)."""
    events = system.sandbox.wait_events(0, chat_id=chat.chat_id, timeout=0)["events"]
    seen = []
    for event in events:
        if event["type"] == "chat_action":
            seen.append(("action", event["action"]))
        elif event["type"] == "message" and event["message"]["from_bot"]:
            seen.append(("message", (event["message"]["text"] or "")[:12]))
    return seen


@pytest.mark.parametrize("lang", ["es", "en"])
def test_typing_shows_while_a_reply_is_slow_and_not_when_it_is_quick(
    system: System, lang: str
) -> None:
    chat = system.private_chat(language=lang)
    chat.send(WORDS[lang]["orders"])
    chat.wait_for(containing("/"))
    assert chat_events(system, chat, "chat_action") == []  # a quick reply needs no "typing…"

    system.sandbox.set_latency(1.5, method="sendMessage")  # Telegram is slow right now
    try:
        sent = chat.send(WORDS[lang]["status"])
        chat.wait_for(containing("/", after=sent.message_id), timeout=15)
    finally:
        system.sandbox.set_latency(0, method="sendMessage")

    seen = reply_events(system, chat)
    assert seen[1] == ("action", "typing"), seen  # before the slow reply arrived
    assert seen[2][0] == "message", seen


def jpeg(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (230, 120, 40)).save(buffer, "JPEG")
    return buffer.getvalue()


def test_uploading_photo_shows_before_the_album(system: System) -> None:
    chat = system.private_chat()
    chat.send_photo(jpeg(1600, 1200))
    album = chat.wait_for_count(lambda m: m.media_group_id is not None, n=3, timeout=30)

    actions = chat_events(system, chat, "chat_action")
    assert [a["action"] for a in actions] == ["upload_photo"]
    first_photo = min(m.message_id for m in album)
    album_events = [
        e
        for e in system.sandbox.wait_events(0, chat_id=chat.chat_id, timeout=0)["events"]
        if e["type"] == "message" and e["message"]["message_id"] == first_photo
    ]
    assert actions[0]["seq"] < album_events[0]["seq"]
