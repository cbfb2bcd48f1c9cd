"""`backup_base_datos`: beat sends it daily at 02:00 (BACKUP_AT) to a queue every worker
takes; the task takes a verified copy, and when it cannot the admin chats hear why."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from celery.schedules import crontab

import celeryconfig
from core.backup.copies import BackupFailed, copies
from core.settings import Settings
from tasks import clients, delivery
from tasks.backup import backup_base_datos
from tests.support.system import WORKER_COMMAND

ADMINS = (-100777, 55)


class Messenger:
    def __init__(self) -> None:
        self.sent: list[tuple[int, str, str]] = []

    def send(self, chat_id: int, text: str, *, key: str, **_: Any) -> int | None:
        self.sent.append((chat_id, text, key))
        return len(self.sent)


def test_beat_sends_the_backup_daily_at_two_in_the_shops_zone() -> None:
    config = celeryconfig.build(Settings(report_timezone="Europe/Madrid"))
    entry = config["beat_schedule"]["backup-base-datos"]

    assert entry["task"] == "backup_base_datos"
    assert entry["schedule"] == crontab(minute=0, hour=2)
    assert config["timezone"] == "Europe/Madrid"
    # Routed to a queue the workers take.
    queue = config["task_routes"]["backup_base_datos"]["queue"]
    queues = next(a for a in WORKER_COMMAND if a.startswith("--queues=")).split("=")[1]
    assert queue in queues.split(",")
    procfile = (Path(__file__).resolve().parents[2] / "Procfile").read_text()
    assert queue in procfile.split("--queues=")[1].split()[0].split(",")

    later = celeryconfig.build(Settings(backup_at="30 3 * * *"))["beat_schedule"]
    assert later["backup-base-datos"]["schedule"] == crontab(minute="30", hour="3")
    none = celeryconfig.build(Settings(backup_at="off"))["beat_schedule"]
    assert "backup-base-datos" not in none
    assert any("BACKUP_KEEP" in problem for problem in Settings(backup_keep=0).problems())


@pytest.fixture
def messenger(monkeypatch: pytest.MonkeyPatch) -> Messenger:
    messenger = Messenger()
    monkeypatch.setattr(delivery, "courier", lambda: messenger)
    return messenger


def configure(monkeypatch: pytest.MonkeyPatch, **values: Any) -> None:
    settings = Settings(admin_chat_ids=ADMINS, **values)
    monkeypatch.setattr(clients, "settings", lambda: settings)


def test_the_task_takes_a_copy_and_keeps_backup_keep(
    sqlite_db: Any,
    tmp_path: Path,
    messenger: Messenger,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    backups = tmp_path / "backups"
    configure(monkeypatch, database_url=sqlite_db.url, backup_dir=str(backups), backup_keep=2)

    with caplog.at_level(logging.INFO, logger="core.backup.job"):
        results = [backup_base_datos.apply(task_id=f"night-{n}").get() for n in range(3)]

    assert copies(backups) == [Path(r["path"]) for r in results[-2:]]
    assert results[-1]["size"] == Path(results[-1]["path"]).stat().st_size > 0
    assert messenger.sent == []
    last = results[-1]
    assert f"backup path={last['path']} size={last['size']} " in caplog.text


def test_a_failed_backup_is_told_to_every_admin_chat(
    tmp_path: Path, messenger: Messenger, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("a file where the backups should go")
    database = tmp_path / "pedidos.db"
    configure(
        monkeypatch, database_url=f"sqlite:///{database}", backup_dir=str(blocked / "backups")
    )

    result = backup_base_datos.apply(task_id="night-1")

    assert isinstance(result.result, BackupFailed)
    assert [(chat, key) for chat, _, key in messenger.sent] == [
        (chat, f"backup:night-1:{chat}") for chat in ADMINS
    ]
    assert "La copia de seguridad de la base de datos ha fallado" in messenger.sent[0][1]
    assert "Not a directory" in messenger.sent[0][1]
