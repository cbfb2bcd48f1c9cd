"""The bot's metrics: /metrics beside /healthz, and PTB's calls counted by how they ended."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from prometheus_client import REGISTRY
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from bot.metrics import counted, result_of
from core import metrics
from core.settings import Settings
from tests.bot.test_health import FakeApplication, serve


def calls(method: str, result: str) -> float:
    labels = {"method": method, "result": result}
    return REGISTRY.get_sample_value("pedidos_bot_api_calls_total", labels) or 0.0


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (RetryAfter(3), ("429", 3.0)),
        (RetryAfter(timedelta(seconds=2)), ("429", 2.0)),
        (Forbidden("bot was blocked by the user"), ("403", 0.0)),
        (BadRequest("Message is not modified"), ("400", 0.0)),
        (TimedOut(), ("network", 0.0)),
        (NetworkError("Bad Gateway"), ("network", 0.0)),
        (ValueError("a bug"), ("error", 0.0)),
    ],
)
def test_ptb_errors_map_to_the_workers_result_labels(
    error: Exception, expected: tuple[str, float]
) -> None:
    assert result_of(error) == expected


async def test_each_call_through_the_limiter_is_counted_once() -> None:
    async def answer(*_: Any) -> bool:
        return True

    async def flood(*_: Any) -> bool:
        raise RetryAfter(5)

    ok, limited = calls("sendPhoto", "ok"), calls("sendPhoto", "429")
    waited = REGISTRY.get_sample_value(
        "pedidos_bot_api_retry_after_seconds_total", {"method": "sendPhoto"}
    )
    assert await counted(answer, "sendPhoto")() is True
    with pytest.raises(RetryAfter):
        await counted(flood, "sendPhoto")()
    assert calls("sendPhoto", "ok") == ok + 1 and calls("sendPhoto", "429") == limited + 1
    after = REGISTRY.get_sample_value(
        "pedidos_bot_api_retry_after_seconds_total", {"method": "sendPhoto"}
    )
    assert after == (waited or 0.0) + 5


async def test_metrics_are_served_beside_healthz_unless_off() -> None:
    metrics.api_call("getMe", "ok")
    client = await serve(FakeApplication(), Settings(health_port=9000))
    try:
        page = await client.get("/metrics")
        assert page.status == 200 and page.content_type == "text/plain"
        assert 'pedidos_bot_api_calls_total{method="getMe",result="ok"}' in await page.text()
    finally:
        await client.close()
    metrics.configure(False)
    try:
        client = await serve(FakeApplication(), Settings(health_port=9000))
        assert (await client.get("/metrics")).status == 404
        await client.close()
    finally:
        metrics.configure(True)
