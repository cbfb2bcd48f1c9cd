"""CSV imports end to end: an admin sends a document, a worker on `imports` streams it.

No worker consumes `bulk` here, so each imported order's announcement to its customer waits
in the broker's `bulk` list, where the test counts them (and `orders` stays empty: an import
puts nothing ahead of the customers' orders).
"""

from __future__ import annotations

import csv
import io
import re
import time
from collections.abc import Iterator

import pytest
import redis

from sandbox import RunningSandbox
from sandbox.client import Chat, Message
from tests.support.system import System, running_system

ADMIN = 9_301
GOOD = 6_000
MAX_ROWS = 7_000
PROGRESS = re.compile(
    r"(\d+) de (\d+) filas · (\d+) creados · (\d+) ya importados · (\d+) rechazados"
)


@pytest.fixture(scope="module")
def system(
    tmp_path_factory: pytest.TempPathFactory, sandbox_server: RunningSandbox
) -> Iterator[System]:
    tmp = tmp_path_factory.mktemp("import")
    with running_system(
        tmp,
        sandbox_server.url,
        sandbox_server.token,
        ADMIN_CHAT_IDS=str(ADMIN),
        IMPORT_MAX_ROWS=str(MAX_ROWS),
    ) as running:
        with running.starting():
            running.start_worker(queues="images,telegram,watcher,imports,reports")
            running.start_bot()
        yield running


@pytest.fixture(scope="module")
def admin(system: System) -> Chat:
    return system.sandbox.private_chat(user_id=ADMIN, first_name="Ana")


def the_file() -> bytes:
    """Semicolons, a BOM, Spanish headers: GOOD good rows, 3 bad ones, 2 repeats."""
    lines = ["chat_id;texto;idioma"]
    lines += [
        f"{100_000 + n % 50};pedido número {n};{'es' if n % 2 else 'en'}" for n in range(GOOD)
    ]
    lines.insert(11, "abc;2 pizzas;es")  # row 12: not a chat id
    lines.insert(21, "100001;;es")  # row 22: no text
    lines.insert(31, "100002;pizza;fr")  # row 32: unknown language
    lines.append("100003;pedido número 3;es")  # repeats row 5 (n = 3)
    lines.append("100007;pedido número 7;en")  # repeats row 9 (n = 7), in another language
    return ("\ufeff" + "\n".join(lines) + "\n").encode()


def status_of(admin: Chat, name: str) -> Message:
    return admin.wait_for(lambda m: name in (m.text or "") and "Importación" in (m.text or ""))


def summary(admin: Chat, name: str, after: int) -> Message:
    return admin.wait_for(
        lambda m: "terminada" in (m.text or "") and name in (m.text or "") and not m.media,
        timeout=120,
        after=after,
    )


def test_import_with_good_bad_and_repeated_rows_then_again_creates_nothing(
    system: System, admin: Chat
) -> None:
    store = system.store
    broker = redis.Redis.from_url(system.redis.url)
    sent = admin.send_document(the_file(), mime_type="text/csv", file_name="pedidos.csv")

    status = admin.wait_for(
        lambda m: "pedidos.csv" in (m.text or "") and m.reply_to_message_id == sent.message_id,
        timeout=10,
    )
    done = summary(admin, "pedidos.csv", status.message_id)
    assert f"terminada: {GOOD + 5} filas" in (done.text or "")
    assert f"• {GOOD} pedidos creados" in (done.text or "")
    assert "• 0 ya importados antes" in (done.text or "")
    assert "• 5 rechazados" in (done.text or "")

    # The live progress bar: the status message went through increasing counts, at most
    # about one edit a second.
    status = admin.wait_for(lambda m: m.message_id == status.message_id)
    shown = [PROGRESS.search(h.get("text") or "") for h in status.history]
    counts = [int(m.group(1)) for m in shown if m]
    assert counts == sorted(counts) and counts[-1] == GOOD + 5, status.history
    assert any(0 < c < GOOD + 5 for c in counts), "no intermediate progress"
    seconds = status.history[-1]["date"] - status.history[0]["date"]
    assert len(status.history) <= seconds + 3, status.history

    # The rejected rows come back as a CSV, each with its reason.
    rejected = admin.wait_for(
        lambda m: bool(m.media) and (m.media[0].file_name or "").endswith(".csv")
    )
    body = system.sandbox.download(rejected.media[0].file_id).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0][:2] == ["fila", "motivo"] and rows[0][2:] == ["chat_id", "texto", "idioma"]
    reasons = {int(r[0]): r[1] for r in rows[1:]}
    assert reasons[12] == "chat_id no es un número de chat"
    assert reasons[22] == "el texto está vacío"
    assert reasons[32] == "idioma desconocido (usa es o en)"
    # The last two rows repeat rows 5 and 9 (the language is not part of an order's identity).
    assert reasons[GOOD + 5] == "repetida: igual que la fila 5"
    assert reasons[GOOD + 6] == "repetida: igual que la fila 9"
    assert len(reasons) == 5

    created = sum(len(batch) for batch in store.created_between(0, time.time() + 1))
    assert created == GOOD
    # One announcement per order, waiting for the import's worker; nothing ahead of orders.
    assert broker.llen("bulk") == created
    assert broker.llen("orders") == 0
    first = store.get(next(iter(store.created_between(0, time.time() + 1)))[0].id)
    assert first.state.value == "por_confirmar" and not first.task_ids

    # The same file again: nothing new.
    again = admin.send_document(the_file(), mime_type="text/csv", file_name="pedidos.csv")
    second = admin.wait_for(
        lambda m: "pedidos.csv" in (m.text or "") and m.reply_to_message_id == again.message_id,
        timeout=10,
    )
    redone = summary(admin, "pedidos.csv", second.message_id)
    assert "• 0 pedidos creados" in (redone.text or "")
    # Every good row, and both repeats, were imported the first time; the bad rows are bad.
    assert f"• {created + 2} ya importados antes" in (redone.text or "")
    assert "• 3 rechazados" in (redone.text or "")
    assert sum(len(batch) for batch in store.created_between(0, time.time() + 1)) == created
    assert broker.llen("bulk") == created and broker.llen("orders") == 0


def test_too_many_rows_and_bad_files_are_refused_clearly(system: System, admin: Chat) -> None:
    rows = "chat_id,texto\n" + "".join(f"1,p{n}\n" for n in range(MAX_ROWS + 1))
    admin.send_document(rows.encode(), mime_type="text/csv", file_name="grande.csv")
    admin.wait_for(
        lambda m: f"tiene {MAX_ROWS + 1} filas; el máximo es {MAX_ROWS}" in (m.text or ""),
        timeout=60,
    )
    admin.send_document(b"cliente,cosa\n1,x\n", mime_type="text/csv", file_name="raro.csv")
    # Each refusal is a status message edited by a worker, queued behind the chat's 1/s.
    admin.wait_for(
        lambda m: "raro.csv" in (m.text or "") and "falta chat_id" in (m.text or ""), timeout=30
    )
    admin.send_document("chat_id,texto\n1,caf\xe9\n".encode("latin-1"), file_name="latin.csv")
    admin.wait_for(
        lambda m: "latin.csv" in (m.text or "") and "no está en UTF-8" in (m.text or ""),
        timeout=30,
    )


def test_a_customer_cannot_import(system: System) -> None:
    customer = system.private_chat()
    customer.send_document(b"chat_id,texto\n1,x\n", mime_type="text/csv", file_name="mio.csv")
    customer.wait_for(lambda m: "solo para el equipo" in (m.text or ""), timeout=10)


def test_a_refusal_still_arrives_when_the_bot_could_not_post_the_status(
    system: System, admin: Chat
) -> None:
    # Telegram holds the chat when the bot answers: the import goes on without a status
    # message, and the worker's refusal becomes one instead of editing nothing.
    system.sandbox.fail("sendMessage", status=429, retry_after=3, times=1)
    rows = "chat_id,texto\n" + "".join(f"1,q{n}\n" for n in range(MAX_ROWS + 1))
    admin.send_document(rows.encode(), mime_type="text/csv", file_name="ocupado.csv")
    refusal = admin.wait_for(
        lambda m: (
            "ocupado.csv" in (m.text or "")
            and f"tiene {MAX_ROWS + 1} filas; el máximo es {MAX_ROWS}" in (m.text or "")
        ),
        timeout=60,
    )
    assert sum(1 for m in admin.bot_messages() if "ocupado.csv" in (m.text or "")) == 1
    assert refusal.text
