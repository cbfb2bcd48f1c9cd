"""Workers and beat refuse to start on a database they cannot use (unreachable, or at another
schema version than this code's), with one clear line, rather than failing task after task."""

from __future__ import annotations

from typing import Any

from celery.signals import beat_init, worker_init
from celery.utils.log import get_logger

from core.db.connect import DatabaseUnavailable, open_checked
from core.settings import get_settings

log = get_logger(__name__)


@worker_init.connect(weak=False)
@beat_init.connect(weak=False)
def _check_database(**_: Any) -> None:
    try:
        open_checked(get_settings().database_url).dispose()
    except DatabaseUnavailable as exc:
        log.critical("cannot start: %s", exc)
        raise SystemExit(2) from None
