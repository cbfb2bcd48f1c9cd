"""The running system a bench measures: the sandbox, a fresh redis-server and the bot and
workers around them (tests.support.system), in a temp dir, all stopped at the end."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sandbox import run_in_thread
from tests.support.system import System, running_system


@contextmanager
def bench_system(prefix: str, **env: str) -> Iterator[System]:
    """The system with `env` on top of the defaults; nothing started but Redis."""
    with (
        tempfile.TemporaryDirectory(prefix=prefix) as tmp,
        run_in_thread() as sandbox,
        running_system(Path(tmp), sandbox.url, sandbox.token, LOG_LEVEL="INFO", **env) as system,
    ):
        yield system
