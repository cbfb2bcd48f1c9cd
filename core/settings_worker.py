"""The worker node's memory settings (README, "Photos" and "Operations"), declared apart from
core.settings like the receipts' ones; `Settings` inherits them. Each is off (0) unless set:
a worker then runs as Celery's default (one pool process per CPU, none recycled for memory)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings

from core.settings_types import Bytes


class WorkerSettings(BaseSettings):
    """What bounds a worker node's memory: its pool processes, a pool process's memory after a
    task, and how many images the node (the host, or the container) decodes at once."""

    # Pool processes per worker node (Celery's worker_concurrency; 0: one per CPU).
    worker_concurrency: int = Field(default=0, ge=0)
    # A pool process whose resident memory is over this after a task is replaced by a fresh
    # one (Celery's worker_max_memory_per_child): what a decode leaves behind does not stay.
    worker_max_memory_per_child: Bytes = 0
    # Image decodes at once on this host (core.photos.slots; 0: one per pool process).
    image_decode_slots: int = Field(default=0, ge=0)
