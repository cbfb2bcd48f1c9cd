"""Which worker holds which broker message (core.recovery.holders), Celery's side: each
worker notes the messages it takes and beats from its main process; the sweep gives back what a
dead worker held unacked, at once instead of after VISIBILITY_TIMEOUT."""

from __future__ import annotations

import threading
import time
from typing import Any

from celery import signals
from celery.utils.log import get_task_logger

from core.recovery.holders import Holders
from tasks import app, clients
from tasks.forksafe import per_process

log = get_task_logger(__name__)


# This worker's name (its main process, once the Sweeper step is built): what it takes is
# noted under it.
WORKER: dict[str, str] = {}


@per_process
def holders() -> Holders:
    """Which worker holds which message; a worker is dead after a lease without a beat."""
    return Holders(clients.redis_client(), clients.settings().task_lease)


@signals.task_received.connect
def _note_taken(request: Any = None, **_: Any) -> None:
    """The worker took a message, which may wait in its memory behind others before it runs:
    noted before it can start, so the message goes back at once if the worker dies with it."""
    name = WORKER.get("name")
    tag = getattr(getattr(request, "message", None), "delivery_tag", None)
    if not (name and tag):
        return
    try:
        holders().took(name, str(tag))
    except Exception:  # Redis away: the message keeps the broker's own redelivery
        log.warning("message %s taken and not noted", tag, exc_info=True)


def start_beating(name: str, every: float) -> None:
    """Beat for this worker from a thread of its main process until the process exits (not
    the Sweeper's stop: tasks still finishing in a warm shutdown are not a dead worker's)."""

    def beat() -> None:
        while True:
            try:
                holders().beat(name)
            except Exception:  # Redis away for a moment: beat again next time
                log.warning("worker beat failed", exc_info=True)
            time.sleep(every)

    threading.Thread(target=beat, name="worker-beat", daemon=True).start()


def give_back_dead_workers() -> int:
    """Put the messages a dead worker took and never acked (prefetched, or running when it
    died) back at the head of their queues, as Redis would after VISIBILITY_TIMEOUT; how many."""
    claimed = holders().claim_dead()
    if not claimed:
        return 0
    with app.connection_for_write() as connection:
        qos = connection.default_channel.qos
        for tag, _worker in claimed:
            qos.restore_by_tag(tag, leftmost=False)
            holders().restored(tag)
    for worker in sorted({w for _, w in claimed}):
        held = sum(1 for _, w in claimed if w == worker)
        log.warning("worker %s died holding %s messages: back in their queues", worker, held)
    return len(claimed)
