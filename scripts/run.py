"""`make run`: the whole system under honcho; without a token, against the local sandbox."""

from __future__ import annotations

import os
import secrets
import shutil
import sys
from pathlib import Path

from core.db.engine import safe_url
from core.settings import SANDBOX_TOKEN, Settings
from sandbox.payments import DEFAULT_PROVIDER_TOKEN
from scripts.migrate import migrate, with_default_database

ROOT = Path(__file__).resolve().parents[1]
REDIS_PORT = 6390
# make run's demo staff group in the sandbox, administered by the web chat's default user
# (Ana, 1001): she is the customer in her private chat and the shop in the group.
DEMO_STAFF_GROUP = -1009000000001
DEMO_STAFF_TITLE = "Tienda (equipo)"
DEMO_USER = 1001
SANDBOX_PORT = 8081
FLOWER_PORT = 5555
# Metrics (README, Metrics): deploy/prometheus/local.yml scrapes these.
HEALTH_PORT = 8090
WORKER_METRICS_PORT = 9808
BEAT_METRICS_PORT = 9809


def main() -> None:
    env = dict(os.environ)
    # The schema first (`make migrate`): every process refuses to start on another version.
    # Unset, DATABASE_URL is SQLite under this checkout's var/, wherever `make run` runs from.
    url = with_default_database(env)
    print(f"database {safe_url(url)}: schema revision {migrate(url)}")
    settings = Settings.from_env(env)
    processes = ["worker", "worker_bulk", "beat", "bot", "flower"]
    if not env.get("REDIS_URL"):
        processes.insert(0, "redis")
        redis_dir = ROOT / "var" / "redis"
        redis_dir.mkdir(parents=True, exist_ok=True)
        # A password of its own each run: anything else on this machine cannot reach it.
        password = secrets.token_urlsafe(24)
        env.update(
            REDIS_PORT=str(REDIS_PORT),
            REDIS_DIR=str(redis_dir),
            REDIS_PASSWORD=password,
            REDISCLI_AUTH=password,
            REDIS_URL=f"redis://:{password}@127.0.0.1:{REDIS_PORT}/0",
        )
    sandbox = not env.get("TELEGRAM_BOT_TOKEN")
    if sandbox:
        processes.insert(1, "sandbox")
        env.update(
            TELEGRAM_BOT_TOKEN=SANDBOX_TOKEN,
            TELEGRAM_API_URL=f"http://127.0.0.1:{SANDBOX_PORT}",
            SANDBOX_PORT=str(SANDBOX_PORT),
            # The sandbox is for trying things out: nobody wants to wait 24 h for an alert.
            STALE_AFTER=env.get("STALE_AFTER", "10m"),
            WATCH_INTERVAL=env.get("WATCH_INTERVAL", "1m"),
        )
        # The demo shop takes payments in the sandbox: cards (the sandbox's test provider,
        # which `python -m sandbox` reads from PAYMENT_PROVIDER_TOKEN), Stars and cash.
        env.setdefault("PAYMENT_METHODS", "telegram,stars,cash")
        env.setdefault("PAYMENT_PROVIDER_TOKEN", DEFAULT_PROVIDER_TOKEN)
        # Both sides in one web chat: orders get their cards in the demo staff group, where
        # the buttons move them on and the customer's chat shows each step.
        if "STAFF_CHAT_ID" not in env:
            env["STAFF_CHAT_ID"] = str(DEMO_STAFF_GROUP)
            env["SANDBOX_GROUPS"] = f"{DEMO_STAFF_GROUP}={DEMO_STAFF_TITLE}={DEMO_USER}"
    env.setdefault("FLOWER_PORT", str(FLOWER_PORT))
    metrics_urls = _metrics(env) if settings.metrics_enabled else _metrics(env)[:0]
    # Flower shows every task's arguments: never without a login, even on loopback.
    flower_login = env.get("FLOWER_BASIC_AUTH") or f"admin:{secrets.token_urlsafe(12)}"
    env["FLOWER_BASIC_AUTH"] = flower_login
    # The demo shop: loaded by the bot while the catalogue is empty. Only `make run` names
    # it; a deployment's processes never load a demo catalogue on their own.
    env["CATALOG_FILE"] = env.get("CATALOG_FILE") or str(ROOT / "demo" / "catalogue.csv")
    env["MEDIA_DIR"] = env.get("MEDIA_DIR") or str(ROOT / settings.media_dir)
    env["BACKUP_DIR"] = env.get("BACKUP_DIR") or str(ROOT / settings.backup_dir)
    env["PYTHONUNBUFFERED"] = "1"
    # The venv's python, celery and honcho come first on PATH for every process.
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"

    print("pedidos-bot is starting:", ", ".join(processes))
    if sandbox:
        print(f"  web chat (no token set, using the sandbox): http://127.0.0.1:{SANDBOX_PORT}/")
        if env.get("SANDBOX_GROUPS"):
            print(
                f"    you are the customer in the bot's private chat and the shop in "
                f"'{DEMO_STAFF_TITLE}' (its order cards: Aceptar, En preparación, Listo, …)"
            )
    print(f"  Flower: http://127.0.0.1:{env['FLOWER_PORT']}/ (login {flower_login})")
    if metrics_urls:
        print("  metrics:", " ".join(metrics_urls))
    print("  Ctrl-C stops everything.")
    honcho = shutil.which("honcho", path=env["PATH"]) or "honcho"
    os.chdir(ROOT)
    os.execvpe(honcho, [honcho, "start", "-f", "Procfile", *processes], env)


def _metrics(env: dict[str, str]) -> list[str]:
    """Ports for the bot's /metrics, the worker node's and beat's, and the worker's own empty
    multiprocess directory (the Procfile gives it to the worker alone as
    PROMETHEUS_MULTIPROC_DIR: the bot and beat keep their own registries)."""
    directory = Path(env.pop("PROMETHEUS_MULTIPROC_DIR", "") or ROOT / "var" / "metrics" / "worker")
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    env["WORKER_METRICS_DIR"] = str(directory)
    ports = {"HEALTH_PORT": HEALTH_PORT, "WORKER_METRICS_PORT": WORKER_METRICS_PORT}
    ports["BEAT_METRICS_PORT"] = BEAT_METRICS_PORT
    for name, port in ports.items():
        if not env.get(name):
            env[name] = str(port)
    return [f"http://127.0.0.1:{env[name]}/metrics" for name in ports if env[name] != "0"]


if __name__ == "__main__":
    main()
