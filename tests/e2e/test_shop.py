"""The shop for customers, end to end through the sandbox: /menu with product photos and the
cart's buttons, /carrito across a bot restart, /pedido text matched and confirmed, the last
unit raced by two chats, and a price change that never alters a placed order."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.catalogue.loading import read_file, with_photos
from core.catalogue.store import CatalogueStore
from core.orders.states import OrderState
from sandbox import RunningSandbox
from sandbox.client import Chat, Message
from tests.e2e.test_orders import completed
from tests.support.processes import ROOT, wait_until
from tests.support.system import System, running_system

DEMO = ROOT / "demo"


def load_demo(catalogue: CatalogueStore) -> None:
    """The demo catalogue as the bot loads CATALOG_FILE (photos named beside it)."""
    folder = DEMO
    products = with_photos(read_file(DEMO / "catalogue.csv", "EUR"), folder)
    catalogue.replace_all(products)


@pytest.fixture(scope="module")
def system(
    tmp_path_factory: pytest.TempPathFactory, sandbox_server: RunningSandbox
) -> Iterator[System]:
    tmp = tmp_path_factory.mktemp("shop")
    with running_system(
        tmp, sandbox_server.url, sandbox_server.token, CATALOG_FILE=str(DEMO / "catalogue.csv")
    ) as running:
        load_demo(CatalogueStore(running.db))
        with running.starting():
            running.start_worker()
            running.start_bot()
        yield running


@pytest.fixture
def catalogue(system: System) -> CatalogueStore:
    return CatalogueStore(system.db)


def text_of(message: Message) -> str:
    return message.text or message.caption or ""


def press(chat: Chat, label: str, message: Message) -> dict:
    return chat.callback_answer(chat.press(label, message_id=message.message_id))


def confirmed_in(chat: Chat, summary: Message) -> Message:
    """The summary (or cart) message once it became the order's status message."""
    return chat.wait_for(
        lambda m: m.message_id == summary.message_id and "Pedido P-" in text_of(m), timeout=30
    )


def placed_ids(message: Message) -> list[str]:
    return re.findall(r"P-[0-9A-Z]{6}", text_of(message))


def test_menu_shows_categories_then_product_cards_with_photos(system: System) -> None:
    chat = system.private_chat()
    chat.send("/menu")
    menu = chat.wait_for(lambda m: "Menú" in text_of(m))
    assert ["Pizzas"] in menu.buttons and ["🛒 Carrito"] in menu.buttons
    press(chat, "Pizzas", menu)
    card = chat.wait_for(lambda m: "Margarita" in text_of(m) and bool(m.media))
    assert re.search(r"9,50\s€", text_of(card)), text_of(card)
    assert card.buttons[0] == ["−", "1", "+"] and card.buttons[2] == ["1/3", "▶"]
    # + then Añadir (2): the toast says what went in the cart.
    press(chat, "+", card)
    card = chat.wait_for(
        lambda m: m.message_id == card.message_id and m.buttons[1] == ["Añadir (2)"]
    )
    answer = press(chat, "Añadir (2)", card)
    assert "2× Pizza Margarita" in answer["text"]
    assert system.client.hget(f"pedidos:cart:{chat.chat_id}", "PZ-MARG") == "2"
    # ▶ shows the next pizza in the same message, with its own photo.
    first_photo = card.media[0].file_unique_id
    press(chat, "▶", card)
    card = chat.wait_for(lambda m: m.message_id == card.message_id and "Cuatro" in text_of(m))
    assert card.media[0].file_unique_id != first_photo
    assert card.buttons[2] == ["◀", "2/3", "▶"]


def test_cart_is_priced_survives_a_bot_restart_and_checks_out(
    system: System, catalogue: CatalogueStore
) -> None:
    chat = system.private_chat()
    system.client.hset(f"pedidos:cart:{chat.chat_id}", mapping={"PZ-MARG": 2, "BEB-COLA": 1})
    bot = next(p for p in system.processes if p.name.startswith("bot") and p.running)
    bot.kill()
    system.start_bot()

    chat.send("/carrito")
    cart = chat.wait_for(lambda m: "Tu carrito" in text_of(m))
    body = text_of(cart)
    assert "2× Pizza Margarita" in body and "1× Coca-Cola" in body
    assert re.search(r"Total: 21,50\s€", body), body
    press(chat, "Confirmar pedido", cart)
    confirmed = confirmed_in(chat, cart)
    [order_id] = placed_ids(confirmed)
    chat.wait_for(lambda m: completed(m) and order_id in text_of(m), timeout=60)

    order = system.store.get(order_id)
    assert (order.currency, order.total, order.state) == ("EUR", 2150, OrderState.COMPLETADO)
    assert [(ln.sku, ln.quantity, ln.line_total) for ln in system.store.lines(order_id)] == [
        ("PZ-MARG", 2, 1900),
        ("BEB-COLA", 1, 250),
    ]
    assert system.client.hlen(f"pedidos:cart:{chat.chat_id}") == 0


def test_pedido_text_is_matched_priced_and_confirmed(system: System) -> None:
    chat = system.private_chat()
    chat.send("/pedido 2 pizzas margarita y una coca cola")
    summary = chat.wait_for(lambda m: "Tu pedido" in text_of(m))
    assert "2× Pizza Margarita" in text_of(summary) and "1× Coca-Cola" in text_of(summary)
    assert re.search(r"Total: 21,50\s€", text_of(summary))
    press(chat, "Confirmar", summary)
    done = confirmed_in(chat, summary)
    [order_id] = placed_ids(done)
    chat.wait_for(lambda m: completed(m) and order_id in text_of(m), timeout=60)
    # A second tap on the same summary places nothing more.
    assert system.store.count(chat.chat_id) == 1


def test_text_that_matches_nothing_gets_close_products_and_the_menu(system: System) -> None:
    chat = system.private_chat()
    chat.send("/pedido pizza hawaiana con piña")
    reply = chat.wait_for(lambda m: "No encontré" in text_of(m) or "Tu pedido" in text_of(m))
    assert any("➕" in label for row in reply.buttons for label in row), reply.buttons
    assert "/menu" in text_of(reply)
    assert system.store.count(chat.chat_id) == 0


def settled(message: Message, summary: Message) -> bool:
    """The checkout's outcome: "agotado", or the summary confirmed."""
    confirmed = message.message_id == summary.message_id and "Pedido P-" in text_of(message)
    return confirmed or "agotado" in text_of(message)


def test_the_last_unit_goes_to_one_of_two_chats(system: System, catalogue: CatalogueStore) -> None:
    catalogue.set_stock("POS-TIRA", 1)
    ana, luis = system.private_chat(), system.private_chat(first_name="Luis")
    summaries = []
    for chat in (ana, luis):
        chat.send("/pedido 1 tiramisu")
        summaries.append(chat.wait_for(lambda m: "Tu pedido" in text_of(m)))
    for chat, summary in zip((ana, luis), summaries, strict=True):
        chat.press("Confirmar", message_id=summary.message_id)
    outcomes = []
    for chat, summary in zip((ana, luis), summaries, strict=True):
        outcomes.append(chat.wait_for(lambda m, s=summary: settled(m, s), timeout=30))
    assert sorted("agotado" in text_of(m) for m in outcomes) == [False, True]
    assert catalogue.get("POS-TIRA").stock == 0  # type: ignore[union-attr]
    assert system.store.count(ana.chat_id) + system.store.count(luis.chat_id) == 1


def test_a_price_change_after_checkout_does_not_touch_the_order(
    system: System, catalogue: CatalogueStore
) -> None:
    chat = system.private_chat()
    chat.send("/pedido 1 cafe con leche")
    summary = chat.wait_for(lambda m: "Tu pedido" in text_of(m))
    press(chat, "Confirmar", summary)
    done = confirmed_in(chat, summary)
    [order_id] = placed_ids(done)
    before = system.store.get(order_id).total
    catalogue.set_price("CAF-LECHE", 999)
    assert system.store.get(order_id).total == before
    assert system.store.lines(order_id)[0].unit_price == before
    wait_until(lambda: system.store.state_of(order_id) is OrderState.COMPLETADO, 60)


def test_a_customer_erases_their_data_and_the_books_keep_the_amounts(system: System) -> None:
    chat = system.private_chat()
    chat.send("/pedido 1 agua")
    summary = chat.wait_for(lambda m: "Tu pedido" in text_of(m))
    press(chat, "Confirmar", summary)
    [order_id] = placed_ids(confirmed_in(chat, summary))
    wait_until(lambda: system.store.state_of(order_id) is OrderState.COMPLETADO, 60)
    total = system.store.get(order_id).total

    chat.send("/borrar_mis_datos")
    ask = chat.wait_for(lambda m: "¿Borro tus datos" in text_of(m))
    press(chat, "Sí, borrar", ask)
    chat.wait_for(lambda m: m.message_id == ask.message_id and "borrados" in text_of(m))

    order = system.store.get(order_id)
    assert "agua" not in order.text.lower() and order.total == total
    assert system.store.lines(order_id)[0].sku == "BEB-AGUA"
    assert system.store.history(order_id)[-1].note == "datos personales borrados"


DOCS_SCREENSHOT = ROOT / "docs" / "shop-menu.png"


@pytest.mark.browser
def test_web_chat_shows_product_photos_and_the_cart_buttons(
    system: System, sandbox_server: RunningSandbox, tmp_path: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    from sandbox.screenshot import CHROMIUM, CHROMIUM_ARGS

    chat = system.private_chat(first_name="Ana")
    user = chat.chat_id
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            page.goto(f"{sandbox_server.url}/?user={user}&name=Ana&lang=es&chat={user}")
            bot_bubbles = page.locator(".row:not(.out) .bubble")
            page.fill("#text-input", "/menu")
            page.press("#text-input", "Enter")
            expect(bot_bubbles.last).to_contain_text("Elige una categoría")
            page.get_by_role("button", name="Pizzas").click()
            card = page.locator(".row:not(.out)").filter(has_text="Pizza Margarita")
            expect(card.locator("img")).to_have_count(1)
            expect(card.get_by_role("button", name="Añadir (1)")).to_have_count(1)
            card.get_by_role("button", name="+").click()
            expect(card.get_by_role("button", name="Añadir (2)")).to_have_count(1)
            card.get_by_role("button", name="Añadir (2)").click()
            expect(page.locator("#toast")).to_contain_text("2× Pizza Margarita")
            page.fill("#text-input", "/carrito")
            page.press("#text-input", "Enter")
            expect(bot_bubbles.last).to_contain_text("Tu carrito")
            expect(page.get_by_role("button", name="Confirmar pedido")).to_have_count(1)
            page.screenshot(path=str(tmp_path / "shop.png"))
        finally:
            browser.close()
    assert (tmp_path / "shop.png").stat().st_size > 10_000
    if os.environ.get("UPDATE_DOCS") == "1":
        shutil.copyfile(tmp_path / "shop.png", DOCS_SCREENSHOT)
