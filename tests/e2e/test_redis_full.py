"""Redis at `maxmemory` (noeviction) while orders run: they wait for room instead of stalling in
their step, the admins hear it once, and every order completes once when room comes back."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest
import redis

from sandbox import RunningSandbox
from sandbox.client import Chat
from tests.e2e.test_orders import completed, is_status
from tests.support.processes import wait_until
from tests.support.system import System, running_system

ADMIN = 7_700_001
FILLER = "tests:filler:"
MB = 1024 * 1024


@pytest.fixture(scope="module")
def system(
    tmp_path_factory: pytest.TempPathFactory, sandbox_server: RunningSandbox
) -> Iterator[System]:
    tmp = tmp_path_factory.mktemp("full")
    with running_system(
        tmp, sandbox_server.url, sandbox_server.token, ADMIN_CHAT_IDS=str(ADMIN)
    ) as running:
        with running.starting():
            running.start_worker(STEP_SECONDS="3")
            running.start_bot()
        yield running


def fill(client: redis.Redis) -> int:
    """Give Redis a maxmemory just above what it holds, and write until it refuses; then hold
    it there (the limit 1 MB under what it holds: memory moves with clients' buffers).
    How many keys it took."""
    used = int(client.info("memory")["used_memory"])
    client.config_set("maxmemory", used + 2 * MB)
    written = 0
    with contextlib.suppress(redis.exceptions.OutOfMemoryError):
        while written < 10_000:
            client.set(f"{FILLER}{written}", "x" * 8192)
            written += 1
    client.config_set("maxmemory", int(client.info("memory")["used_memory"]) - MB)
    return written


def redis_full_alert(message: object) -> bool:
    return "Redis está lleno" in (getattr(message, "text", "") or "")


def test_orders_running_when_redis_fills_up_finish_once_it_has_room(system: System) -> None:
    store = system.client
    admin: Chat = system.sandbox.private_chat(user_id=ADMIN, first_name="Admin")
    chats = [system.private_chat() for _ in range(2)]
    for chat in chats:
        chat.send("/pedido 2 empanadas")
    for chat in chats:
        chat.wait_for(lambda m: is_status(m) and "validando pago" in (m.text or ""), timeout=30)
    try:
        assert fill(store) < 10_000
        # The running steps' next writes are refused: the admins hear it, once.
        admin.wait_for(redis_full_alert, timeout=30)
        assert not any(completed(m) for chat in chats for m in chat.bot_messages())
        # A new order is refused cleanly meanwhile (core.admission), as before.
        late = system.private_chat()
        late.send("/pedido 1 flan")
        late.wait_for(lambda m: not is_status(m), timeout=30)
    finally:
        for key in store.scan_iter(f"{FILLER}*"):
            store.delete(key)
        store.config_set("maxmemory", 0)

    for chat in chats:
        chat.wait_for(completed, timeout=60)
    wait_until(lambda: not store.llen("orders") and not store.hlen("unacked"), 60, "all done")
    assert [sum(1 for m in chat.bot_messages() if completed(m)) for chat in chats] == [1, 1]
    assert sum(1 for m in admin.bot_messages() if redis_full_alert(m)) == 1
