"""A disk that fills during a backup: the admins are told, no half copy is left, and the
earlier copies stay as they were. The kernel refuses the writes: the backup runs in a process
whose files may not grow past a few kilobytes (RLIMIT_FSIZE), far below the database."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

from core.backup.copies import copies, take_backup
from tests.core.backup.conftest import fill
from tests.support.processes import ROOT

ADMINS = (-100123, 42)
LIMIT = 64 * 1024

BACKUP_WITH_A_FULL_DISK = """
import json, resource, sys
from pathlib import Path
from core.backup.copies import BackupFailed
from core.backup.job import BackupJob

class Messenger:
    sent = []
    def send(self, chat_id, text, *, key):
        self.sent.append({"chat": chat_id, "text": text, "key": key})
        return len(self.sent)

url, directory, limit = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
messenger = Messenger()
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
try:
    copy = BackupJob(url, directory, 7, messenger, (-100123, 42)).run("backup:run-1")
    result = {"ok": True, "path": str(copy.path)}
except BackupFailed as exc:
    result = {"ok": False, "error": str(exc)}
print(json.dumps({**result, "sent": messenger.sent}))
"""


def fingerprints(directory: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in directory.iterdir()}


def test_a_full_disk_during_a_backup_is_told_and_keeps_the_old_copies(
    database_url: str, tmp_path: Path
) -> None:
    fill(database_url, 3_000)
    backups = tmp_path / "backups"
    for day in range(2):
        take_backup(database_url, backups, keep=7, now=1_780_000_000.0 + day * 86400)
    before = fingerprints(backups)
    assert len(before) == 2 and all(p.stat().st_size > LIMIT for p in copies(backups))

    done = subprocess.run(
        [sys.executable, "-c", BACKUP_WITH_A_FULL_DISK, database_url, str(backups), str(LIMIT)],
        cwd=ROOT,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)

    assert not result["ok"]
    assert [m["chat"] for m in result["sent"]] == list(ADMINS)
    assert {m["key"] for m in result["sent"]} == {f"backup:run-1:{chat}" for chat in ADMINS}
    text = result["sent"][0]["text"]
    assert "La copia de seguridad de la base de datos ha fallado" in text
    assert result["error"] in text
    assert f"Se conservan las 2 copias anteriores en <code>{backups}</code>" in text
    # The earlier copies, byte for byte, and nothing else (no half copy filling the disk).
    assert fingerprints(backups) == before
