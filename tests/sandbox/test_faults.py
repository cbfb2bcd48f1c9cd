"""Fault injection through the control API: flood limits, blocked chats, 5xx, drops, latency."""

from __future__ import annotations

import time

import pytest
import requests

from sandbox.client import SandboxClient
from tests.sandbox.conftest import RawApi


def test_limits_are_on_by_default(sandbox: SandboxClient, api: RawApi) -> None:
    # Telegram's limits hold without asking: a burst of 3 in a chat, then 1/s.
    sandbox.private_chat(user_id=1001, first_name="Ana")
    assert sandbox.faults()["limits"] == {
        "enabled": True,
        "global_per_second": 30.0,
        "chat_per_second": 1.0,
        "chat_burst": 3,
        "group_per_minute": 20.0,
        "count_edits": True,
    }
    answers = [api("sendMessage", chat_id=1001, text=f"{i}") for i in range(4)]
    assert [a["ok"] for a in answers] == [True, True, True, False]
    assert answers[3]["parameters"] == {"retry_after": 1}
    assert sandbox.counters()["too_many_requests"] == 1
    # Switched off explicitly, 40 in a row pass.
    sandbox.set_limits(enabled=False)
    assert all(api("sendMessage", chat_id=1001, text=f"{i}")["ok"] for i in range(40))


def test_per_chat_limit_with_burst(sandbox: SandboxClient, api: RawApi) -> None:
    sandbox.private_chat(user_id=1001, first_name="Ana")
    sandbox.private_chat(user_id=1002, first_name="Luis")
    sandbox.set_limits(enabled=True, chat_per_second=1, chat_burst=3)
    answers = [api("sendMessage", chat_id=1001, text=f"{i}") for i in range(4)]
    assert [a["ok"] for a in answers] == [True, True, True, False]
    assert answers[3] == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 1",
        "parameters": {"retry_after": 1},
    }
    # Another chat has its own budget; edits count too.
    assert api("sendMessage", chat_id=1002, text="otro chat")["ok"]
    edit = api("editMessageText", chat_id=1001, message_id=1, text="editado")
    assert edit["error_code"] == 429
    counters = sandbox.counters()
    assert counters["too_many_requests"] == 2
    assert counters["sends_per_chat"] == {"1001": 3, "1002": 1}


def test_retry_after_is_enough_to_send_again(sandbox: SandboxClient, api: RawApi) -> None:
    sandbox.private_chat(user_id=1001, first_name="Ana")
    sandbox.set_limits(enabled=True, chat_per_second=20, chat_burst=1)
    assert api("sendMessage", chat_id=1001, text="1")["ok"]
    refused = api("sendMessage", chat_id=1001, text="2")
    assert refused["error_code"] == 429 and refused["parameters"]["retry_after"] >= 1
    # A client that honours retry_after waits exactly that long: the wait is what is tested.
    time.sleep(refused["parameters"]["retry_after"])  # honouring Telegram's wait is the test
    assert api("sendMessage", chat_id=1001, text="2")["ok"]


def test_group_limit_per_minute(sandbox: SandboxClient, api: RawApi) -> None:
    sandbox.group_chat(chat_id=-1002, title="Tienda", user_id=1001, first_name="Ana")
    sandbox.set_limits(enabled=True, chat_per_second=1000, chat_burst=1000, group_per_minute=20)
    answers = [api("sendMessage", chat_id=-1002, text=f"{i}") for i in range(21)]
    assert all(a["ok"] for a in answers[:20])
    assert answers[20]["error_code"] == 429
    assert answers[20]["parameters"]["retry_after"] == 3  # 60 s / 20 messages


def test_global_limit_across_chats(sandbox: SandboxClient, api: RawApi) -> None:
    for user_id in range(1, 8):
        sandbox.private_chat(user_id=user_id, first_name=f"U{user_id}")
    sandbox.set_limits(enabled=True, global_per_second=5)
    answers = [api("sendMessage", chat_id=user_id, text="hi") for user_id in range(1, 8)]
    assert [a["ok"] for a in answers] == [True] * 5 + [False] * 2
    # An album counts each item.
    sandbox.set_limits(enabled=False)
    assert api("sendMessage", chat_id=1, text="off again")["ok"]


def test_blocked_chat_is_403(sandbox: SandboxClient, api: RawApi) -> None:
    sandbox.private_chat(user_id=1001, first_name="Ana")
    sandbox.group_chat(chat_id=-1002, title="Tienda", user_id=1001, first_name="Ana")
    sent = api("sendMessage", chat_id=1001, text="antes")["result"]
    sandbox.block_chat(1001)
    sandbox.block_chat(-1002)
    blocked = api("sendMessage", chat_id=1001, text="x")
    assert blocked == {
        "ok": False,
        "error_code": 403,
        "description": "Forbidden: bot was blocked by the user",
    }
    assert api("sendChatAction", chat_id=1001, action="typing")["error_code"] == 403
    assert (
        api("editMessageText", chat_id=1001, message_id=sent["message_id"], text="y")["error_code"]
        == 403
    )
    assert api("sendMessage", chat_id=-1002, text="x")["description"] == (
        "Forbidden: bot was kicked from the group chat"
    )
    sandbox.unblock_chat(1001)
    assert api("sendMessage", chat_id=1001, text="después")["ok"]
    assert sandbox.counters()["forbidden"] == 4


def test_forced_5xx_for_n_calls(sandbox: SandboxClient, api: RawApi) -> None:
    sandbox.private_chat(user_id=1001, first_name="Ana")
    sandbox.fail(method="sendMessage", status=502, times=3)
    answers = [api.post("sendMessage", json={"chat_id": 1001, "text": "x"}) for _ in range(4)]
    assert [a.status_code for a in answers] == [502, 502, 502, 200]
    assert answers[0].json() == {"ok": False, "error_code": 502, "description": "Bad Gateway"}
    # Other methods are untouched; the user sees only the one that went through.
    assert api("getMe")["ok"]
    assert sandbox.counters()["forced_failures"] == 3
    sandbox.fail(method="*", status=500, times=None)
    assert api.get("getMe").status_code == 500
    assert api.get("getMe").status_code == 500
    sandbox.clear_faults()
    assert api.get("getMe").status_code == 200


def test_forced_429_with_retry_after(sandbox: SandboxClient, api: RawApi) -> None:
    sandbox.private_chat(user_id=1001, first_name="Ana")
    sandbox.fail(method="sendmessage", status=429, retry_after=17, times=2)
    first = api("sendMessage", chat_id=1001, text="x")
    assert first == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 17",
        "parameters": {"retry_after": 17},
    }
    assert api("sendMessage", chat_id=1001, text="x")["error_code"] == 429
    assert api("sendMessage", chat_id=1001, text="x")["ok"]
    assert sandbox.counters()["too_many_requests"] == 2


def test_dropped_connections(sandbox: SandboxClient, api: RawApi) -> None:
    sandbox.private_chat(user_id=1001, first_name="Ana")
    sandbox.fail(method="sendMessage", drop=True, times=2)
    for _ in range(2):
        with pytest.raises(requests.ConnectionError):
            requests.post(f"{api.base}/sendMessage", json={"chat_id": 1001, "text": "x"}, timeout=5)
    assert api("sendMessage", chat_id=1001, text="x")["ok"]
    counters = sandbox.counters()
    assert counters["dropped_connections"] == 2
    assert counters["calls"]["sendMessage"] == 3


def test_added_latency(sandbox: SandboxClient, api: RawApi) -> None:
    sandbox.set_latency(0.3)
    started = time.monotonic()
    assert api("getMe")["ok"]
    assert time.monotonic() - started >= 0.3
    sandbox.set_latency(0)
    sandbox.set_latency(0.3, method="sendMessage")
    started = time.monotonic()
    assert api("getMe")["ok"]
    assert time.monotonic() - started < 0.3


def test_counters_and_reset(sandbox: SandboxClient, api: RawApi) -> None:
    sandbox.private_chat(user_id=1001, first_name="Ana")
    api("sendMessage", chat_id=1001, text="a")
    api("SENDMESSAGE", chat_id=1001, text="b")
    api("getMe")
    api("sendMessage", chat_id=42, text="nobody")
    counters = sandbox.counters()
    assert counters["calls"] == {"sendMessage": 3, "getMe": 1}
    assert counters["errors"] == {"400": 1}
    sandbox.set_limits(enabled=True)
    sandbox.block_chat(1001)
    sandbox.reset()
    assert sandbox.counters()["calls"] == {}
    # Reset brings back Telegram's limits, not "off".
    assert sandbox.faults()["blocked"] == [] and sandbox.faults()["limits"]["enabled"]
    assert sandbox.chats() == []
