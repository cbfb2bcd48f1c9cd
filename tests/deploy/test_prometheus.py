"""deploy/: Prometheus' scrape config and alert rules load in promtool and fire when they
should, the dashboard's queries are valid PromQL over metrics the code exposes, and the
compose stack's `monitoring` profile scrapes the ports the processes serve on."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import REGISTRY

from core import metrics

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS = ROOT / "deploy" / "prometheus"
DASHBOARD = ROOT / "deploy" / "grafana" / "pedidos-shop.json"
PROMTOOL = shutil.which("promtool")


@pytest.fixture
def promtool_installed() -> None:
    """make test installs Debian's prometheus (scripts/system-deps.sh): a missing promtool is
    a broken setup, not a reason to pass without checking the rules."""
    if PROMTOOL is None:
        pytest.fail("promtool not installed: `make setup` (Debian: apt-get install prometheus)")


needs_promtool = pytest.mark.usefixtures("promtool_installed")
METRIC_NAME = re.compile(r"\bpedidos_[a-z_]+\b")
# Grafana's variables, as a query at a one-day range would have them.
GRAFANA_VARIABLES = {"$__range": "1d", "$__rate_interval": "5m", "$__interval": "1m"}


def promtool(*args: str, cwd: Path = PROMETHEUS) -> str:
    assert PROMTOOL is not None
    done = subprocess.run([PROMTOOL, *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@needs_promtool
@pytest.mark.parametrize("config", ["prometheus.yml", "local.yml"])
def test_the_scrape_configs_and_their_rules_load(config: str) -> None:
    out = promtool("check", "config", config)
    assert "SUCCESS: 1 rule files found" in out
    assert "SUCCESS" in promtool("check", "rules", "alerts.yml")


@needs_promtool
def test_every_alert_fires_when_it_should_and_only_then() -> None:
    assert "SUCCESS" in promtool("test", "rules", "alerts.test.yml")
    tested = set(re.findall(r"alertname: (\w+)", (PROMETHEUS / "alerts.test.yml").read_text()))
    alerts = {rule["alert"] for group in rules()["groups"] for rule in group["rules"]}
    assert alerts == tested


def rules() -> dict[str, Any]:
    data = yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())
    assert isinstance(data, dict)
    return data


def dashboard_queries() -> list[str]:
    board = json.loads(DASHBOARD.read_text())
    queries = [t["expr"] for p in board["panels"] for t in p.get("targets", [])]
    assert len(queries) > 20
    return queries


def exposed_names() -> set[str]:
    """Every sample name core.metrics can expose, its scrape-time sources included."""
    metrics.set_waiting_source(lambda: {"pendiente": 1})
    metrics.set_overdue_source(lambda: {"accept": 0})
    metrics.set_backup_source(lambda: metrics.BackupInfo(0.0, 0))
    try:
        return {
            sample.name
            for family in REGISTRY.collect()
            if family.name.startswith("pedidos_")
            for sample in family.samples
        } | {f"{family.name}_bucket" for family in REGISTRY.collect() if family.type == "histogram"}
    finally:
        metrics.set_waiting_source(None)
        metrics.set_overdue_source(None)
        metrics.set_backup_source(None)


def test_rules_and_dashboard_name_only_metrics_the_code_exposes() -> None:
    # Counters with labels show samples only once used: touch each so it is listed.
    metrics.api_call("getMe", "ok", 1.0)
    for call in (metrics.order_event, metrics.precheckout_refused, metrics.dead_letter):
        call("probe")
    metrics.photo_job("done")
    metrics.deadline_breach("accept")
    metrics.send_delayed(True)
    metrics.payment("EUR", 0)
    metrics.refund("EUR", 0)
    metrics.state_time("pendiente", 0.0)
    used = set(METRIC_NAME.findall((PROMETHEUS / "alerts.yml").read_text()))
    used |= {name for query in dashboard_queries() for name in METRIC_NAME.findall(query)}
    assert used - exposed_names() == set()
    assert len(used) > 15


@needs_promtool
def test_every_dashboard_query_is_valid_promql(tmp_path: Path) -> None:
    records = []
    for number, query in enumerate(dashboard_queries()):
        for variable, value in GRAFANA_VARIABLES.items():
            query = query.replace(variable, value)
        records.append({"record": f"dashboard:query_{number}", "expr": query})
    (tmp_path / "dashboard.yml").write_text(
        yaml.safe_dump({"groups": [{"name": "dashboard", "rules": records}]})
    )
    assert "SUCCESS" in promtool("check", "rules", "dashboard.yml", cwd=tmp_path)


def test_the_monitoring_profile_scrapes_the_ports_the_stack_serves_on() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    prometheus = services["prometheus"]
    assert prometheus["profiles"] == ["monitoring"]  # `docker compose up` alone: unchanged
    assert "./deploy/prometheus:/etc/prometheus:ro" in prometheus["volumes"]
    assert {"internal", "egress"} <= set(prometheus["networks"])
    assert all(port.startswith("127.0.0.1:") for port in prometheus["ports"])
    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
    ports = {
        job["job_name"]: sd["port"]
        for job in config["scrape_configs"]
        for sd in job.get("dns_sd_configs", [])
    }
    assert ports == {
        "bot": int(services["bot"]["environment"]["HEALTH_PORT"]),
        "worker": int(services["worker"]["environment"]["WORKER_METRICS_PORT"]),
        "beat": int(services["beat"]["environment"]["BEAT_METRICS_PORT"]),
    }
    worker = services["worker"]
    # The image makes it, the user's (not a tmpfs: Podman 4.3 remounts one as root's on a
    # restart); each container has its own.
    directory = worker["environment"]["PROMETHEUS_MULTIPROC_DIR"]
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert f"mkdir -p /data/media /data/backups {directory}" in dockerfile
    assert f"chown -R pedidos:pedidos /data {directory}" in dockerfile
    assert "volumes" not in worker or all(directory not in v for v in worker["volumes"])
    # Only the workers run in multiprocess mode: the bot and beat serve their own registry.
    for name in ("bot", "beat", "flower"):
        assert "PROMETHEUS_MULTIPROC_DIR" not in services[name]["environment"], name
