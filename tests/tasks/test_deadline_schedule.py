"""Beat schedules the deadline watcher only with STAFF_CHAT_ID, every minute or every
WATCH_INTERVAL when shorter; without staff the task does nothing."""

from __future__ import annotations

from celeryconfig import _schedule
from core.settings import Settings


def test_no_staff_chat_no_deadline_runs() -> None:
    assert "vigilar-plazos" not in _schedule(Settings())


def test_deadlines_are_checked_every_minute_or_sooner() -> None:
    entry = _schedule(Settings(staff_chat_id=-100123))["vigilar-plazos"]
    assert entry["task"] == "vigilar_plazos"
    assert entry["schedule"].run_every.total_seconds() == 60
    fast = _schedule(Settings(staff_chat_id=-100123, watch_interval=1.0))["vigilar-plazos"]
    assert fast["schedule"].run_every.total_seconds() == 1
