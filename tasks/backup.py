"""`backup_base_datos` (queue `reports`): beat sends it daily at BACKUP_AT (02:00); a verified
copy of the database into BACKUP_DIR, the newest BACKUP_KEEP kept, the admin chats told when
it fails. Thin: core.backup does the work."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from celery import Task

from core.backup.job import BackupJob
from core.settings import LONGEST_TASK
from tasks import app, clients, delivery


@app.task(
    bind=True,
    name="backup_base_datos",
    # Not retried: a failed copy is told to the admins at once, and the next day's is fresh.
    soft_time_limit=LONGEST_TASK - 60,
    time_limit=LONGEST_TASK,
)
def backup_base_datos(self: Task) -> dict[str, Any]:
    """Take today's copy; its path and size (logged by the job)."""
    config = clients.settings()
    job = BackupJob(
        config.database_url,
        Path(config.backup_dir),
        config.backup_keep,
        delivery.courier(),
        config.admin_chat_ids,
    )
    # The task id keys the failure notices: a redelivered run tells each admin chat once.
    copy = job.run(f"backup:{self.request.id}")
    return {"path": str(copy.path), "size": copy.size, "seconds": round(copy.seconds, 1)}
