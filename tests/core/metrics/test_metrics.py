"""The metrics API: one call per event, label values that can never carry a customer, levels
read at scrape time, and METRICS_ENABLED off recording nothing."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from core import metrics
from core.metrics import BackupInfo, catalog
from core.metrics.exposition import node_registry, render, wipe_previous_run
from core.telegram.client import BadRequest, TooManyRequests, TransientError

ROOT = Path(__file__).resolve().parents[3]


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.fixture(autouse=True)
def _fresh_sources() -> Iterator[None]:
    metrics.configure(True)
    yield
    metrics.configure(True)
    metrics.set_waiting_source(None)
    metrics.set_backup_source(None)
    metrics.set_overdue_source(None)


@pytest.mark.parametrize(
    "value", ["sendMessage", "pendiente", "too_big", "429", "5xx", "network", "aceptado"]
)
def test_names_our_code_chooses_are_kept(value: str) -> None:
    assert metrics.label(value) == value


@pytest.mark.parametrize(
    "value",
    ["P-7K2Q4F", "F-7K2Q4F", "123456789", "-1001234567890", "2 pizzas margarita", "x" * 41, ""],
)
def test_ids_and_user_text_become_otro(value: str) -> None:
    assert metrics.label(value) == "otro"


def test_an_order_event_with_an_order_id_by_mistake_is_counted_as_otro() -> None:
    before = value("pedidos_orders_total", event="otro")
    paid = value("pedidos_orders_total", event="paid")
    metrics.order_event("paid")
    metrics.order_event("P-7K2Q4F")
    assert value("pedidos_orders_total", event="paid") == paid + 1
    assert value("pedidos_orders_total", event="otro") == before + 1
    assert value("pedidos_orders_total", event="P-7K2Q4F") == 0


def test_money_is_counted_in_minor_units_per_currency() -> None:
    eur = value("pedidos_revenue_minor_total", currency="EUR")
    metrics.payment("EUR", 1250)
    metrics.payment("EUR", 99)
    metrics.refund("XTR", 50)
    metrics.payment("euros", 1)
    assert value("pedidos_revenue_minor_total", currency="EUR") == eur + 1349
    assert value("pedidos_refunds_minor_total", currency="XTR") >= 50
    assert value("pedidos_revenue_minor_total", currency="otro") >= 1


def test_bot_api_calls_are_counted_by_how_they_ended() -> None:
    def count(result: str) -> float:
        return value("pedidos_bot_api_calls_total", method="editMessageText", result=result)

    before = {r: count(r) for r in ("ok", "400", "429", "network", "5xx", "error")}
    waited = value("pedidos_bot_api_retry_after_seconds_total", method="editMessageText")
    errors: list[Exception] = [
        BadRequest("editMessageText", 400, "message is not modified"),
        TooManyRequests("editMessageText", 429, "Too Many Requests", 7.0),
        TransientError("editMessageText", 0, "connection failed"),
        TransientError("editMessageText", 502, "Bad Gateway"),
        ValueError("a bug"),
    ]
    with metrics.bot_api_call("editMessageText"):
        pass
    for error in errors:
        with pytest.raises(type(error)), metrics.bot_api_call("editMessageText"):
            raise error
    after = {r: count(r) - before[r] for r in before}
    assert after == {"ok": 1, "400": 1, "429": 1, "network": 1, "5xx": 1, "error": 1}
    assert value("pedidos_bot_api_retry_after_seconds_total", method="editMessageText") == (
        waited + 7.0
    )


def test_metrics_off_records_nothing() -> None:
    before = value("pedidos_dead_letters_total", kind="send")
    metrics.configure(False)
    metrics.dead_letter("send")
    with metrics.bot_api_call("sendMessage"):
        pass
    metrics.configure(True)
    metrics.dead_letter("send")
    assert value("pedidos_dead_letters_total", kind="send") == before + 1


def test_orders_waiting_are_read_from_the_source_at_each_scrape() -> None:
    waiting = {"pendiente": 3, "aceptado": 1}
    metrics.set_waiting_source(lambda: waiting)
    assert value("pedidos_orders_waiting", state="pendiente") == 3
    waiting["pendiente"] = 0
    assert value("pedidos_orders_waiting", state="pendiente") == 0
    assert value("pedidos_metrics_source_up", source="waiting") == 1


def test_orders_past_a_deadline_are_a_gauge_per_deadline() -> None:
    metrics.set_overdue_source(lambda: {"accept": 2, "ready": 0})
    assert value("pedidos_orders_overdue", deadline="accept") == 2
    assert value("pedidos_metrics_source_up", source="overdue") == 1


def test_a_failing_source_is_reported_and_the_rest_still_goes_out() -> None:
    def broken() -> dict[str, int]:
        raise ConnectionError("database down")

    metrics.set_waiting_source(broken)
    metrics.order_event("created")
    body, _ = render()
    families = {f.name for f in text_string_to_metric_families(body.decode())}
    assert "pedidos_orders" in families and "pedidos_orders_waiting" not in families
    assert value("pedidos_metrics_source_up", source="waiting") == 0


def test_the_backup_gauges_say_when_and_how_big() -> None:
    finished = time.time() - 3600
    metrics.set_backup_source(lambda: BackupInfo(finished_at=finished, size_bytes=4096))
    assert value("pedidos_backup_last_success_timestamp_seconds") == finished
    assert 3600 <= value("pedidos_backup_age_seconds") < 3700
    assert value("pedidos_backup_size_bytes") == 4096
    metrics.set_backup_source(lambda: None)
    assert REGISTRY.get_sample_value("pedidos_backup_age_seconds") is None


def test_buckets_cover_telegrams_ten_seconds_and_a_days_wait() -> None:
    assert catalog.PRECHECKOUT_BUCKETS[-1] == 10 and 5 in catalog.PRECHECKOUT_BUCKETS
    assert catalog.STATE_BUCKETS[-1] == 86400


COUNT_IN_A_PROCESS = """
from core import metrics
metrics.photo_job("done")
metrics.api_call("sendMediaGroup", "ok")
"""


def test_a_node_adds_up_its_processes_and_a_new_run_starts_from_zero(tmp_path: Path) -> None:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    for _ in range(3):  # three pool processes, each its own file
        subprocess.run([sys.executable, "-c", COUNT_IN_A_PROCESS], env=env, cwd=ROOT, check=True)
    registry = node_registry(tmp_path)
    assert registry.get_sample_value("pedidos_photo_jobs_total", {"result": "done", "reason": ""})
    assert (
        registry.get_sample_value("pedidos_photo_jobs_total", {"result": "done", "reason": ""}) == 3
    )
    assert (
        registry.get_sample_value(
            "pedidos_bot_api_calls_total", {"method": "sendMediaGroup", "result": "ok"}
        )
        == 3
    )
    assert wipe_previous_run(tmp_path, keep_pid=os.getpid()) >= 3
    assert (
        node_registry(tmp_path).get_sample_value(
            "pedidos_photo_jobs_total", {"result": "done", "reason": ""}
        )
        is None
    )
