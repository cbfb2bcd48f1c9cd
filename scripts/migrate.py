"""`make migrate`: bring DATABASE_URL's database to the schema this code expects (Alembic's
head, migrations/). Run before the processes start (`make run` does it; so does the compose
stack); safe to run again: an up-to-date database is left as it is.

Without DATABASE_URL, the embedded default: SQLite under var/ of this checkout, wherever the
command is run from.

`--wait SECONDS`: a database still starting (the compose stack's PostgreSQL on its first start)
is waited for up to that long rather than being an error."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import MutableMapping
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from core.db import schema
from core.db.engine import Database, DatabaseUrlError, is_outage, safe_url

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATABASE = ROOT / "var" / "pedidos.db"


def with_default_database(env: MutableMapping[str, str]) -> str:
    """DATABASE_URL, set in `env` to SQLite under this checkout's var/ when unset."""
    if not env.get("DATABASE_URL", "").strip():
        env["DATABASE_URL"] = f"sqlite:///{DEFAULT_DATABASE}"
    return env["DATABASE_URL"]


def migrate(url: str, wait: float = 0.0) -> str:
    """Migrate the database at `url`; the revision it is at now. Raises SystemExit(2) with
    one clear line when the URL is wrong or the database cannot be reached (within `wait`
    seconds, while it is unreachable or starting up)."""
    try:
        db = Database(url)
    except DatabaseUrlError as exc:
        print(f"cannot migrate: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    deadline = time.monotonic() + wait
    try:
        while True:
            try:
                schema.migrate(db)
                return schema.current_revision(db) or ""
            except SQLAlchemyError as exc:
                if not is_outage(exc) or time.monotonic() >= deadline:
                    raise
            time.sleep(0.5)
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        print(f"cannot migrate {safe_url(url)}: {reason}", file=sys.stderr)
        raise SystemExit(2) from None
    finally:
        db.dispose()


def main(argv: list[str]) -> None:
    wait = float(argv[argv.index("--wait") + 1]) if "--wait" in argv else 0.0
    url = with_default_database(os.environ)
    print(f"migrating {safe_url(url)}", flush=True)
    revision = migrate(url, wait)
    print(
        f"{safe_url(url)} is at schema revision {revision} (this code's: {schema.head_revision()})"
    )


if __name__ == "__main__":
    main(sys.argv[1:])
