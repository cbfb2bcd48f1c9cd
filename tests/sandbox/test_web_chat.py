"""The web chat page in headless Chromium: send text and a photo, see the bot reply and edit."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from sandbox.client import SandboxClient
from sandbox.screenshot import CHROMIUM, CHROMIUM_ARGS
from tests.sandbox.conftest import image_bytes


class EchoBot:
    """A tiny bot polling the sandbox with requests: answers, then edits its answer."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.session = requests.Session()

    def call(self, method: str, **params: object) -> dict:
        return dict(self.session.post(f"{self.base}/{method}", json=params, timeout=30).json())

    def run(self) -> None:
        offset = 0
        while not self.stopped.is_set():
            updates = self.call("getUpdates", offset=offset, timeout=1)
            for update in updates.get("result", []):
                offset = update["update_id"] + 1
                message = update.get("message")
                if message is None:
                    continue
                chat_id = message["chat"]["id"]
                if "photo" in message:
                    largest = message["photo"][-1]
                    reply = f"Foto recibida {largest['width']}×{largest['height']}"
                else:
                    reply = f"Eco: {message.get('text', '')}"
                sent = self.call("sendMessage", chat_id=chat_id, text=reply + " ⏳")
                self.call("sendChatAction", chat_id=chat_id, action="typing")
                self.call(
                    "editMessageText",
                    chat_id=chat_id,
                    message_id=sent["result"]["message_id"],
                    text=f"<b>{reply}</b> ✓",
                    parse_mode="HTML",
                )

    def __enter__(self) -> EchoBot:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped.set()
        self.thread.join(5)
        self.session.close()


@pytest.fixture
def echo_bot(sandbox: SandboxClient) -> Iterator[EchoBot]:
    with EchoBot(f"{sandbox.api_url}/bot{sandbox.token}") as bot:
        yield bot


@pytest.mark.browser
@pytest.mark.usefixtures("roomy_limits")  # the echo bot sends and edits twice in a second
def test_web_chat_send_text_and_photo(
    sandbox: SandboxClient, echo_bot: EchoBot, tmp_path: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    chat = sandbox.private_chat(user_id=1001, first_name="Ana", language_code="es")
    photo = tmp_path / "pizza.jpg"
    photo.write_bytes(image_bytes(1600, 1200, color=(230, 120, 40)))

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 800})
            page.goto(f"{sandbox.url}/?user=1001&name=Ana&chat=1001")
            expect(page.locator("#conv-title")).to_have_text("Ana")

            page.fill("#text-input", "hola bot")
            page.press("#text-input", "Enter")
            expect(page.locator(".row.out .bubble").first).to_contain_text("hola bot")
            # The reply appears, then changes in place when the bot edits it.
            reply = page.locator(".row:not(.out) .bubble").first
            expect(reply).to_contain_text("Eco: hola bot")
            expect(reply).to_contain_text("✓")
            expect(reply.locator("b")).to_have_text("Eco: hola bot")
            expect(reply.locator(".edited")).to_be_visible()
            assert page.locator(".row:not(.out)").count() == 1

            page.set_input_files("#file-input", str(photo))
            expect(page.locator(".row.out img")).to_have_count(1)
            # A user's photo keeps up to 2560 px on Telegram: 1600×1200 stays as it is.
            expect(page.locator(".row.out img")).to_have_attribute("data-width", "1600")
            photo_reply = page.locator(".row:not(.out) .bubble").nth(1)
            expect(photo_reply).to_contain_text("Foto recibida 1600×1200 ✓")

            page.screenshot(path=str(tmp_path / "web-chat.png"), full_page=True)
        finally:
            browser.close()

    assert (tmp_path / "web-chat.png").stat().st_size > 10_000
    shown = chat.wait_for(lambda m: m.text == "Eco: hola bot ✓")
    assert shown.edits == ["Eco: hola bot ⏳", "Eco: hola bot ✓"]
    assert [m.media[0].width for m in chat.messages() if m.media] == [1600]


@pytest.mark.browser
def test_web_chat_buttons_and_alerts(sandbox: SandboxClient, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    chat = sandbox.private_chat(user_id=1001, first_name="Ana")
    base = f"{sandbox.api_url}/bot{sandbox.token}"
    keyboard = {"inline_keyboard": [[{"text": "Cancelar", "callback_data": "cancel"}]]}
    requests.post(
        f"{base}/sendMessage",
        json={"chat_id": 1001, "text": "¿Cancelar el pedido?", "reply_markup": keyboard},
        timeout=10,
    )
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page()
            page.goto(f"{sandbox.url}/?user=1001&name=Ana&chat=1001")
            page.get_by_role("button", name="Cancelar").click()
            update = requests.get(f"{base}/getUpdates", params={"timeout": 10}, timeout=20).json()
            query = update["result"][0]["callback_query"]
            assert query["data"] == "cancel"
            requests.post(
                f"{base}/answerCallbackQuery",
                json={
                    "callback_query_id": query["id"],
                    "text": "Pedido cancelado",
                    "show_alert": True,
                },
                timeout=10,
            )
            expect(page.locator("#alert-text")).to_have_text("Pedido cancelado")
            requests.post(
                f"{base}/editMessageReplyMarkup",
                json={"chat_id": 1001, "message_id": query["message"]["message_id"]},
                timeout=10,
            )
            expect(page.get_by_role("button", name="Cancelar")).to_have_count(0)
        finally:
            browser.close()
    assert chat.bot_messages()[0].buttons == []


@pytest.mark.browser
def test_web_chat_lists_each_chat_once(sandbox: SandboxClient) -> None:
    from playwright.sync_api import expect, sync_playwright

    # Given two customers called Ana (as a test's earlier customer and this one), a group, and a
    # second bot that also talks with user 1001.
    sandbox.private_chat(user_id=1001, first_name="Ana").send("hola")
    sandbox.private_chat(user_id=2002, first_name="Ana").send("soy la otra Ana")
    sandbox.group_chat(chat_id=-1002, title="Tienda", user_id=1001, first_name="Ana")
    other_bot = sandbox.add_bot("987654321:other-bot-token")
    other_bot.private_chat(user_id=1001, first_name="Ana")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page()
            page.goto(f"{sandbox.url}/?user=1001&name=Ana&chat=1001")
            names = page.locator("#chat-list .chat-name")
            # When Ana 1001 looks at her chats, then she sees her private chat once, and the group.
            expect(names).to_have_text(["Ana", "Tienda"])
            expect(page.locator(".row .bubble")).to_have_count(1)
            expect(page.locator(".row .bubble")).to_contain_text("hola")

            # The other bot's message to the same chat id is not this chat's.
            requests.post(
                f"{sandbox.api_url}/bot987654321:other-bot-token/sendMessage",
                json={"chat_id": 1001, "text": "otro bot"},
                timeout=10,
            ).raise_for_status()
            sandbox.private_chat(user_id=1001, first_name="Ana").send("sigo aquí")
            expect(page.locator(".row .bubble")).to_have_count(2)
            expect(page.locator(".row .bubble").last).to_contain_text("sigo aquí")
            expect(names).to_have_text(["Ana", "Tienda"])

            # Becoming the other Ana shows her private chat instead, still once.
            page.fill("#user-id", "2002")
            page.click("text=Save user & open private chat")
            expect(page.locator(".row .bubble").first).to_contain_text("soy la otra Ana")
            expect(names).to_have_text(["Ana", "Tienda"])
            expect(page.locator("#chat-list li.active .chat-preview")).to_have_text(
                "soy la otra Ana"
            )
        finally:
            browser.close()
