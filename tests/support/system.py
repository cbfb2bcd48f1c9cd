"""The whole system for end-to-end tests: redis-server, celery workers, beat and the bot,
all real processes, talking to the sandbox over HTTP."""

from __future__ import annotations

import itertools
import os
import random
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sandbox.client import SandboxClient

from tests.support.processes import (
    Process,
    RedisServer,
    celery_argv,
    python_argv,
    wait_until,
)

ALL_QUEUES = "orders,images,telegram,watcher"


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
        self.env = {
            **os.environ,
            "TELEGRAM_BOT_TOKEN": token,
            "TELEGRAM_API_URL": sandbox_url,
            "REDIS_URL": redis.url,
            "STEP_SECONDS": "0",
            "MEDIA_DIR": str(tmp / "media"),
            # Short enough that a killed worker's message comes back within a test.
            "VISIBILITY_TIMEOUT": "8s",
            "RETRY_BACKOFF_MAX": "2s",
            "LOG_LEVEL": "DEBUG",
            "PYTHONUNBUFFERED": "1",
            **env,
        }
        self.processes: list[Process] = []
        self._names = itertools.count(1)
        self._chat_ids = itertools.count(random.randrange(10_000, 10_000_000, 1000))

    def start_worker(self, queues: str = ALL_QUEUES, concurrency: int = 2, **env: str) -> Process:
        """A `celery worker` process; returns once it is ready to consume."""
        name = f"worker{next(self._names)}"
        argv = celery_argv(
            "worker",
            "--loglevel=INFO",
            f"--concurrency={concurrency}",
            f"--queues={queues}",
            f"--hostname={name}@%h",
            "--without-mingle",
            "--without-gossip",
        )
        process = Process(name, argv, {**self.env, **env}, self.logs).start()
        self.processes.append(process)
        wait_until(lambda: " ready." in process.log() or not process.running, 60, f"{name} ready")
        assert process.running, process.log()
        return process

    def start_bot(self, **env: str) -> Process:
        """`python -m bot` polling the sandbox; returns once it polls."""
        name = f"bot{next(self._names)}"
        process = Process(name, python_argv("-m", "bot"), {**self.env, **env}, self.logs).start()
        self.processes.append(process)
        wait_until(
            lambda: "Application started" in process.log() or not process.running,
            60,
            f"{name} polling",
        )
        assert process.running, process.log()
        return process

    def start_beat(self, **env: str) -> Process:
        name = f"beat{next(self._names)}"
        argv = celery_argv("beat", "--loglevel=INFO", f"--schedule={self.tmp / name}.db")
        process = Process(name, argv, {**self.env, **env}, self.logs).start()
        self.processes.append(process)
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
        for process in reversed(self.processes):
            process.kill(signal.SIGTERM)


@contextmanager
def running_system(tmp: Path, sandbox_url: str, token: str, **env: str) -> Iterator[System]:
    """A fresh redis-server plus the system around it, stopped at the end."""
    redis = RedisServer(tmp / "redis", tmp).start() if (tmp / "redis").mkdir() is None else None
    assert redis is not None
    system = System(redis, sandbox_url, token, tmp, **env)
    try:
        yield system
    finally:
        system.stop()
        redis.stop()
