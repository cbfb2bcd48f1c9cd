"""`make run`'s demo staff group: the sandbox started with SANDBOX_GROUPS (or --group) has the
supergroup, shown in the web chat's list, administered by the web chat's default user."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from sandbox.core import DEFAULT_TOKEN
from sandbox.runner import parse_group
from scripts.run import DEMO_STAFF_GROUP, DEMO_STAFF_TITLE, DEMO_USER
from tests.support.processes import ROOT, free_port, wait_until


def test_a_group_spec_is_an_id_a_title_and_its_admins() -> None:
    assert parse_group("-1009=Tienda (equipo)=1001,1002") == (
        -1009,
        "Tienda (equipo)",
        {1001, 1002},
    )
    assert parse_group("-5=Cocina") == (-5, "Cocina", set())
    for bad in ("5=Privado", "-5", "-5==1", "x=Tienda"):
        with pytest.raises(ValueError):
            parse_group(bad)


@pytest.fixture
def started() -> Iterator[str]:
    port = free_port()
    env = {
        **os.environ,
        "SANDBOX_GROUPS": f"{DEMO_STAFF_GROUP}={DEMO_STAFF_TITLE}={DEMO_USER}",
    }
    command = [sys.executable, "-m", "sandbox", "--port", str(port), "--token", DEFAULT_TOKEN]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return requests.get(f"{base}/sandbox/api/info", timeout=1).ok
        except requests.ConnectionError:
            return False

    try:
        wait_until(up, 30, "the sandbox listening")
        yield base
    finally:
        process.terminate()
        process.wait(10)


def test_make_runs_staff_group_is_there_and_the_web_user_administers_it(started: str) -> None:
    def api(method: str, **params: Any) -> dict[str, Any]:
        url = f"{started}/bot{DEFAULT_TOKEN}/{method}"
        return dict(requests.post(url, json=params, timeout=10).json())

    chat = api("getChat", chat_id=DEMO_STAFF_GROUP)["result"]
    assert (chat["type"], chat["title"]) == ("supergroup", DEMO_STAFF_TITLE)
    member = api("getChatMember", chat_id=DEMO_STAFF_GROUP, user_id=DEMO_USER)["result"]
    assert member["status"] in ("administrator", "creator")
    stranger = api("getChatMember", chat_id=DEMO_STAFF_GROUP, user_id=DEMO_USER + 1)
    assert not stranger["ok"] and "PARTICIPANT_ID_INVALID" in stranger["description"]
    listed = requests.get(f"{started}/sandbox/api/chats", timeout=10).json()
    assert DEMO_STAFF_GROUP in [c["id"] for c in listed]
    sent = api("sendMessage", chat_id=DEMO_STAFF_GROUP, text="🧾 Pedido P-7K2Q4F")
    assert sent["ok"], sent
