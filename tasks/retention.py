"""`podar_retenidos`: beat runs it every RETENTION_INTERVAL to apply the retention settings.

Thin: core.retention removes finished orders and photo jobs past ORDER_RETENTION and
MEDIA_RETENTION, with their index entries, and renditions not used for MEDIA_RETENTION.
Safe to run twice at once: every removal is idempotent.
"""

from __future__ import annotations

from dataclasses import asdict

from celery.utils.log import get_task_logger

from tasks import app
from tasks import context as ctx

log = get_task_logger(__name__)


@app.task(name="podar_retenidos", queue="watcher", ignore_result=True)
def podar_retenidos() -> dict[str, int]:
    """Remove what is past its retention; how many of each were removed."""
    return asdict(ctx.retention().sweep())
