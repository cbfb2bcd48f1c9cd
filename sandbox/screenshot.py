"""`python -m sandbox.screenshot [out.png]`: a demo conversation in the web chat, screenshotted."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import requests
from PIL import Image, ImageDraw

from sandbox.runner import run_in_thread

# Debian's Chromium, headless; these flags keep it off the (closed) network at start-up.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "docs" / "web-chat.png"


def demo_image(width: int, height: int) -> bytes:
    """A colourful stand-in photo (a pizza, more or less)."""
    image = Image.new("RGB", (width, height), (244, 214, 160))
    draw = ImageDraw.Draw(image)
    cx, cy, r = width // 2, height // 2, min(width, height) // 2 - 10
    draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=(214, 120, 50))
    draw.ellipse((cx - r + 18, cy - r + 18, cx + r - 18, cy + r - 18), fill=(230, 70, 45))
    for dx, dy in ((-0.4, -0.3), (0.3, -0.35), (0.0, 0.1), (-0.35, 0.4), (0.4, 0.35)):
        x, y, s = cx + dx * r, cy + dy * r, r * 0.12
        draw.ellipse((x - s, y - s, x + s, y + s), fill=(250, 240, 220))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def stage(url: str, token: str) -> None:
    """A conversation like pedidos-bot's: an order with progress edits, a photo and an album."""
    client = requests.Session()
    base = f"{url}/bot{token}"
    api = f"{url}/sandbox/api"
    ana = {"id": 1001, "first_name": "Ana", "language_code": "es"}
    client.post(f"{api}/chats", json={"id": 1001, "type": "private", "user": ana})
    client.post(
        f"{api}/chats",
        json={"id": -1002, "title": "Tienda Centro", "user": {"id": 1002, "first_name": "Luis"}},
    )
    client.post(
        f"{api}/chats/1001/messages", json={"from": ana, "text": "/pedido 2 pizzas margarita"}
    )
    keyboard = {"inline_keyboard": [[{"text": "Cancelar", "callback_data": "cancel:P-7K2Q4F"}]]}
    sent = client.post(
        f"{base}/sendMessage",
        json={
            "chat_id": 1001,
            "text": "Pedido <b>P-7K2Q4F</b> recibido\n▱▱▱ 0%",
            "parse_mode": "HTML",
            "reply_markup": keyboard,
        },
    ).json()["result"]
    for text in ("validando pago\n▰▱▱ 33%", "preparando envío\n▰▰▱ 66%"):
        client.post(
            f"{base}/editMessageText",
            json={
                "chat_id": 1001,
                "message_id": sent["message_id"],
                "text": f"Pedido <b>P-7K2Q4F</b>: {text}",
                "parse_mode": "HTML",
                "reply_markup": keyboard,
            },
        )
    _media(client, api, base)
    client.post(
        f"{base}/sendMessage",
        json={"chat_id": 1001, "text": "Listo. Consulta tus pedidos con /estado"},
    )


def _media(client: requests.Session, api: str, base: str) -> None:
    """Ana's photo, and the bot's album of three sizes."""
    client.post(
        f"{api}/chats/1001/photo",
        data={"from": '{"id": 1001, "first_name": "Ana"}', "caption": "¿me la redimensionas?"},
        files={"photo": ("pizza.jpg", demo_image(1600, 1200), "image/jpeg")},
    )
    media = [
        {"type": "photo", "media": "attach://large", "caption": "Grande, mediana y miniatura"},
        {"type": "photo", "media": "attach://medium"},
        {"type": "photo", "media": "attach://thumb"},
    ]
    client.post(
        f"{base}/sendMediaGroup",
        data={"chat_id": "1001", "media": json.dumps(media)},
        files={
            "thumb": ("t.jpg", demo_image(150, 150), "image/jpeg"),
            "medium": ("m.jpg", demo_image(800, 600), "image/jpeg"),
            "large": ("l.jpg", demo_image(1920, 1080), "image/jpeg"),
        },
    )


def main(argv: list[str]) -> None:
    """Serve a sandbox, stage the demo, screenshot the page with headless Chromium."""
    from playwright.sync_api import expect, sync_playwright

    out = Path(argv[0]) if argv else DEFAULT_OUT
    out.parent.mkdir(parents=True, exist_ok=True)
    with run_in_thread() as server:
        stage(server.url, server.token)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
            )
            try:
                page = browser.new_page(
                    viewport={"width": 1280, "height": 1040}, reduced_motion="reduce"
                )
                page.goto(f"{server.url}/?user=1001&name=Ana&chat=1001")
                expect(page.locator(".row")).to_have_count(5)
                page.wait_for_function(
                    "[...document.images].every((img) => img.complete && img.naturalWidth > 0)"
                )
                page.evaluate(
                    "() => { const b = document.getElementById('messages');"
                    " b.scrollTop = b.scrollHeight; }"
                )
                page.screenshot(path=str(out))
            finally:
                browser.close()
    print(f"saved {out}")


if __name__ == "__main__":
    main(sys.argv[1:])
