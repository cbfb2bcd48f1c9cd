"""Workers and beat refuse to start on a database they cannot use (unreachable, or at another
schema version than this code's), with one clear line, rather than failing task after task."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from celery.signals import beat_init, worker_init
from celery.utils.log import get_logger

from core import metrics
from core.backup.copies import copies
from core.db.connect import DatabaseUnavailable, open_checked
from core.logs import configure_logging
from core.metrics.sources import BackupInfo
from core.settings import get_settings

log = get_logger(__name__)


@worker_init.connect(weak=False)
@beat_init.connect(weak=False)
def _check_database(**_: Any) -> None:
    settings = get_settings()
    try:
        open_checked(settings.database_url).dispose()
    except DatabaseUnavailable as exc:
        # A worker sends worker_init before it sets up logging: without this the line would
        # go nowhere and the worker would just vanish.
        configure_logging(
            settings.log_level, settings.log_format, settings.telegram_bot_token.get_secret_value()
        )
        log.critical("cannot start: %s", exc)
        raise SystemExit(2) from None


@worker_init.connect(weak=False)
def _backups_in_metrics(**_: Any) -> None:
    """The worker node's /metrics shows its newest backup copy (BACKUP_DIR is its disk)."""
    directory = Path(get_settings().backup_dir)

    def newest() -> BackupInfo | None:
        found = copies(directory)
        if not found:
            return None
        stat = found[-1].stat()
        return BackupInfo(finished_at=stat.st_mtime, size_bytes=stat.st_size)

    metrics.set_backup_source(newest)
