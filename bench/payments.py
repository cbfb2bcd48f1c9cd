"""Pre-checkout benchmark: how fast the bot answers pre-checkout queries while 150 chats
burst it at once, against its plain reply latency in the same run.

The system is the real one (a fresh redis-server, the bot, one `celery worker`) under
Telegram's real limits in the sandbox (30 messages/s per bot, 1/s per chat). First PAYERS
chats each check out a cart and get an invoice; then BURST other chats send /ayuda at once
while the payers pay. Printed: the time a payment takes in the sandbox (the pre-checkout
query, the bot's answer and the successful_payment message) p50/p99, the /ayuda → reply
latency p50/p99 (the baseline: replies queue for Telegram's 30/s, answers to pre-checkout
queries are not sends and do not), and their ratio. Goal: pre-checkout p99 < 1 s (Telegram
fails the payment at 10 s).
"""

from __future__ import annotations

import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bench._system import bench_system
from core.catalogue import parse_catalogue
from core.catalogue.store import CatalogueStore
from sandbox.client import Chat, SandboxClient
from sandbox.payments import DEFAULT_PROVIDER_TOKEN
from tests.support.processes import ROOT, wait_until
from tests.support.system import System

PAYERS = 20
BURST = 150
INFO = {"name": "Ana", "phone_number": "+34600111222"}


def _events(sandbox: SandboxClient, since: int) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    while True:
        events = sandbox.wait_events(since, timeout=0)["events"]
        if not events:
            return found
        found += events
        since = max(e["seq"] for e in events)


def _invoice(system: System, chat: Chat) -> None:
    system.client.hset(f"pedidos:cart:{chat.chat_id}", "PZ-MARG", 1)
    chat.send("/carrito")
    cart = chat.wait_for(lambda m: "Tu carrito" in (m.text or ""), timeout=60)
    chat.press("💳 Pagar", message_id=cart.message_id)
    chat.wait_for(lambda m: m.invoice is not None, timeout=60)


def _pay(chat: Chat) -> tuple[float, str]:
    began = time.monotonic()
    outcome = chat.pay(order_info=INFO)
    return time.monotonic() - began, str(outcome["status"])


def _p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[-1] if len(values) > 1 else values[0]


def main() -> None:
    started = time.monotonic()
    with bench_system(
        "bench-pay-",
        CATALOG_FILE=str(ROOT / "demo" / "catalogue.csv"),
        PAYMENT_METHODS="telegram",
        PAYMENT_PROVIDER_TOKEN=DEFAULT_PROVIDER_TOKEN,
    ) as system:
        sandbox = system.sandbox
        demo = (ROOT / "demo" / "catalogue.csv").read_bytes()
        CatalogueStore(system.db).replace_all(parse_catalogue(demo, default_currency="EUR"))
        system.start_worker()
        system.start_bot()
        payers = [system.private_chat(first_name=f"P{i}") for i in range(PAYERS)]
        with ThreadPoolExecutor(5) as pool:
            list(pool.map(lambda c: _invoice(system, c), payers))
        crowd = [system.private_chat(first_name=f"B{i}") for i in range(BURST)]
        time.sleep(2)  # let the checkout's sends leave the buckets
        since = int(sandbox.wait_events(2**62, timeout=0)["seq"])
        with ThreadPoolExecutor(BURST + PAYERS) as pool:
            asked = [pool.submit(c.send, "/ayuda") for c in crowd]
            paid = [pool.submit(_pay, c) for c in payers]
            payments = [f.result() for f in paid]
            for f in asked:
                f.result()
        ids = {c.chat_id for c in crowd}
        wait_until(
            lambda: len({e["chat_id"] for e in _events(sandbox, since) if _reply(e, ids)}) >= BURST,
            300,
            "every /ayuda answered",
        )
        events = _events(sandbox, since)
    sent: dict[int, float] = {}
    answered: dict[int, float] = {}
    for e in events:
        if e["type"] != "message" or int(e["chat_id"]) not in ids:
            continue
        if e["message"]["from_bot"]:
            answered.setdefault(int(e["chat_id"]), e["time"])
        else:
            sent.setdefault(int(e["chat_id"]), e["time"])
    replies = [answered[c] - sent[c] for c in answered if c in sent]
    pays = [seconds for seconds, _ in payments]
    ok = sum(1 for _, status in payments if status == "paid")
    print(f"{PAYERS} payments while {BURST} chats send /ayuda at once (1 worker, real limits):")
    print(f"  payments paid: {ok}/{PAYERS}")
    pay50, reply50 = statistics.median(pays), statistics.median(replies)
    print(f"  payment (pre-checkout answered): p50 {pay50:.3f} s, p99 {_p99(pays):.3f} s")
    print(f"  /ayuda → reply (baseline): p50 {reply50:.3f} s, p99 {_p99(replies):.3f} s")
    print(f"  ratio p99 pre-checkout ÷ p99 reply: {_p99(pays) / _p99(replies):.3f}")
    print(f"(bench took {time.monotonic() - started:.0f} s)")


def _reply(event: dict[str, Any], chats: set[int]) -> bool:
    return (
        event["type"] == "message"
        and int(event["chat_id"]) in chats
        and bool(event["message"]["from_bot"])
    )


if __name__ == "__main__":
    main()
