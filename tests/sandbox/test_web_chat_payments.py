"""Paying in the web chat, in headless Chromium: the invoice message, the payment form (name,
phone, address, the bot's shipping options, Pay) and what the user sees afterwards."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from sandbox.client import SandboxClient
from sandbox.screenshot import CHROMIUM, CHROMIUM_ARGS
from tests.sandbox.payments_support import DELIVERY, SHIPPING_OPTIONS


class ShopBot:
    """A tiny shop polling the sandbox: /pagar sends a delivery invoice; shipping only to
    28013; the pre-checkout answer is `ok`, `refuse` or `silent` (no answer at all)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.mode = "ok"
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.session = requests.Session()

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        return dict(self.session.post(f"{self.base}/{method}", json=params, timeout=30).json())

    def handle(self, update: dict[str, Any]) -> None:
        if "message" in update and update["message"].get("text") == "/pagar":
            self.call("sendInvoice", **{**DELIVERY, "chat_id": update["message"]["chat"]["id"]})
        elif "shipping_query" in update:
            query = update["shipping_query"]
            if query["shipping_address"]["post_code"] == "28013":
                self.call(
                    "answerShippingQuery",
                    shipping_query_id=query["id"],
                    ok=True,
                    shipping_options=SHIPPING_OPTIONS,
                )
            else:
                self.call(
                    "answerShippingQuery",
                    shipping_query_id=query["id"],
                    ok=False,
                    error_message="No repartimos en ese código postal",
                )
        elif "pre_checkout_query" in update and self.mode != "silent":
            query_id = update["pre_checkout_query"]["id"]
            if self.mode == "ok":
                self.call("answerPreCheckoutQuery", pre_checkout_query_id=query_id, ok=True)
            else:
                self.call(
                    "answerPreCheckoutQuery",
                    pre_checkout_query_id=query_id,
                    ok=False,
                    error_message="Se agotó la pizza margarita",
                )

    def run(self) -> None:
        offset = 0
        while not self.stopped.is_set():
            for update in self.call("getUpdates", offset=offset, timeout=1).get("result", []):
                offset = update["update_id"] + 1
                self.handle(update)

    def __enter__(self) -> ShopBot:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped.set()
        self.thread.join(5)
        self.session.close()


@pytest.fixture
def shop(sandbox: SandboxClient) -> Iterator[ShopBot]:
    with ShopBot(f"{sandbox.api_url}/bot{sandbox.token}") as bot:
        yield bot


@pytest.mark.browser
def test_paying_an_invoice_in_the_web_chat(sandbox: SandboxClient, shop: ShopBot) -> None:
    from playwright.sync_api import Page, expect, sync_playwright

    chat = sandbox.private_chat(user_id=1001, first_name="Ana", language_code="es")
    sandbox.configure(precheckout_timeout=1.5)  # for the unanswered payment below

    def fill_and_continue(page: Page, post_code: str) -> None:
        page.get_by_role("button", name="Pay 18,00 €").last.click()
        expect(page.locator("#pay-title")).to_have_text("Pedido P-7K2Q4F")
        form = page.locator("#pay-form")
        expect(form.get_by_label("Email")).to_be_hidden()  # the invoice does not ask for it
        form.get_by_label("Name", exact=True).fill("Ana Pérez")
        form.get_by_label("Phone").fill("+34600111222")
        form.get_by_label("Street", exact=True).fill("Calle Mayor 1")
        form.get_by_label("City").fill("Madrid")
        form.get_by_label("Post code").fill(post_code)
        form.get_by_role("button", name="Continue").click()

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(locale="es-ES")
            page.goto(f"{sandbox.url}/?user=1001&name=Ana&lang=es&chat=1001")
            page.fill("#text-input", "/pagar")
            page.press("#text-input", "Enter")
            invoice = page.locator(".invoice").last
            expect(invoice).to_contain_text("Pedido P-7K2Q4F")
            expect(invoice).to_contain_text("18,00")

            # An address the shop does not deliver to: the bot's words, and no charge.
            fill_and_continue(page, "08001")
            expect(page.locator("#pay-outcome")).to_have_text("No repartimos en ese código postal")
            page.get_by_role("button", name="Close").click()

            # Delivered to 28013: the bot's options, the express one chosen, paid.
            fill_and_continue(page, "28013")
            expect(page.locator("#pay-shipping option")).to_have_count(2)
            page.locator("#pay-form").get_by_label("Shipping").select_option("express")
            pay = page.locator("#pay-submit")
            expect(pay).to_contain_text("23,00")
            pay.click()
            expect(page.locator("#pay-outcome")).to_contain_text("Paid")
            expect(page.locator("#pay-outcome")).to_contain_text("23,00")
            page.get_by_role("button", name="Close").click()
            expect(page.locator(".service-pill").last).to_contain_text("You paid")

            # The bot refuses at pre-checkout, then does not answer at all.
            for mode, shown in (("refuse", "Se agotó"), ("silent", "BOT_PRECHECKOUT_TIMEOUT")):
                shop.mode = mode
                page.fill("#text-input", "/pagar")
                page.press("#text-input", "Enter")
                expect(page.locator(".invoice")).to_have_count(2 if mode == "refuse" else 3)
                fill_and_continue(page, "28013")
                expect(page.locator("#pay-shipping option")).to_have_count(2)
                page.locator("#pay-submit").click()
                expect(page.locator("#pay-outcome")).to_contain_text(shown, timeout=10_000)
                page.get_by_role("button", name="Close").click()
        finally:
            browser.close()

    [charge] = sandbox.payments()
    assert charge["total_amount"] == 2300
    assert charge["successful_payment"]["shipping_option_id"] == "express"
    paid = [m for m in chat.messages() if m.successful_payment]
    assert len(paid) == 1
    assert paid[0].successful_payment is not None
    assert paid[0].successful_payment["order_info"]["shipping_address"]["post_code"] == "28013"
