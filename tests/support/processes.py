"""Real processes for tests: redis-server, celery workers and beat, the bot, each on free ports."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(
    condition: Callable[[], object], timeout: float = 10.0, what: str = "", every: float = 0.02
) -> object:
    """Poll `condition` every `every` seconds until it returns something truthy; fail after
    `timeout` seconds. (A costly condition, e.g. one running podman, polls less often.)"""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            result = condition()
        except Exception as exc:  # a condition may fail while a service starts
            last_error = exc
        else:
            if result:
                return result
        time.sleep(every)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what or condition}: {last_error}")


class Process:
    """A child process whose output goes to a log file the test can read."""

    def __init__(self, name: str, argv: list[str], env: Mapping[str, str], log_dir: Path) -> None:
        self.name = name
        self.argv = argv
        self.env = dict(env)
        self.log_path = log_dir / f"{name}.log"
        self.popen: subprocess.Popen[bytes] | None = None

    def start(self) -> Process:
        log = self.log_path.open("ab")
        self.popen = subprocess.Popen(
            self.argv,
            env=self.env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    @property
    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Signal the whole process group (a celery worker has children); for SIGTERM and
        SIGKILL, wait until it has exited."""
        if self.signal(sig) and sig in (signal.SIGKILL, signal.SIGTERM):
            self.wait_exit()

    def signal(self, sig: int) -> bool:
        """Signal the whole process group without waiting; False if it had exited."""
        if self.popen is None or self.popen.poll() is not None:
            return False
        try:
            os.killpg(self.popen.pid, sig)
        except ProcessLookupError:
            return False
        return True

    def wait_exit(self, timeout: float = 15) -> None:
        """Wait for the process to exit; SIGKILL its group after `timeout` seconds."""
        if self.popen is None:
            return
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=5)

    def stop(self) -> None:
        self.kill(signal.SIGTERM)


class RedisServer(Process):
    """A real redis-server with AOF on, in its own data dir, on a free loopback port."""

    def __init__(self, data_dir: Path, log_dir: Path, password: str = "") -> None:
        self.port = free_port()
        self.data_dir = data_dir
        self.password = password
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        argv = [
            binary,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(data_dir),
            "--appendonly",
            "yes",
            "--appendfsync",
            "everysec",
            "--maxmemory-policy",
            "noeviction",
            "--save",
            "",
            "--protected-mode",
            "yes",
        ]
        if password:
            argv += ["--requirepass", password]
        super().__init__("redis", argv, os.environ, log_dir)

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        super().start()
        wait_until(self.ping, 10, "redis-server to accept connections")
        return self

    def ping(self) -> bool:
        with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
            if self.password:
                sock.sendall(f"AUTH {self.password}\r\n".encode())
                if not sock.recv(16).startswith(b"+OK"):
                    return False
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")

    def restart(self) -> None:
        """Stop and start on the same port and data dir (the AOF brings the data back)."""
        self.stop()
        super().start()
        wait_until(self.ping, 10, "redis-server to come back")


def python_argv(*args: str) -> list[str]:
    return [sys.executable, *args]


def celery_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "celery", "-A", "tasks", *args]
