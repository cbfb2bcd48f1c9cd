"""Fixtures for the sandbox's own tests: the shared sandbox fixtures plus a PTB Bot on it."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import requests
from PIL import Image
from telegram import Bot

from sandbox.client import SandboxClient
from tests.support.sandbox import sandbox, sandbox_server

__all__ = ["sandbox", "sandbox_server"]


@pytest.fixture
async def bot(sandbox: SandboxClient) -> AsyncIterator[Bot]:
    """An unmodified python-telegram-bot Bot pointed at the sandbox."""
    ptb = Bot(
        sandbox.token,
        base_url=f"{sandbox.api_url}/bot",
        base_file_url=f"{sandbox.api_url}/file/bot",
    )
    async with ptb:
        yield ptb


class RawApi:
    """Plain `requests` calls to the Bot API, as the Celery workers make them."""

    def __init__(self, client: SandboxClient) -> None:
        self.base = f"{client.api_url}/bot{client.token}"
        self.session = requests.Session()

    def __call__(self, method: str, **params: Any) -> dict[str, Any]:
        """POST JSON, return the decoded answer (ok or not)."""
        return dict(self.session.post(f"{self.base}/{method}", json=params, timeout=30).json())

    def post(self, method: str, **kwargs: Any) -> requests.Response:
        """Any POST (form data, files…)."""
        return self.session.post(f"{self.base}/{method}", timeout=30, **kwargs)

    def get(self, method: str, **params: Any) -> requests.Response:
        """GET with query parameters."""
        return self.session.get(f"{self.base}/{method}", params=params, timeout=60)


@pytest.fixture
def roomy_limits(sandbox: SandboxClient) -> None:
    """Raise the sandbox's flood limits (Telegram's, on by default) for one test.

    For tests about what a method answers that send many messages to one chat in a row:
    without it the 4th message in a second is a 429 and hides the rule under test. Tests
    ask for it by name (`@pytest.mark.usefixtures("roomy_limits")`), so each says so.
    """
    roomy = 10_000
    sandbox.set_limits(
        global_per_second=roomy,
        chat_per_second=roomy,
        chat_burst=roomy,
        group_per_minute=60 * roomy,
    )


@pytest.fixture
def api(sandbox: SandboxClient) -> Iterator[RawApi]:
    """Raw Bot API calls with requests."""
    raw = RawApi(sandbox)
    yield raw
    raw.session.close()


def image_bytes(
    width: int, height: int, fmt: str = "JPEG", color: tuple[int, int, int] = (200, 30, 30)
) -> bytes:
    """A real encoded image."""
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, fmt)
    return buffer.getvalue()
