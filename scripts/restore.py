"""`make restore BACKUP=file [FORCE=1]`: put a backup (core.backup) into DATABASE_URL's
database. Only into an empty one (no rows; a migrated but unused database is empty) unless
FORCE=1, which replaces what is there. Stop the bot and the workers first.

Exit status: 0 restored, 1 refused (the database is not empty, the file is not a readable
backup of this kind of database), 2 DATABASE_URL unusable."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from core.backup.restore import RestoreRefused, restore
from core.db.engine import DatabaseUrlError, safe_url
from scripts.migrate import with_default_database


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="make restore", description=__doc__.split("\n\n")[0])
    parser.add_argument("backup", help="the backup file (BACKUP=…)")
    parser.add_argument("--force", action="store_true", help="replace a non-empty database")
    args = parser.parse_args(argv)
    if not args.backup:
        parser.error("say which backup: make restore BACKUP=var/backups/pedidos-….sqlite3")
    url = with_default_database(os.environ)
    print(f"restoring {args.backup} into {safe_url(url)}")
    try:
        done = restore(Path(args.backup), url, force=args.force)
    except DatabaseUrlError as exc:
        print(f"cannot restore: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    except RestoreRefused as exc:
        print(f"not restored: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
    print(f"restored into {done.where}: schema revision {done.revision}")
    if done.revision != done.expected:
        print(f"this code expects revision {done.expected}: run `make migrate` before starting")


if __name__ == "__main__":
    main()
