"""Levels read when Prometheus scrapes, not counted as they happen: orders waiting per state,
orders past each deadline, and the last backup. Whoever knows them (the database) registers a
callable once at start-up; each scrape calls it, so a restarted process shows the truth at
once, never a stale count.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)


WAITING_HELP = "Orders in each unfinished state right now."
OVERDUE_HELP = "Orders past a deadline right now (accept, ready, deliver...), still not done."


@dataclass(frozen=True)
class BackupInfo:
    """The newest good backup: when it finished (Unix time) and its size."""

    finished_at: float
    size_bytes: int


CountSource = Callable[[], Mapping[str, int]]
BackupSource = Callable[[], BackupInfo | None]


class SourceCollector(Collector):
    """Gauges from the registered sources, and whether each answered (`..._source_up`)."""

    def __init__(self, label: Callable[[str], str]) -> None:
        self.label = label
        self.waiting: CountSource | None = None
        self.overdue: CountSource | None = None
        self.backup: BackupSource | None = None

    def describe(self) -> list[Metric]:
        return []  # what is collected depends on the sources registered later

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "pedidos_metrics_source_up",
            "Whether a source read at scrape time answered (1) or failed (0).",
            labels=["source"],
        )
        counts = (
            ("waiting", self.waiting, "pedidos_orders_waiting", "state", WAITING_HELP),
            ("overdue", self.overdue, "pedidos_orders_overdue", "deadline", OVERDUE_HELP),
        )
        for source_name, source, name, label_name, help_text in counts:
            if source is not None:
                family = self._counts(source, name, label_name, help_text)
                up.add_metric([source_name], 0 if family is None else 1)
                yield from [family] if family is not None else []
        if self.backup is not None:
            families = self._backup(self.backup)
            up.add_metric(["backup"], 0 if families is None else 1)
            yield from families or ()
        if up.samples:
            yield up

    def _counts(
        self, source: CountSource, name: str, label_name: str, help_text: str
    ) -> GaugeMetricFamily | None:
        try:
            counts = dict(source())
        except Exception:  # a failing database must not fail the whole scrape
            log.warning("metrics: the source of %s failed", name, exc_info=True)
            return None
        family = GaugeMetricFamily(name, help_text, labels=[label_name])
        for key, count in sorted(counts.items()):
            family.add_metric([self.label(key)], int(count))
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
