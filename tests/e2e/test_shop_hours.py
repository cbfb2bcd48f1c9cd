"""Outside opening hours, through the real bot and the sandbox. The shop opens one hour on
the day after tomorrow only (SHOP_HOURS built from today's date), so it is closed now and its
next opening is known. OUTSIDE_HOURS=take: the order is placed and the customer told, in their
language, when it will be taken. Then the bot restarts with refuse: a clear answer with the
next opening, and nothing stored."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from core.shophours.schedule import DAY_NAMES
from sandbox import RunningSandbox
from tests.e2e.test_orders import is_status, order_id_of
from tests.support.system import System, running_system

ZONE = "Europe/Madrid"
OPENING = datetime.now(ZoneInfo(ZONE)).date() + timedelta(days=2)
SHOP_HOURS = f"{DAY_NAMES[OPENING.weekday()]} 10:00-11:00"
WEEKDAYS_ES = ("lun", "mar", "mié", "jue", "vie", "sáb", "dom")
MONTHS_ES = "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre"
MONTHS_ES_LIST = [*MONTHS_ES.split(), "diciembre"]
WEEKDAYS_EN = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTHS_EN = "January February March April May June July August September October November"
MONTHS_EN_LIST = [*MONTHS_EN.split(), "December"]
WHEN_ES = (
    f"el {WEEKDAYS_ES[OPENING.weekday()]}, {OPENING.day} de {MONTHS_ES_LIST[OPENING.month - 1]} "
    "a las 10:00"
)
WHEN_EN = f"on {WEEKDAYS_EN[OPENING.weekday()]}, {MONTHS_EN_LIST[OPENING.month - 1]} {OPENING.day}"


@pytest.fixture(scope="module")
def system(
    tmp_path_factory: pytest.TempPathFactory, sandbox_server: RunningSandbox
) -> Iterator[System]:
    """Redis and the bot (taking orders outside hours); no worker: the orders just wait."""
    with running_system(
        tmp_path_factory.mktemp("hours"),
        sandbox_server.url,
        sandbox_server.token,
        SHOP_HOURS=SHOP_HOURS,
        SHOP_TIMEZONE=ZONE,
        OUTSIDE_HOURS="take",
    ) as running:
        running.start_bot()
        yield running


def test_outside_hours_an_order_is_taken_for_the_opening(system: System) -> None:
    customer = system.private_chat()
    customer.send("/pedido 2 pizzas margarita")
    order_id = order_id_of(customer.wait_for(is_status, timeout=15))
    told = customer.wait_for(lambda m: "cerrada" in (m.text or ""), timeout=15)
    assert told.text == (
        f"🕘 La tienda está cerrada ahora. Tu pedido {order_id} queda anotado y lo "
        f"atenderemos {WHEN_ES}."
    )
    assert system.store.recent(customer.id, 5)[0].id == order_id

    english = system.private_chat(language="en")
    english.send("/order a coffee")
    english_id = order_id_of(english.wait_for(is_status, timeout=15))
    said = english.wait_for(lambda m: "closed" in (m.text or ""), timeout=15)
    assert f"Your order {english_id} is noted and we will take it {WHEN_EN} at 10:00" in (
        said.text or ""
    )


def test_refusing_outside_hours_says_when_it_opens_and_stores_nothing(system: System) -> None:
    for process in [p for p in system.processes if p.name.startswith("bot")]:
        process.kill(signal.SIGTERM)
    system.start_bot(OUTSIDE_HOURS="refuse")
    customer = system.private_chat()
    customer.send("/pedido 1 tarta de queso")
    refused = customer.wait_for(lambda m: "cerrada" in (m.text or ""), timeout=15)
    assert refused.text == (
        "🕘 La tienda está cerrada ahora y no toma pedidos fuera de horario. Abrimos "
        f"{WHEN_ES}: vuelve a pedir entonces."
    )
    assert system.store.recent(customer.id, 5) == []
    assert [m for m in customer.bot_messages() if is_status(m)] == []
