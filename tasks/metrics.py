"""Prometheus for the Celery side: each worker node serves the sum of its pool processes'
metrics on WORKER_METRICS_PORT, and beat serves its own on BEAT_METRICS_PORT (so that a
missing beat shows as a target down).

A prefork pool is several processes: prometheus-client's multiprocess mode
(https://prometheus.github.io/client_python/multiprocess/) has each write its own file under
PROMETHEUS_MULTIPROC_DIR, which the node's server adds up at scrape time. The directory is
set in the worker's environment before it starts (compose, the Procfile), wiped here as the
node starts, and a pool process that exits is marked dead.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from celery.signals import beat_init, worker_init, worker_process_shutdown
from prometheus_client import REGISTRY, CollectorRegistry, start_http_server

from core import metrics
from core.metrics.exposition import node_registry, process_exited, wipe_previous_run
from core.settings import Settings, get_settings, prometheus_multiproc_dir

log = logging.getLogger(__name__)


def _serve(what: str, settings: Settings, port: int, registry: CollectorRegistry) -> None:
    """Serve `registry` on METRICS_LISTEN:`port`; a port taken is logged, not fatal (the
    process's work matters more, and Prometheus shows the target down)."""
    try:
        start_http_server(port, settings.metrics_listen, registry)
    except OSError as exc:
        log.error("%s metrics not served on %s:%s: %s", what, settings.metrics_listen, port, exc)
        return
    log.info("%s metrics on http://%s:%s/metrics", what, settings.metrics_listen, port)


@worker_init.connect(weak=False)
def serve_worker_metrics(**_: Any) -> None:
    """In the node's main process, before the pool starts: wipe and serve."""
    settings = get_settings()
    metrics.configure(settings.metrics_enabled)
    if not settings.metrics_enabled or not settings.worker_metrics_port:
        return
    if not prometheus_multiproc_dir():
        log.error(
            "WORKER_METRICS_PORT is set without PROMETHEUS_MULTIPROC_DIR: the pool processes' "
            "metrics cannot be added up, so none are served (see README, Metrics)"
        )
        return
    directory = Path(prometheus_multiproc_dir())
    wiped = wipe_previous_run(directory, os.getpid())
    log.debug("metrics: %s files of an earlier run wiped from %s", wiped, directory)
    _serve("worker", settings, settings.worker_metrics_port, node_registry(directory))


@worker_process_shutdown.connect(weak=False)
def mark_process_dead(pid: int | None = None, **_: Any) -> None:
    """A pool process is exiting: its live gauges stop counting."""
    directory = prometheus_multiproc_dir()
    if directory:
        process_exited(Path(directory), pid or os.getpid())


@beat_init.connect(weak=False)
def serve_beat_metrics(**_: Any) -> None:
    """Beat is one process: its default registry as it is."""
    settings = get_settings()
    metrics.configure(settings.metrics_enabled)
    if settings.metrics_enabled and settings.beat_metrics_port:
        _serve("beat", settings, settings.beat_metrics_port, REGISTRY)
