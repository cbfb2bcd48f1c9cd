"""The image built from the lock, once, and the compose stacks the container test modules run
(`stack_up`): one module's stack at a time, down before the next module's is up.

Only `make test-containers` collects this folder (tests/conftest.py leaves it out of
`make test`): it needs Podman and the local base images tests/containers/prepare.sh makes.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from sandbox.client import SandboxClient
from tests.containers.podman import (
    BASE_IMAGE,
    IMAGE,
    ROOT,
    Stack,
    build_image,
    image_size,
    logs_text,
)

NUMBERS = pytest.StashKey[dict[str, float]]()
# A failed stack's last words, printed last (CI keeps the end of a long output).
LAST_WORDS = pytest.StashKey[list[str]]()
# Whose lines say what went wrong, and how many of each; Sentinels say only their events.
WITNESSES = {"bot": 14, "worker": 8, "redis": 4, "redis-replica": 6, "sentinel-1": 12}
SENTINEL_EVENTS = ("sdown", "odown", "failover", "elected", "switch", "tilt", "vote", "slave")


def pytest_configure(config: pytest.Config) -> None:
    config.stash[NUMBERS] = {}
    config.stash[LAST_WORDS] = []


@pytest.fixture(scope="session")
def numbers(request: pytest.FixtureRequest) -> dict[str, float]:
    """What the run measured, printed at the end and kept in var/containers/numbers.json."""
    return request.config.stash[NUMBERS]


@pytest.fixture(scope="session")
def image(numbers: dict[str, float]) -> str:
    """The image, built cold (no layer cache) and then again with the cache."""
    # CONTAINERS_COLD=0 skips the cold build while iterating on the tests.
    if os.environ.get("CONTAINERS_COLD", "1") != "0":
        numbers["build_cold_s"] = build_image(no_cache=True)
    numbers["build_cached_s"] = build_image()
    numbers["image_mb"] = image_size(IMAGE) / 1e6
    numbers["base_image_mb"] = image_size(BASE_IMAGE) / 1e6
    return IMAGE


@contextmanager
def stack_up(
    numbers: dict[str, float], request: pytest.FixtureRequest, name: str, **options: Any
) -> Iterator[Stack]:
    """`up -d` of a stack; ready once every service passed its healthcheck; down at the end."""
    running = Stack(project=f"pedidos-ct-{os.getpid()}-{name}", **options)
    running.write_env_file()
    try:
        started = time.monotonic()
        # The app services start once `migrate` has brought the schema up and exited.
        running.up_in_order()
        containers = running.all_containers()
        assert {c.rsplit("_", 2)[-2] for c in containers} == set(running.services), containers
        # Every healthcheck is a Python start: slow when the machine is busy.
        running.wait_healthy(containers, timeout=300)
        numbers[f"{name}_up_to_healthy_s"] = time.monotonic() - started
        yield running
    finally:
        if request.session.testsfailed:
            by_service = running.logs_by_service(tail=300)
            logs = logs_text(by_service)
            print(logs)
            saved = ROOT / "var" / "containers" / f"{running.project}.log"
            saved.parent.mkdir(parents=True, exist_ok=True)
            saved.write_text(logs)
            request.config.stash[LAST_WORDS].extend(last_words(running.project, by_service))
        running.down()


def last_words(project: str, by_service: dict[str, list[tuple[str, str]]]) -> list[str]:
    """The last lines of the services that tell most about a failure, cut to a line each."""
    lines = [f"== {project}"]
    for service, count in WITNESSES.items():
        for _name, text in by_service.get(service, []):
            said = text.splitlines()
            if service.startswith("sentinel"):
                said = [line for line in said if any(e in line for e in SENTINEL_EVENTS)]
            lines.append(f"-- {service}")
            lines.extend(line[:220] for line in said[-count:])
    return lines


@pytest.fixture(scope="module")
def stack(image: str, numbers: dict[str, float], request: pytest.FixtureRequest) -> Iterator[Stack]:
    """The stack as docker-compose.yml runs it by default (one Redis), for one test module:
    each module's stack is down before the next one's is up."""
    with stack_up(numbers, request, "stack") as running:
        yield running


@pytest.fixture(scope="module")
def sandbox(stack: Stack) -> Iterator[SandboxClient]:
    """The sandbox's control API through its published port: the test plays the users."""
    client = SandboxClient(stack.sandbox_url)
    yield client
    client.close()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    found = terminalreporter.config.stash.get(NUMBERS, {})
    if not found:
        return
    terminalreporter.section("image and stack")
    for name, value in found.items():
        terminalreporter.write_line(f"{name}: {value:.1f}")
    out = ROOT / "var" / "containers" / "numbers.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({k: round(v, 1) for k, v in found.items()}, indent=2) + "\n")
    words = terminalreporter.config.stash.get(LAST_WORDS, [])
    if words:
        terminalreporter.section("last words of the failed stacks (whole logs in var/containers)")
        for line in words:
            terminalreporter.write_line(line)
