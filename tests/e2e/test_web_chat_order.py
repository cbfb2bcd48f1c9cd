"""A guided order in the sandbox's web chat, in headless Chromium, against the whole system:
type /pedido, answer, press Confirmar, watch the status message fill up in place."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox import RunningSandbox
from sandbox.screenshot import CHROMIUM, CHROMIUM_ARGS
from tests.support.chat import chat_system, containing, text_of
from tests.support.system import System

DOCS_SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "guided-order.png"
# `UPDATE_DOCS=1 make test` refreshes the README's screenshot; a plain run leaves docs/ alone.
UPDATE_DOCS = os.environ.get("UPDATE_DOCS") == "1"


@pytest.fixture(scope="module")
def system(
    tmp_path_factory: pytest.TempPathFactory, sandbox_server: RunningSandbox
) -> Iterator[System]:
    # Steps slow enough to see the bar move in the page.
    with chat_system(tmp_path_factory, sandbox_server, STEP_SECONDS="0.4") as running:
        yield running


@pytest.mark.browser
def test_web_chat_walks_a_guided_order_with_buttons(
    system: System, sandbox_server: RunningSandbox, tmp_path: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    chat = system.private_chat(first_name="Ana")
    user = chat.chat_id
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 860})
            page.goto(f"{sandbox_server.url}/?user={user}&name=Ana&lang=es&chat={user}")
            expect(page.locator("#conv-title")).to_have_text("Ana")
            bot_bubbles = page.locator(".row:not(.out) .bubble")

            page.fill("#text-input", "/pedido")
            page.press("#text-input", "Enter")
            expect(bot_bubbles.last).to_contain_text("Dime qué quieres pedir")
            expect(page.get_by_role("button", name="Cancelar")).to_have_count(1)
            page.screenshot(path=str(tmp_path / "1-question.png"))

            page.fill("#text-input", "2 pizzas margarita y una fanta")
            page.press("#text-input", "Enter")
            expect(bot_bubbles.last).to_contain_text("¿Confirmas este pedido?")
            for label in ("Confirmar", "Cambiar", "Cancelar"):
                expect(page.get_by_role("button", name=label)).to_have_count(1)
            page.screenshot(path=str(tmp_path / "2-confirm.png"))

            page.get_by_role("button", name="Confirmar").click()
            expect(page.locator("#toast")).to_contain_text("Pedido confirmado")
            expect(bot_bubbles.last).to_contain_text("está completado", timeout=20_000)
            status = page.locator(".row:not(.out)").filter(has_text="🧾 Pedido")
            expect(status.locator(".bubble")).to_contain_text("100%")
            expect(status.locator(".bubble")).to_contain_text("Estado: completado")
            expect(status.get_by_role("button", name="Actualizar")).to_have_count(1)
            expect(page.get_by_role("button", name="Cancelar")).to_have_count(0)
            expect(page.locator("#toast")).to_be_hidden()
            page.screenshot(path=str(tmp_path / "3-completed.png"))

            status.get_by_role("button", name="Actualizar").click()
            expect(page.locator("#toast")).to_contain_text("Actualizado")
            page.screenshot(path=str(tmp_path / "4-refreshed.png"))
        finally:
            browser.close()

    shots = sorted(tmp_path.glob("*.png"))
    assert [p.name for p in shots] == [
        "1-question.png",
        "2-confirm.png",
        "3-completed.png",
        "4-refreshed.png",
    ]
    assert all(p.stat().st_size > 10_000 for p in shots)
    if UPDATE_DOCS:
        shutil.copyfile(tmp_path / "3-completed.png", DOCS_SCREENSHOT)

    # What the page showed is what the chat holds: one status message, edited in place.
    status_message = chat.wait_for(containing("🧾 Pedido"))
    assert "2 pizzas margarita y una fanta" in text_of(status_message)
    assert [line for text in status_message.edits for line in text.splitlines() if "Paso" in line]
