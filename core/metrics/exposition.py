"""How a process serves its metrics: the bot renders its own registry on /metrics; a Celery
worker node in prometheus-client's multiprocess mode sums the files of every pool process.

Multiprocess mode (https://prometheus.github.io/client_python/multiprocess/): the variable
PROMETHEUS_MULTIPROC_DIR names a directory that exists before the process starts (the library
picks its value store when imported), is the node's own, and is wiped at each start; a pool
process that exits is marked dead so that its live gauges go.
"""

from __future__ import annotations

from pathlib import Path

from prometheus_client import REGISTRY, CollectorRegistry, multiprocess
from prometheus_client.exposition import choose_encoder

from core.metrics import SOURCES


def render(registry: CollectorRegistry = REGISTRY, accept: str | None = None) -> tuple[bytes, str]:
    """The exposition text of `registry` (OpenMetrics if `accept` asks for it), and its
    content type."""
    encoder, content_type = choose_encoder(accept or "")
    return encoder(registry), content_type


def node_registry(directory: Path) -> CollectorRegistry:
    """A registry holding the sum of every process's files in `directory` (a worker node's
    pool), plus the levels read at scrape time."""
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=str(directory))
    registry.register(SOURCES)
    return registry


def wipe_previous_run(directory: Path, keep_pid: int) -> int:
    """Delete the files an earlier run of the node left (every pid but `keep_pid`, this
    process, whose files exist since its imports); returns how many went."""
    removed = 0
    for path in directory.glob("*.db"):
        if not path.stem.endswith(f"_{keep_pid}"):
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def process_exited(directory: Path, pid: int) -> None:
    """A pool process exited: its live gauges no longer count."""
    multiprocess.mark_process_dead(pid, path=str(directory))
