"""`make backup`: one backup now, as the daily `backup_base_datos` takes it (core.backup): into
BACKUP_DIR, verified, the newest BACKUP_KEEP kept. E.g. before an upgrade."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from core.backup.copies import BackupFailed, take_backup
from core.db.engine import DatabaseUrlError
from core.settings import Settings
from scripts.migrate import ROOT, with_default_database


def main() -> None:
    with_default_database(os.environ)
    settings = Settings.from_env()
    directory = ROOT / settings.backup_dir  # an absolute BACKUP_DIR stays as it is
    try:
        copy = take_backup(settings.database_url, directory, settings.backup_keep)
    except (BackupFailed, DatabaseUrlError) as exc:
        print(f"backup failed: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
    print(f"backup {copy.path} ({copy.size:,} bytes, {copy.seconds:.1f} s)")
    for path in copy.removed:
        print(f"  removed the oldest: {Path(path).name}")


if __name__ == "__main__":
    main()
