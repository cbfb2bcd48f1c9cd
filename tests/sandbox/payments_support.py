"""Helpers for the payment tests: a user paying in a thread of their own (the control call
returns once the payment ends) while the test plays the bot over the Bot API."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

from sandbox.client import SandboxClient
from sandbox.payments import DEFAULT_PROVIDER_TOKEN
from tests.sandbox.conftest import RawApi

ADDRESS = {
    "country_code": "ES",
    "state": "Madrid",
    "city": "Madrid",
    "street_line1": "Calle Mayor 1",
    "street_line2": "2º B",
    "post_code": "28013",
}
ORDER_INFO = {
    "name": "Ana Pérez",
    "phone_number": "+34600111222",
    "email": "ana@example.com",
    "shipping_address": ADDRESS,
}
DELIVERY = {
    "chat_id": 1001,
    "title": "Pedido P-7K2Q4F",
    "description": "2 pizzas margarita",
    "payload": "P-7K2Q4F.sig",
    "provider_token": DEFAULT_PROVIDER_TOKEN,
    "currency": "EUR",
    "prices": [{"label": "2 pizzas", "amount": 1800}],
    "need_name": True,
    "need_phone_number": True,
    "need_shipping_address": True,
    "is_flexible": True,
}
SHIPPING_OPTIONS = [
    {"id": "centro", "title": "Reparto centro", "prices": [{"label": "Envío", "amount": 250}]},
    {"id": "express", "title": "Express 30 min", "prices": [{"label": "Envío", "amount": 500}]},
]


class PlayedBot:
    """The test as the bot: reads updates with getUpdates, answers with the Bot API."""

    def __init__(self, api: RawApi) -> None:
        self.api = api
        self.offset = 0
        self.seen: list[dict[str, Any]] = []

    def updates(self, timeout: int = 0) -> list[dict[str, Any]]:
        answer = self.api("getUpdates", offset=self.offset, timeout=timeout)
        assert answer["ok"], answer
        for update in answer["result"]:
            self.offset = update["update_id"] + 1
            self.seen.append(update)
        return list(answer["result"])

    def next(self, kind: str, timeout: int = 10) -> dict[str, Any]:
        """The next update of this kind (its payload), long-polling for it."""
        for _ in range(timeout * 2 + 1):
            for update in self.updates(timeout=1):
                if kind in update:
                    return dict(update[kind])
        raise AssertionError(f"no {kind} update; saw {self.seen}")

    def kinds(self) -> list[str]:
        return [next(key for key in update if key != "update_id") for update in self.seen]


@contextmanager
def paying(sandbox: SandboxClient) -> Iterator[Callable[..., Future[dict[str, Any]]]]:
    """`start(chat_id, user, **pay_args)` → a Future of the payment's outcome."""
    client = SandboxClient(sandbox.url)
    with ThreadPoolExecutor(max_workers=2) as pool:

        def start(chat_id: int, first_name: str = "Ana", **kwargs: Any) -> Future[dict[str, Any]]:
            chat = client.private_chat(user_id=chat_id, first_name=first_name)
            return pool.submit(chat.pay, **kwargs)

        try:
            yield start
        finally:
            client.close()
