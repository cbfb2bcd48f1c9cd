"""The bot's side of core.metrics: GET /metrics on the health port, and each Bot API call
PTB makes counted by method and result.

The bot is one process (replicas are separate targets), so it serves prometheus-client's
default registry as it is; PROMETHEUS_MULTIPROC_DIR is the workers' alone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any, TypeVar

from aiohttp import web
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)

from core import metrics
from core.metrics.exposition import render

T = TypeVar("T")

# PTB's errors by the HTTP answer behind them (its errors carry no status code). Order
# matters: BadRequest and TimedOut are NetworkErrors.
_CODES: tuple[tuple[type[Exception], int], ...] = (
    (RetryAfter, 429),
    (Forbidden, 403),
    (InvalidToken, 401),
    (Conflict, 409),
    (ChatMigrated, 400),
    (BadRequest, 400),
    (TimedOut, 0),
    (NetworkError, 0),
)


async def metrics_page(request: web.Request) -> web.Response:
    """GET /metrics: the bot's metrics in Prometheus' text format (OpenMetrics on request)."""
    # In a thread: the scrape-time sources (orders waiting, the last backup) query the
    # database, which must not hold the bot's event loop.
    body, content_type = await asyncio.to_thread(render, accept=request.headers.get("Accept"))
    response = web.Response(body=body)
    # aiohttp takes the charset apart from the type.
    response.headers["Content-Type"] = content_type
    return response


def result_of(exc: BaseException) -> tuple[str, float]:
    """The result label of a failed call, and the retry_after of a 429 (else 0)."""
    for kind, code in _CODES:
        if isinstance(exc, kind):
            retry_after = exc.retry_after if isinstance(exc, RetryAfter) else 0.0
            if isinstance(retry_after, timedelta):
                retry_after = retry_after.total_seconds()
            return metrics.api_result(code), float(retry_after)
    return "error", 0.0


def counted(
    callback: Callable[..., Coroutine[Any, Any, T]], endpoint: str
) -> Callable[..., Coroutine[Any, Any, T]]:
    """`callback` (PTB's request for `endpoint`), each call counted by how it ended."""
    if not metrics.enabled():
        return callback

    async def call(*args: Any, **kwargs: Any) -> T:
        try:
            result = await callback(*args, **kwargs)
        except Exception as exc:
            metrics.api_call(endpoint, *result_of(exc))
            raise
        metrics.api_call(endpoint, "ok")
        return result

    return call
