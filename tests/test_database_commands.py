"""The database's commands as an operator runs them: `make migrate` (scripts.migrate), the
processes refusing to start on a database they cannot use, `make backup` and `make restore`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import redis
from sqlalchemy import select

from core.db.engine import Database
from core.db.schema import head_revision
from core.db.watcher import WatcherRunRow
from core.watcher.from_redis import OLD_PENDING_KEY
from scripts.migrate import DEFAULT_DATABASE, with_default_database
from tests.support.postgres import PostgresServer
from tests.support.system import BOT_COMMAND, WORKER_COMMAND, local_argv

ROOT = Path(__file__).resolve().parents[1]


def run(argv: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv,
        cwd=ROOT,
        env={**os.environ, "LOG_FORMAT": "kv", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def python(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return run([sys.executable, *args], **env)


def the_one_line(done: subprocess.CompletedProcess[str]) -> str:
    """The process's only CRITICAL line (and no traceback)."""
    output = done.stdout + done.stderr
    assert "Traceback" not in output, output
    lines = [line for line in output.splitlines() if "level=CRITICAL" in line]
    assert len(lines) == 1, output
    return lines[0]


def test_without_database_url_everything_uses_sqlite_under_the_checkout() -> None:
    env: dict[str, str] = {"DATABASE_URL": " "}
    assert with_default_database(env) == f"sqlite:///{ROOT}/var/pedidos.db"
    assert DEFAULT_DATABASE == ROOT / "var" / "pedidos.db"
    env = {"DATABASE_URL": "postgresql+psycopg://db/pedidos"}
    assert with_default_database(env) == "postgresql+psycopg://db/pedidos"


@pytest.mark.parametrize("command", [BOT_COMMAND, WORKER_COMMAND], ids=["bot", "worker"])
def test_a_process_refuses_to_start_on_a_database_it_cannot_use(
    command: tuple[str, ...], tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'pedidos.db'}"
    argv = local_argv(command)

    unmigrated = run(argv, DATABASE_URL=url, REDIS_URL="redis://127.0.0.1:1/0")
    assert unmigrated.returncode == 2
    line = the_one_line(unmigrated)
    assert f"cannot start: the database at {url} has no schema" in line
    assert "run `make migrate` first" in line

    wrong = run(argv, DATABASE_URL="postgress://pedidos:s3cret@db/pedidos")
    assert wrong.returncode == 2
    line = the_one_line(wrong)
    assert "cannot start: DATABASE_URL names an unknown database driver" in line
    assert "s3cret" not in wrong.stdout + wrong.stderr

    migrated = python("-m", "scripts.migrate", DATABASE_URL=url)
    assert migrated.returncode == 0, migrated.stderr
    assert migrated.stdout.splitlines() == [
        f"migrating {url}",
        f"{url} is at schema revision {head_revision()} (this code's: {head_revision()})",
    ]


def test_make_migrate_names_the_database_without_its_password(
    postgres_server: PostgresServer,
) -> None:
    url = postgres_server.new_database().replace("pedidos@", "pedidos:s3cret@")
    first = python("-m", "scripts.migrate", DATABASE_URL=url)
    again = python("-m", "scripts.migrate", DATABASE_URL=url)

    assert first.returncode == again.returncode == 0, first.stderr
    assert first.stdout == again.stdout
    assert "pedidos:***@" in first.stdout and "s3cret" not in first.stdout + first.stderr
    unreachable = python(
        "-m", "scripts.migrate", DATABASE_URL=url.replace(f":{postgres_server.port}/", ":1/")
    )
    assert unreachable.returncode == 2
    assert "cannot migrate postgresql+psycopg://pedidos:***@127.0.0.1:1/" in unreachable.stderr


def test_make_migrate_waits_for_a_database_that_is_not_up_yet(
    postgres_server: PostgresServer,
) -> None:
    """--wait, as the compose stack's migrate service uses it while PostgreSQL makes its
    cluster: an unreachable database is tried again until it answers or the time is up."""
    url = postgres_server.new_database()
    postgres_server.stop_server()
    try:
        gave_up = python("-m", "scripts.migrate", "--wait", "1", DATABASE_URL=url)
        assert gave_up.returncode == 2
        assert "cannot migrate postgresql+psycopg://pedidos@127.0.0.1:" in gave_up.stderr

        waiting = subprocess.Popen(
            [sys.executable, "-m", "scripts.migrate", "--wait", "60"],
            cwd=ROOT,
            env={**os.environ, "DATABASE_URL": url},
            stdout=subprocess.PIPE,
            text=True,
        )
        assert waiting.stdout is not None
        assert waiting.stdout.readline().startswith("migrating ")  # and it is trying
        assert waiting.poll() is None
    finally:
        postgres_server.start_server()
    assert waiting.wait(timeout=60) == 0
    assert f"is at schema revision {head_revision()}" in waiting.stdout.read()


def test_make_backup_and_make_restore(tmp_path: Path) -> None:
    source = f"sqlite:///{tmp_path / 'pedidos.db'}"
    backups = tmp_path / "backups"
    assert python("-m", "scripts.migrate", DATABASE_URL=source).returncode == 0
    python("-c", FILL, source)
    taken = python("-m", "scripts.backup", DATABASE_URL=source, BACKUP_DIR=str(backups))
    assert taken.returncode == 0, taken.stderr
    (copy,) = backups.iterdir()
    assert taken.stdout.startswith(f"backup {copy} (")

    # Into a database in use: refused, and it is left as it was.
    refused = run(["make", "-s", "restore", f"BACKUP={copy}"], DATABASE_URL=source)
    assert refused.returncode != 0
    assert (
        f"not restored: the database at {source} is not empty (rows in customers, "
        "order_history, order_ids, orders): restore into an empty database, or replace its "
        "contents with FORCE=1"
    ) in refused.stderr

    # Into a new database: restored whole.
    target = f"sqlite:///{tmp_path / 'new' / 'pedidos.db'}"
    done = run(["make", "-s", "restore", f"BACKUP={copy}"], DATABASE_URL=target)
    assert done.returncode == 0, done.stderr
    assert f"restored into {target}: schema revision {head_revision()}" in done.stdout
    assert count_orders(target) == 3

    # Told to, over a database in use.
    python("-c", FILL, target)
    assert count_orders(target) == 6
    forced = run(["make", "-s", "restore", f"BACKUP={copy}", "FORCE=1"], DATABASE_URL=target)
    assert forced.returncode == 0, forced.stderr
    assert count_orders(target) == 3

    missing = run(["make", "-s", "restore"], DATABASE_URL=target)
    assert missing.returncode != 0 and "say which backup" in missing.stderr


FILL = """
import sys
from core.db.engine import Database
from core.orders.store import OrderStore
store = OrderStore(Database(sys.argv[1]))
for n in range(3):
    store.create(chat_id=7, user_id=7, text="pizza", source_message_id=store.count(7) + 1)
"""


def count_orders(url: str) -> int:
    done = python(
        "-c",
        "import sys; from core.db.engine import Database; from core.orders.store import "
        "OrderStore; print(OrderStore(Database(sys.argv[1])).count(7))",
        url,
    )
    return int(done.stdout)


def test_make_migrate_redis_carries_the_old_pending_watcher_runs_once(
    tmp_path: Path, redis_url: str
) -> None:
    """The upgrade from the Redis era: a watcher run pending there (it claimed orders and
    died) reaches `watcher_runs`, so a later run takes its orders over; run again, no copy."""
    url = f"sqlite:///{tmp_path / 'pedidos.db'}"
    assert python("-m", "scripts.migrate", DATABASE_URL=url).returncode == 0
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    client.zadd(OLD_PENDING_KEY, {"old-run": 1_700_000_000.0})

    copies = [
        python("-m", "scripts.migrate_redis", DATABASE_URL=url, REDIS_URL=redis_url)
        for _ in range(2)
    ]

    for done in copies:
        assert done.returncode == 0, done.stdout + done.stderr
    assert "pending watcher runs copied from Redis: 1" in copies[0].stdout
    assert "pending watcher runs copied from Redis: 0" in copies[1].stdout
    db = Database(url)
    with db.reading() as session:
        runs = session.execute(select(WatcherRunRow.id, WatcherRunRow.attempt_at)).all()
    db.dispose()
    client.close()
    assert [tuple(run) for run in runs] == [("old-run", 1_700_000_000.0)]
