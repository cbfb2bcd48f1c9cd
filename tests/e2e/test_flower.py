"""Flower watches the real system: behind basic auth, it lists a finished order's tasks by
their Spanish names, with the order id as their only argument and no secret anywhere; a
message's task shows its chat and key, not its text; without a login Flower starts on
loopback only."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from sandbox import RunningSandbox
from tests.e2e.test_orders import completed, is_status, order_id_of
from tests.support.processes import Process, free_port, wait_until
from tests.support.system import FLOWER_COMMAND, System, local_argv, running_system

AUTH = ("admin", "flower-test-password")
CHAIN = ["validar_pago", "preparar_envio", "notificar_cliente"]


@pytest.fixture(scope="module")
def system(
    tmp_path_factory: pytest.TempPathFactory, sandbox_server: RunningSandbox
) -> Iterator[System]:
    tmp = tmp_path_factory.mktemp("flower")
    with running_system(tmp, sandbox_server.url, sandbox_server.token) as running:
        with running.starting():
            running.start_worker()
            running.start_bot()
        yield running


@pytest.fixture(scope="module")
def flower(system: System) -> Iterator[str]:
    """Flower with basic auth from its environment, once it receives the worker's events."""
    port = free_port()
    process: Process = system.start_flower(port, FLOWER_BASIC_AUTH=":".join(AUTH))
    url = f"http://127.0.0.1:{port}"

    def worker_seen() -> bool:
        metrics = requests.get(f"{url}/metrics", auth=AUTH, timeout=5).text
        return 'flower_worker_online{worker="worker' in metrics

    wait_until(worker_seen, 30, "Flower to receive the worker's events")
    assert process.running
    yield url


def test_flower_requires_its_password_but_not_for_its_healthcheck(flower: str) -> None:
    assert requests.get(f"{flower}/api/tasks", timeout=5).status_code == 401
    wrong = requests.get(f"{flower}/api/tasks", auth=("admin", "nope"), timeout=5)
    assert wrong.status_code == 401
    # docker-compose.yml's healthcheck calls this without credentials.
    health = requests.get(f"{flower}/healthcheck", timeout=5)
    assert health.status_code == 200 and health.text == "OK"


def test_flower_lists_the_tasks_of_a_finished_order(system: System, flower: str) -> None:
    # Given a customer whose order completed
    chat = system.private_chat()
    chat.send("/pedido 1 tortilla")
    chat.wait_for(completed, timeout=30)
    order_id = order_id_of(chat.wait_for(is_status))

    # When the operator lists tasks in Flower
    def order_tasks() -> list[dict[str, object]]:
        tasks = requests.get(f"{flower}/api/tasks", auth=AUTH, timeout=5).json()
        steps = [t for t in tasks.values() if t["name"] in CHAIN and order_id in str(t["args"])]
        return steps if [t["state"] for t in steps] == ["SUCCESS"] * len(CHAIN) else []

    tasks = wait_until(order_tasks, 20, "Flower to show the order's three tasks done")

    # Then the chain shows by its Spanish names, in order, each with only the order id
    assert isinstance(tasks, list)
    ordered = sorted(tasks, key=lambda t: float(str(t["received"])))
    assert [t["name"] for t in ordered] == CHAIN
    for task in ordered:
        assert task["args"] in (f"('{order_id}',)", f"['{order_id}']"), task["args"]
        assert task["kwargs"] in ("{}", {}), task["kwargs"]
        assert task["result"] == f"'{order_id}'"
    listing = requests.get(f"{flower}/api/tasks", auth=AUTH, timeout=5).text
    token = system.env["TELEGRAM_BOT_TOKEN"]
    assert token not in listing and token.split(":")[1] not in listing


def flower_without_login(system: System, address: str, login: str = "") -> Process:
    """`celery flower` on `address` with FLOWER_BASIC_AUTH set to `login` (empty: none)."""
    argv = local_argv(FLOWER_COMMAND, f"--address={address}", f"--port={free_port()}")
    process = Process(f"flower-{address}-{len(system.processes)}", argv, system.env, system.logs)
    process.env["FLOWER_BASIC_AUTH"] = login
    system.processes.append(process.start())
    return process


@pytest.mark.parametrize("login", ["", "admin:", "admin"])
def test_flower_refuses_to_listen_beyond_loopback_without_a_login(
    system: System, login: str
) -> None:
    process = flower_without_login(system, "0.0.0.0", login)
    wait_until(lambda: not process.running, 60, "Flower to refuse to start")
    assert process.popen is not None and process.popen.returncode != 0
    assert "refusing to listen on 0.0.0.0 without a login" in process.log()
    assert "Visit me at" not in process.log()


def test_flower_on_loopback_starts_without_a_login(system: System) -> None:
    process = flower_without_login(system, "127.0.0.1")
    wait_until(lambda: "Visit me at" in process.log() or not process.running, 60, "Flower")
    assert process.running, process.log()
    process.stop()


def test_flower_shows_a_message_task_by_its_chat_and_key_never_its_text(
    system: System, flower: str
) -> None:
    # Given a reply Telegram refuses (429) long enough for the bot to hand it to the workers
    chat = system.private_chat()
    system.sandbox.fail("sendMessage", status=429, retry_after=3, times=1)
    chat.send("/ayuda")
    reply = chat.wait_for(lambda m: bool(m.text), timeout=60)
    text = reply.text or ""

    # When the operator lists the delivery tasks in Flower
    def sends() -> list[dict[str, object]]:
        tasks = requests.get(f"{flower}/api/tasks", auth=AUTH, timeout=5).json()
        return [t for t in tasks.values() if t["name"] == "entregar_mensaje"]

    found = wait_until(sends, 20, "Flower to show the handed-over reply")
    assert isinstance(found, list) and len(found) == 1, found
    task = found[0]

    # Then it shows the chat and the message's key, and not a line of the text
    assert str(chat.id) in str(task["args"]) and "reply:" in str(task["args"])
    lines = [line for line in text.splitlines() if len(line) > 8]
    assert lines, text
    shown = requests.get(f"{flower}/api/tasks", auth=AUTH, timeout=5).text
    assert not [line for line in lines if line in shown]
    # ...nor do the logs of the workers and Flower (at DEBUG they print each task's arguments).
    logs = "".join(p.log() for p in system.processes if p.name.startswith(("worker", "flower")))
    assert "entregar_mensaje" in logs
    assert not [line for line in lines if line in logs]
