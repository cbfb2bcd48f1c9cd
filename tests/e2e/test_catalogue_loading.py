"""CATALOG_FILE at start: the bot loads it into an empty catalogue (photos found beside it),
never over a catalogue the database already holds, and never without being told to."""

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest

from core.catalogue.csvfile import parse_catalogue
from core.catalogue.store import CatalogueStore
from sandbox import RunningSandbox
from tests.support.system import System, running_system

ADMIN = 9_511
# As `make run` names it (the bot runs from the checkout).
DEMO = "demo/catalogue.csv"


@pytest.fixture(scope="module")
def system(
    tmp_path_factory: pytest.TempPathFactory, sandbox_server: RunningSandbox
) -> Iterator[System]:
    tmp = tmp_path_factory.mktemp("catalogue-loading")
    with running_system(
        tmp, sandbox_server.url, sandbox_server.token, ADMIN_CHAT_IDS=str(ADMIN)
    ) as running:
        yield running


def restart_bot(system: System, **env: str) -> str:
    """Stop the running bot (if any), start one with `env`; its log once it serves."""
    for process in system.processes:
        if process.name.startswith("bot"):
            process.kill(signal.SIGTERM)
    return system.start_bot(**env).log()


def test_the_bot_loads_catalog_file_into_an_empty_catalogue_once(system: System) -> None:
    catalogue = CatalogueStore(system.db)
    restart_bot(system)
    assert catalogue.count() == 0  # no CATALOG_FILE: no demo shop of its own accord

    log = restart_bot(system, CATALOG_FILE=DEMO)
    assert "catalogue loaded from demo/catalogue.csv: 15 products, 15 with a photo" in log
    products = catalogue.all()
    assert len(products) == 15
    margarita = catalogue.get("PZ-MARG")
    assert margarita is not None and margarita.price == 950 and margarita.currency == "EUR"
    assert margarita.photo == "photos/PZ-MARG.jpg"  # relative to the catalogue's folder
    stars = catalogue.get("DIG-REGALO")
    assert stars is not None and stars.currency == "XTR" and stars.price == 250

    # Staff changed a price; a restart does not load the file over it.
    assert catalogue.set_price("PZ-MARG", 990)
    log = restart_bot(system, CATALOG_FILE=DEMO)
    assert "catalogue loaded" not in log
    assert catalogue.get("PZ-MARG").price == 990  # type: ignore[union-attr]

    # /catalogo gives it back with its photos, as a file that reads back the same.
    admin = system.sandbox.private_chat(user_id=ADMIN, first_name="Ana")
    sent = admin.send("/catalogo")
    reply = admin.wait_for(lambda m: bool(m.media) and m.message_id > sent.message_id, timeout=20)
    body = system.sandbox.download(reply.media[0].file_id)
    assert b",photo\n" in body.split(b"\n", 1)[0] + b"\n"
    assert parse_catalogue(body, default_currency="EUR") == catalogue.all()
