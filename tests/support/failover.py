"""A Redis failover under a stream of orders, for tests/e2e/test_failover.py and
bench/failover.py: the whole system (bot, two workers, beat) on Sentinel settings, customers
placing orders one after another, and the master SIGKILLed in the middle of the stream."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, cast

import pytest

from sandbox import RunningSandbox
from sandbox.client import Chat, Message
from tests.support.processes import Process, RedisServer, wait_until
from tests.support.sentinel import RedisNode, ReplicatedRedis
from tests.support.system import System

ORDER_ID = re.compile(r"P-[0-9A-Z]{6}")
WATCHER_SENT = "Sending due task revisar-pedidos-atrasados"
WATCHER_DONE = re.compile(r"Task revisar_pedidos_atrasados\[[^\]]+\] succeeded")
TASK_DONE = re.compile(r"Task \w+\[[^\]]+\] succeeded")


def is_status(message: Message) -> bool:
    return (message.text or "").startswith("🧾")


def completed(message: Message) -> bool:
    return "está completado" in (message.text or "")


def log_times(process: Process, pattern: re.Pattern[str] | str) -> list[float]:
    """Wall-clock times (epoch seconds) of the log lines of `process` matching `pattern`."""
    found = []
    for line in process.log().splitlines():
        hit = pattern in line if isinstance(pattern, str) else pattern.search(line)
        if hit and line.startswith("ts="):
            found.append(datetime.fromisoformat(line.split()[0].removeprefix("ts=")).timestamp())
    return found


@dataclass
class Placed:
    """One customer's order: when it was sent and what the chat shows."""

    chat: Chat
    sent_at: float

    def status(self) -> list[Message]:
        return [m for m in self.chat.bot_messages() if is_status(m)]

    def completions(self) -> list[Message]:
        return [m for m in self.chat.bot_messages() if completed(m)]

    def confirmed(self) -> bool:
        """Whether the customer saw the confirmation (the status message with the id)."""
        return any(ORDER_ID.search(m.text or "") for m in self.status())


@dataclass
class Failover:
    """What happened around the kill."""

    killed: RedisNode
    killed_at: float  # epoch seconds
    promoted_port: int
    promoted_after: float  # seconds from the kill to the Sentinels naming the replica
    orders: list[Placed] = field(default_factory=list)

    def after_kill(self) -> list[Placed]:
        return [order for order in self.orders if order.sent_at > self.killed_at]


def system_env(watch_interval: str) -> dict[str, str]:
    return {
        "WATCH_INTERVAL": watch_interval,
        "STALE_AFTER": "1h",  # no order goes stale here: the watcher's runs are what counts
        "LOG_LEVEL": "INFO",
        # What is measured is Redis, not Telegram's flood limits (every order is one chat).
        "RATE_GLOBAL_PER_SECOND": "1000",
    }


@contextmanager
def sentinel_system(
    tmp: Path, sandbox_url: str, token: str, watch_interval: str = "2s", **env: str
) -> Iterator[tuple[System, ReplicatedRedis]]:
    """Master, replica, three Sentinels; the bot, two workers and beat on Sentinel settings."""
    with ReplicatedRedis(tmp / "redis") as cluster:
        # System reads only `.url` of its Redis; REDIS_SENTINELS in the env replaces it.
        where = cast(RedisServer, cluster)
        system = System(
            where, sandbox_url, token, tmp, **cluster.env(), **system_env(watch_interval), **env
        )
        try:
            with system.starting():
                system.start_worker()
                system.start_worker()
                system.start_beat()
                system.start_bot(LOG_LEVEL="DEBUG")
            yield system, cluster
        finally:
            system.stop()


def cluster_fixtures(name: str, **env: str) -> tuple[Any, Any]:
    """A test module's `cluster_system` (module scope: the Sentinel cluster and the system on
    it, `sentinel_system(**env)`) and `system` (for the e2e conftest, which prints every
    process's log when a test fails)."""

    @pytest.fixture(scope="module")
    def cluster_system(
        tmp_path_factory: pytest.TempPathFactory, sandbox_server: RunningSandbox
    ) -> Iterator[tuple[System, ReplicatedRedis]]:
        tmp = tmp_path_factory.mktemp(name)
        with sentinel_system(tmp, sandbox_server.url, sandbox_server.token, **env) as running:
            yield running

    @pytest.fixture
    def system(cluster_system: tuple[System, ReplicatedRedis]) -> System:
        return cluster_system[0]

    return cluster_system, system


def warmed_up(system: System, text: str) -> dict[str, int]:
    """Once an order (`/pedido <text>`) has gone through: each process's pid, to show later
    that none was restarted."""
    warm = system.private_chat()
    warm.send(f"/pedido {text}")
    warm.wait_for(completed, timeout=60)
    return pids(system)


def pids(system: System) -> dict[str, int]:
    return {p.name: p.popen.pid for p in system.processes if p.popen}


class OrderStream:
    """Customers in new chats each sending one /pedido, `every` seconds, in a thread."""

    def __init__(self, system: System, every: float) -> None:
        self.system = system
        self.every = every
        self.orders: list[Placed] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> OrderStream:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(30)

    def _run(self) -> None:
        while not self._stop.is_set():
            chat = self.system.private_chat()
            sent_at = time.time()
            chat.send(f"/pedido pedido {len(self.orders) + 1}")
            self.orders.append(Placed(chat, sent_at))
            self._stop.wait(self.every)


def kill_master(cluster: ReplicatedRedis, orders: list[Placed]) -> Failover:
    """SIGKILL the master; return once the Sentinels name the replica as the new master."""
    old_port = cluster.current_master_port()
    killed_at = time.time()
    killed = cluster.kill_master()
    wait_until(lambda: cluster.current_master_port() != old_port, 60, "Sentinel to promote")
    promoted_after = time.time() - killed_at
    return Failover(killed, killed_at, cluster.current_master_port(), promoted_after, orders)
