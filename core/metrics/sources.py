"""Levels read when Prometheus scrapes, not counted as they happen: orders waiting per state
and the last backup. Whoever knows them (the database) registers a callable once at start-up;
each scrape calls it, so a restarted process shows the truth at once, never a stale count.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BackupInfo:
    """The newest good backup: when it finished (Unix time) and its size."""

    finished_at: float
    size_bytes: int


WaitingSource = Callable[[], Mapping[str, int]]
BackupSource = Callable[[], BackupInfo | None]


class SourceCollector(Collector):
    """Gauges from the registered sources, and whether each answered (`..._source_up`)."""

    def __init__(self, label: Callable[[str], str]) -> None:
        self.label = label
        self.waiting: WaitingSource | None = None
        self.backup: BackupSource | None = None

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "pedidos_metrics_source_up",
            "Whether a source read at scrape time answered (1) or failed (0).",
            labels=["source"],
        )
        if self.waiting is not None:
            family = self._waiting(self.waiting)
            up.add_metric(["waiting"], 0 if family is None else 1)
            if family is not None:
                yield family
        if self.backup is not None:
            families = self._backup(self.backup)
            up.add_metric(["backup"], 0 if families is None else 1)
            yield from families or ()
        if self.waiting is not None or self.backup is not None:
            yield up

    def _waiting(self, source: WaitingSource) -> GaugeMetricFamily | None:
        try:
            counts = dict(source())
        except Exception:  # a failing database must not fail the whole scrape
            log.warning("metrics: the orders-waiting source failed", exc_info=True)
            return None
        family = GaugeMetricFamily(
            "pedidos_orders_waiting", "Orders in each unfinished state right now.", labels=["state"]
        )
        for state, count in sorted(counts.items()):
            family.add_metric([self.label(state)], int(count))
        return family

    def _backup(self, source: BackupSource) -> list[GaugeMetricFamily] | None:
        try:
            info = source()
        except Exception:  # as above: the other metrics still go out
            log.warning("metrics: the backup source failed", exc_info=True)
            return None
        if info is None:  # no backup yet: the alert's absent() says so
            return []
        return [
            GaugeMetricFamily(
                "pedidos_backup_last_success_timestamp_seconds",
                "When the newest good backup finished (Unix time).",
                value=info.finished_at,
            ),
            GaugeMetricFamily(
                "pedidos_backup_age_seconds",
                "Seconds since the newest good backup finished.",
                value=max(0.0, time.time() - info.finished_at),
            ),
            GaugeMetricFamily(
                "pedidos_backup_size_bytes",
                "Size of the newest good backup.",
                value=info.size_bytes,
            ),
        ]
