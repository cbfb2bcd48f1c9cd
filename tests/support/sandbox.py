"""Pytest fixtures for the Telegram Bot API sandbox: one server per session, reset per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sandbox import RunningSandbox, run_in_thread
from sandbox.client import SandboxClient


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[RunningSandbox]:
    """One in-process sandbox (own event loop, daemon thread, free port) for the session."""
    server = run_in_thread(port=0)
    yield server
    server.stop()


@pytest.fixture
def sandbox(sandbox_server: RunningSandbox) -> Iterator[SandboxClient]:
    """A SandboxClient on a freshly reset sandbox (.url/.api_url, .token, chats, faults…)."""
    client = SandboxClient(sandbox_server.url)
    client.reset()
    yield client
    client.close()
