"""Retention: old finished orders leave the database (only when ORDER_RETENTION is set: by
default every order is kept), finished photo jobs leave it after MEDIA_RETENTION, old
renditions leave the disk.

Run by beat (`podar_retenidos`, every RETENTION_INTERVAL). Orders are deleted by finish time
through an index (`ix_orders_finished`), in batches, with their history; their ids stay issued
for ever (core.db.models.IssuedOrderId). Photo jobs likewise by their finish time
(`ix_photo_jobs_finished`), so a sweep costs in proportion to what expires now, never to
everything ever stored.

Renditions are files named by content, so one file can serve two jobs of the same photo:
a job that reuses a file touches it (core.photos.renditions), and the sweep deletes only files not
written or reused for MEDIA_RETENTION.

The sweep deletes only files the app writes, by their names, directly in MEDIA_DIR: a
rendition (`grande-<32 hex>.jpg`) or one's temporary file left by a crash
(`.grande-<32 hex>.jpg.<random>.tmp`). It never descends into subfolders and leaves any other
file alone, so a MEDIA_DIR pointed by mistake at a folder with other data (a home, `/`)
loses nothing. Photos attached to an order (core.relay.photos) live in MEDIA_DIR/pedidos/<id>/
and stay as long as their order: a sweep removes the folders of orders no longer stored.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from core.orders.store import OrderStore
from core.photos.jobs import PhotoJobStore
from core.photos.renditions import RENDITIONS
from core.relay.photos import OrderPhotos

log = logging.getLogger(__name__)

# Records removed per transaction: each is short, so writers never wait long on a sweep.
BATCH = 500

# The names core.photos.renditions gives renditions (`_file_name`) and their temporary files.
_RENDITION = rf"(?:{'|'.join(re.escape(r.name) for r in RENDITIONS)})-[0-9a-f]{{32}}\.jpg"
APP_FILE = re.compile(rf"{_RENDITION}|\.{_RENDITION}\.[A-Za-z0-9_]+\.tmp")


@dataclass(frozen=True)
class SweepReport:
    """What one sweep removed."""

    orders: int
    photo_jobs: int
    files: int
    # Photo folders of orders retention deleted (core.relay.photos): kept as long as the order.
    order_folders: int = 0


class Retention:
    """Removes what is older than its retention: finished records, then rendition files."""

    def __init__(
        self,
        photo_jobs: PhotoJobStore,
        store: OrderStore,
        order_retention: float,
        legal_retention: float,
        media_retention: float,
        media_dir: Path,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.photo_jobs = photo_jobs
        self.order_retention = order_retention
        self.legal_retention = legal_retention
        self.media_retention = media_retention
        self.media_dir = media_dir
        self.clock = clock

    def sweep(self) -> SweepReport:
        now = self.clock()
        orders = 0
        if self.order_retention > 0:  # ORDER_RETENTION=off (0, the default) keeps every order
            orders = self.store.delete_finished_before(
                now - self.order_retention, BATCH, paid_cutoff=now - self.legal_retention
            )
        jobs = self.photo_jobs.delete_finished_before(now - self.media_retention, BATCH)
        files = self.delete_old_files(now - self.media_retention)
        folders = OrderPhotos(self.store.db).prune_folders(self.media_dir)
        report = SweepReport(orders=orders, photo_jobs=jobs, files=files, order_folders=folders)
        log.info("retention sweep: %s orders, %s photo jobs, %s files", orders, jobs, files)
        return report

    def delete_old_files(self, cutoff: float) -> int:
        """Delete renditions (and their stray temporary files) last written or used before
        `cutoff`: only files named as the app names them, directly in MEDIA_DIR."""
        removed = 0
        if not self.media_dir.is_dir():
            return 0
        for path in self.media_dir.iterdir():
            if not APP_FILE.fullmatch(path.name):
                continue
            try:
                if path.is_file() and not path.is_symlink() and path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed += 1
            except FileNotFoundError:
                continue  # another sweep, or the job that owned it, got there first
        return removed
