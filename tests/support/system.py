"""The whole system for end-to-end tests: redis-server, celery workers, beat and the bot,
all real processes, talking to the sandbox over HTTP."""

from __future__ import annotations

import itertools
import os
import random
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import redis as redis_lib

from core.db.engine import Database
from core.db.schema import migrate
from core.orders.store import OrderStore
from sandbox.client import SandboxClient
from tests.support.processes import (
    Process,
    RedisServer,
    wait_until,
)

ALL_QUEUES = "orders,images,telegram,watcher,imports,bulk,reports"
# The deployments' two workers: the customers' (every queue but the imports') and the imports'
# own (the CSV job and what it starts, tasks.importer), so an import never takes a slot or a
# place in line from an order.
WORKER_QUEUES = "orders,images,telegram,watcher,reports"
BULK_QUEUES = "imports,bulk"

# The command of each process, as the Procfile, docker-compose.yml and the Dockerfile run it
# (tests/test_deploy_files.py holds them to it). Tests add only options that place a
# process: its name, pool size, ports, schedule file.
BOT_COMMAND = ("python", "-m", "bot")
WORKER_COMMAND = ("celery", "-A", "tasks", "worker", "--loglevel=INFO", f"--queues={WORKER_QUEUES}")
# Under `nice`: the CPU an import takes (matching, one transaction per row) yields to the
# customers' worker and the bot on a machine they share.
BULK_WORKER_COMMAND = (
    "nice",
    "-n",
    "10",
    "celery",
    "-A",
    "tasks",
    "worker",
    "--loglevel=INFO",
    f"--queues={BULK_QUEUES}",
    "--concurrency=2",
    "--hostname=bulk@%h",
)
BEAT_COMMAND = ("celery", "-A", "tasks", "beat", "--loglevel=INFO")
FLOWER_COMMAND = ("celery", "-A", "tasks", "flower")


def local_argv(command: tuple[str, ...], *options: str) -> list[str]:
    """`command` plus `options`, run by this interpreter (so by the test's venv)."""
    program, *args = command
    if program == "celery":
        return [sys.executable, "-m", "celery", *args, *options]
    assert program == "python", program
    return [sys.executable, *args, *options]


class System:
    """Starts and stops the processes of one test module; hands out fresh chats."""

    def __init__(
        self, redis: RedisServer, sandbox_url: str, token: str, tmp: Path, **env: str
    ) -> None:
        self.redis = redis
        self.sandbox = SandboxClient(sandbox_url)
        self.tmp = tmp
        self.logs = tmp / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        # The system of record: SQLite in the module's temp dir unless the module gives a
        # DATABASE_URL (PostgreSQL); migrated here, as `make migrate` does before `make run`.
        database_url = env.pop("DATABASE_URL", "") or f"sqlite:///{tmp / 'pedidos.db'}"
        self.db = Database(database_url)
        migrate(self.db)
        self.store = OrderStore(self.db)
        # What the processes keep in Redis (guards, conversations, watcher runs), for tests.
        self.client = redis_lib.Redis.from_url(redis.url, decode_responses=True)
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "TELEGRAM_BOT_TOKEN": token,
            "TELEGRAM_API_URL": sandbox_url,
            "REDIS_URL": redis.url,
            "STEP_SECONDS": "0",
            "MEDIA_DIR": str(tmp / "media"),
            # VISIBILITY_TIMEOUT keeps its default (1 h): recovery must not rest on it.
            "RETRY_BACKOFF_MAX": "2s",
            "LOG_LEVEL": "DEBUG",
            "PYTHONUNBUFFERED": "1",
            **env,
        }
        self.processes: list[Process] = []
        # Inside `starting()`: the readiness checks of the processes started, run at its end.
        self._deferred: list[Callable[[], None]] | None = None
        self._names = itertools.count(1)
        self._chat_ids = itertools.count(random.randrange(10_000, 10_000_000, 1000))

    def start_worker(
        self,
        queues: str = ALL_QUEUES,
        concurrency: int = 2,
        options: tuple[str, ...] = (),
        nice: int = 0,
        **env: str,
    ) -> Process:
        """A `celery worker` process (plus `options`, under `nice` when given, as
        worker_bulk runs); returns once it is ready to consume."""
        name = f"worker{next(self._names)}"
        command = tuple(a for a in WORKER_COMMAND if not a.startswith("--queues="))
        argv = local_argv(
            command,
            f"--concurrency={concurrency}",
            f"--queues={queues}",
            f"--hostname={name}@%h",
            "--without-mingle",
            "--without-gossip",
            *options,
        )
        if nice:
            argv = ["nice", "-n", str(nice), *argv]
        process = Process(name, argv, {**self.env, **env}, self.logs).start()
        self.processes.append(process)
        self._when_ready(process, " ready.")
        return process

    def start_bot(self, ready: str = "Application started", **env: str) -> Process:
        """`python -m bot` (polling the sandbox, unless env sets WEBHOOK_URL); returns once
        its log shows `ready`."""
        name = f"bot{next(self._names)}"
        env = {"HEARTBEAT_FILE": str(self.tmp / f"{name}.heartbeat"), **env}
        process = Process(name, local_argv(BOT_COMMAND), {**self.env, **env}, self.logs).start()
        self.processes.append(process)
        self._when_ready(process, ready)
        return process

    @contextmanager
    def starting(self) -> Iterator[None]:
        """Processes started inside start together: each `start_*` returns at once and the
        block ends once all of them are ready (a module's set-up waits for the slowest start,
        not for the sum of them)."""
        self._deferred = []
        try:
            yield
            checks = self._deferred
        finally:
            self._deferred = None
        for check in checks:
            check()

    def _when_ready(self, process: Process, ready: str) -> None:
        """Wait until `process` logs `ready` (or, inside `starting()`, at the block's end)."""

        def check() -> None:
            wait_until(
                lambda: ready in process.log() or not process.running, 60, f"{process.name} ready"
            )
            assert process.running, process.log()

        if self._deferred is None:
            check()
        else:
            self._deferred.append(check)

    def start_beat(self, **env: str) -> Process:
        name = f"beat{next(self._names)}"
        argv = local_argv(BEAT_COMMAND, f"--schedule={self.tmp / name}.db")
        process = Process(name, argv, {**self.env, **env}, self.logs).start()
        self.processes.append(process)
        return process

    def start_flower(self, port: int, **env: str) -> Process:
        """`celery flower` on 127.0.0.1:`port`; returns once it serves HTTP."""
        name = f"flower{next(self._names)}"
        argv = local_argv(FLOWER_COMMAND, "--address=127.0.0.1", f"--port={port}")
        process = Process(name, argv, {**self.env, **env}, self.logs).start()
        self.processes.append(process)
        wait_until(
            lambda: "Visit me at" in process.log() or not process.running, 60, f"{name} serving"
        )
        assert process.running, process.log()
        return process

    def new_chat_id(self) -> int:
        return next(self._chat_ids)

    def private_chat(self, language: str = "es", first_name: str = "Ana"):  # type: ignore[no-untyped-def]
        chat_id = self.new_chat_id()
        return self.sandbox.private_chat(
            user_id=chat_id, first_name=first_name, language_code=language
        )

    def all_logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.log()}" for p in self.processes)

    def stop(self) -> None:
        # Every process is told at once and then waited for: their shutdowns overlap.
        signalled = [p for p in reversed(self.processes) if p.signal(signal.SIGTERM)]
        for process in signalled:
            process.wait_exit()
        self.db.dispose()
        self.client.close()


@contextmanager
def running_system(tmp: Path, sandbox_url: str, token: str, **env: str) -> Iterator[System]:
    """A fresh redis-server plus the system around it, stopped at the end."""
    (tmp / "redis").mkdir()
    redis = RedisServer(tmp / "redis", tmp).start()
    system = System(redis, sandbox_url, token, tmp, **env)
    try:
        yield system
    finally:
        system.stop()
        redis.stop()
