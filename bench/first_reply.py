"""The first reply, measured from outside: the sandbox's clock from the moment it receives a
customer's message to the moment it records the bot's first message in that chat.

The real system with the product's defaults (Telegram's limits in the sandbox and the bot's
own: 30 messages/s per bot, 1/s per chat with a burst of 3): the sandbox in its own process,
a fresh redis-server, one `celery worker`, `python -m bot` polling over HTTP, the database on
SQLite and on PostgreSQL (`python -m bench.first_reply sqlite` for one). Each round, fresh
chats (so no chat's 1/s or order quota is what is measured):

- one chat at a time, SINGLES times: `/pedido 2 pizzas margarita`, `/ayuda`, and a bare PTB
  echo bot's answer (bench._echo_bot, another bot on the same sandbox);
- CROWD chats sending at the same moment (a barrier): the same three, and a mix (half
  `/pedido`, a quarter `/estado`, a quarter `/menu`).

Printed: p50/p95/max of each, and /pedido's p95 ÷ /ayuda's (the same bot's cheapest reply)
and ÷ the echo bot's (polling, PTB and the sandbox alone), all from the same run.

Telegram's 30/s per bot is kept: a burst of CROWD = 20 first replies is under it, but the
workers' progress edits and results of a /pedido burst (about three more messages per order)
would be in the next burst's second, so each burst starts once the previous one's orders are
completed and a quiet second has passed. Inside a /pedido burst the workers' sends do share
the second with the later replies, as they would in production.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sandbox.client import Chat, SandboxClient
from sandbox.core import DEFAULT_TOKEN
from tests.support.postgres import PostgresServer
from tests.support.processes import Process, RedisServer, free_port, wait_until
from tests.support.system import System

ROUNDS = 5
SINGLES = 3
CROWD = 20
ORDER = "/pedido 2 pizzas margarita"
ECHO_TOKEN = "987654321:bench-echo"
# The 30/s window of the previous burst's sends has passed.
QUIET = 1.2


@dataclass
class Watch:
    """What the sandbox recorded in some chats since `since`: each chat's first message from
    the customer and from the bot, and whether its order completed."""

    sandbox: SandboxClient
    bot_id: int
    since: int
    chats: set[int]
    asked: dict[int, float] = field(default_factory=dict)
    answered: dict[int, float] = field(default_factory=dict)
    completed: set[int] = field(default_factory=set)

    def read(self) -> None:
        while True:
            got = self.sandbox.wait_events(self.since, timeout=0)["events"]
            if not got:
                return
            self.since = max(e["seq"] for e in got)
            for event in got:
                self._note(event)

    def _note(self, event: dict[str, Any]) -> None:
        chat = int(event.get("chat_id") or 0)
        if event["type"] != "message" or event.get("bot_id") != self.bot_id:
            return
        if chat not in self.chats:
            return
        message = event["message"]
        if not message["from_bot"]:
            self.asked.setdefault(chat, event["time"])
            return
        self.answered.setdefault(chat, event["time"])
        if "completado" in (message.get("text") or ""):
            self.completed.add(chat)

    def latencies(self) -> list[float]:
        return [self.answered[c] - self.asked[c] for c in self.chats]


class Bench:
    """The running system, fresh chats, and the measured bursts."""

    def __init__(self, system: System, sandbox_url: str, echo_id: int) -> None:
        self.system = system
        self.url = sandbox_url
        self.bot_id = int(system.sandbox.bot_user["id"])
        self.echo_id = echo_id
        self.samples: dict[str, list[float]] = {}
        self._next_user = 7_000_000

    def chats(self, count: int, echo: bool) -> list[Chat]:
        """Fresh private chats, each with its own HTTP session (they send at once)."""
        found = []
        for _ in range(count):
            self._next_user += 1
            client = SandboxClient(self.url, bot=self.echo_id if echo else None)
            found.append(client.private_chat(user_id=self._next_user, first_name="C"))
        return found

    def burst(self, name: str, texts: list[str], echo: bool = False) -> None:
        """len(texts) chats send at the same moment; each one's first reply is a sample."""
        chats = self.chats(len(texts), echo)
        sandbox = self.system.sandbox
        watch = Watch(
            sandbox,
            self.echo_id if echo else self.bot_id,
            int(sandbox.wait_events(2**62, timeout=0)["seq"]),
            {c.chat_id for c in chats},
        )
        gate = threading.Barrier(len(chats))

        def send(pair: tuple[Chat, str]) -> None:
            gate.wait()
            pair[0].send(pair[1])

        with ThreadPoolExecutor(len(chats)) as pool:
            list(pool.map(send, zip(chats, texts, strict=True)))
        orders = {c.chat_id for c, t in zip(chats, texts, strict=True) if t.startswith("/pedido")}

        def done() -> bool:
            watch.read()
            return len(watch.answered) == len(chats) and orders <= watch.completed

        wait_until(done, 120, f"{name}: every reply and order", every=0.2)
        self.samples.setdefault(name, []).extend(watch.latencies())
        for chat in chats:
            chat.client.close()
        time.sleep(QUIET)

    def round(self) -> None:
        for _ in range(SINGLES):
            self.burst("1 chat: echo bot", ["hola"], echo=True)
            self.burst("1 chat: /ayuda", ["/ayuda"])
            self.burst("1 chat: /pedido", [ORDER])
        self.burst(f"{CROWD} chats: echo bot", ["hola"] * CROWD, echo=True)
        self.burst(f"{CROWD} chats: /ayuda", ["/ayuda"] * CROWD)
        self.burst(f"{CROWD} chats: /pedido", [ORDER] * CROWD)
        mix = [ORDER] * (CROWD // 2) + ["/estado"] * (CROWD // 4)
        self.burst(f"{CROWD} chats: mix", mix + ["/menu"] * (CROWD - len(mix)))


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[18]


def report(samples: dict[str, list[float]]) -> None:
    for name, values in samples.items():
        ms = [v * 1000 for v in values]
        print(
            f"  {name:22} n={len(ms):3}  p50 {statistics.median(ms):6.1f} ms  "
            f"p95 {_p95(ms):6.1f} ms  max {max(ms):6.1f} ms"
        )
    for size in ("1 chat", f"{CROWD} chats"):
        pedido = _p95(samples[f"{size}: /pedido"])
        ayuda, echo = _p95(samples[f"{size}: /ayuda"]), _p95(samples[f"{size}: echo bot"])
        print(
            f"  {size}: /pedido p95 ÷ /ayuda p95 = {pedido / ayuda:.2f}, "
            f"÷ echo bot p95 = {pedido / echo:.2f}"
        )
    crowd = _p95(samples[f"{CROWD} chats: /pedido"]) * 1000
    verdict = "ok" if crowd < 100 else "ABOVE GOAL"
    print(f"  {CROWD} chats /pedido p95 {crowd:.0f} ms (goal < 100 ms: {verdict})")


def _sandbox(tmp: Path) -> tuple[Process, str]:
    """`python -m sandbox` in its own process: its clock is the measure."""
    port = free_port()
    argv = [sys.executable, "-m", "sandbox", "--port", str(port), "--token", DEFAULT_TOKEN]
    process = Process("sandbox", argv, os.environ, tmp).start()
    url = f"http://127.0.0.1:{port}"
    wait_until(lambda: SandboxClient(url).info(), 30, "the sandbox serving")
    return process, url


def run(engine: str) -> None:
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bench-first-reply-") as tmp_name:
        tmp = Path(tmp_name)
        (tmp / "redis").mkdir()
        postgres = PostgresServer().start() if engine == "postgresql" else None
        sandbox, url = _sandbox(tmp)
        redis = RedisServer(tmp / "redis", tmp).start()
        env = {"DATABASE_URL": postgres.new_database()} if postgres else {}
        system = System(redis, url, DEFAULT_TOKEN, tmp, LOG_LEVEL="INFO", **env)
        stop: list[Callable[[], None]] = [system.stop, redis.stop, sandbox.kill]
        try:
            echo_id = int(system.sandbox.add_bot(ECHO_TOKEN).bot or 0)
            echo_env = {**system.env, "ECHO_TOKEN": ECHO_TOKEN, "ECHO_API_URL": url}
            echo = Process("echo", [sys.executable, "-m", "bench._echo_bot"], echo_env, tmp)
            stop.insert(0, echo.start().kill)
            wait_until(lambda: "echo bot ready" in echo.log(), 60, "the echo bot ready")
            system.start_worker()
            system.start_bot()
            bench = Bench(system, url, echo_id)
            for _ in range(ROUNDS):
                bench.round()
        finally:
            for step in stop:
                step()
            if postgres is not None:
                postgres.stop()
    print(f"== {engine} ({ROUNDS} rounds, {time.monotonic() - started:.0f} s)")
    report(bench.samples)
    sys.stdout.flush()


def main() -> None:
    for engine in sys.argv[1:] or ["sqlite", "postgresql"]:
        run(engine)


if __name__ == "__main__":
    main()
