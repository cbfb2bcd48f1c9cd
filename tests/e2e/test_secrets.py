"""Secrets stay secret: the Redis password never shows in Flower's worker config or in
`celery inspect conf`, and no process starts with an example password from .env.example."""

from __future__ import annotations

import json
import secrets
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from sandbox import RunningSandbox
from tests.support.processes import RedisServer, celery_argv, free_port, python_argv, wait_until
from tests.support.system import System

ROOT = Path(__file__).resolve().parents[2]
AUTH = ("admin", secrets.token_urlsafe(12))


@pytest.fixture(scope="module")
def password() -> str:
    return "pw-" + secrets.token_urlsafe(16)


@pytest.fixture(scope="module")
def system(
    tmp_path_factory: pytest.TempPathFactory, sandbox_server: RunningSandbox, password: str
) -> Iterator[System]:
    tmp = tmp_path_factory.mktemp("secrets")
    (tmp / "redis").mkdir()
    redis = RedisServer(tmp / "redis", tmp, password=password).start()
    system = System(redis, sandbox_server.url, sandbox_server.token, tmp)
    try:
        system.start_worker()
        yield system
    finally:
        system.stop()
        redis.stop()


def test_flower_shows_the_workers_config_without_the_redis_password(
    system: System, password: str
) -> None:
    port = free_port()
    system.start_flower(port, FLOWER_BASIC_AUTH=":".join(AUTH))
    url = f"http://127.0.0.1:{port}/api/workers?refresh=1"

    def config() -> dict[str, object] | None:
        workers = requests.get(url, auth=AUTH, timeout=30).json()
        confs = [w.get("conf") for w in workers.values() if w.get("conf")]
        return confs[0] if confs else None

    conf = wait_until(config, 60, "Flower to read a worker's config")
    assert isinstance(conf, dict)
    shown = json.dumps(conf)
    assert password not in shown
    # The settings that hold the URL are there, censored or without credentials.
    assert "redbeat_redis_url" in conf and "@" not in str(conf["redbeat_redis_url"])
    assert "********" in str(conf["broker_url"])


def test_celery_inspect_conf_does_not_show_the_redis_password(
    system: System, password: str
) -> None:
    # Addressed to the worker by name, the call returns at its reply instead of waiting out
    # the timeout for any other worker that might answer a broadcast.
    worker = next(p.name for p in system.processes if p.name.startswith("worker"))
    destination = f"{worker}@{socket.gethostname()}"
    out = subprocess.run(
        celery_argv("inspect", "conf", "--timeout", "20", "--destination", destination),
        env=system.env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "redbeat_redis_url" in out.stdout, out.stdout + out.stderr
    assert password not in out.stdout + out.stderr


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("REDIS_URL", "redis://:change-me@127.0.0.1:1/0"),
        ("REDIS_PASSWORD", "change-me"),
        ("FLOWER_BASIC_AUTH", "admin:change-me"),
    ],
)
@pytest.mark.parametrize("process", ["bot", "worker"])
def test_no_process_starts_with_an_example_password(
    system: System, process: str, variable: str, value: str
) -> None:
    argv = python_argv("-m", "bot") if process == "bot" else celery_argv("worker")
    out = subprocess.run(
        argv,
        env={**system.env, variable: value},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode != 0
    assert f"refusing to start: {variable} still hold an example password" in out.stderr
