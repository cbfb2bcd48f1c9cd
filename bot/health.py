"""Is the bot alive? A heartbeat the bot keeps, its `/healthz` answer, and the check a
container runs: `python -m bot.health` (exit 0 when healthy, 1 with the reason otherwise).

Polling mode touches a heartbeat file while the Application and its updater run; webhook
mode (or polling with HEALTH_PORT) answers GET /healthz, which also pings Redis and the
database: a replica that cannot reach either should get no updates from the load balancer.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from telegram.ext import Application

from bot.context import BotApplication
from core.settings import Settings, get_settings

# A heartbeat older than this many intervals means the bot's event loop is stuck or gone.
STALE_INTERVALS = 3
REDIS_TIMEOUT = 2.0


class Heartbeat:
    """Touches `path` every `interval` seconds while the Application (and its polling) runs."""

    def __init__(self, path: str, interval: float, polling: bool) -> None:
        self.path = Path(path)
        self.interval = interval
        self.polling = polling
        self.last = 0.0

    def beat(self, app: Application) -> None:
        """Write the time now, if the bot is receiving updates."""
        polling_stopped = self.polling and not (app.updater and app.updater.running)
        if not app.running or polling_stopped:
            return
        self.last = time.time()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}")
        tmp.write_text(f"{self.last:.3f}\n")
        tmp.replace(self.path)  # atomic: a check never reads half a number

    async def run(self, app: Application) -> None:
        """Beat until cancelled."""
        while True:
            self.beat(app)
            await asyncio.sleep(self.interval)

    def remove(self) -> None:
        """A stopped bot leaves no heartbeat that could pass for a live one."""
        self.path.unlink(missing_ok=True)


async def status(app: BotApplication) -> tuple[bool, dict[str, Any]]:
    """(healthy, details) for GET /healthz."""
    details: dict[str, Any] = {"running": app.running}
    services = app.bot_data.services
    try:
        details["redis"] = bool(
            await asyncio.wait_for(asyncio.to_thread(services.redis.ping), REDIS_TIMEOUT)
        )
    except Exception as exc:  # any failure to reach Redis makes this replica unready
        details["redis"] = False
        details["error"] = type(exc).__name__
    try:
        details["database"] = bool(
            await asyncio.wait_for(asyncio.to_thread(services.store.ping), REDIS_TIMEOUT)
        )
    except Exception as exc:  # the system of record unreachable: no orders can be placed
        details["database"] = False
        details.setdefault("error", type(exc).__name__)
    healthy = bool(details["running"] and details["redis"] and details["database"])
    details["status"] = "ok" if healthy else "unavailable"
    return healthy, details


def check_heartbeat(path: str, interval: float, now: float | None = None) -> tuple[bool, str]:
    """Whether the heartbeat file is fresh."""
    try:
        beat = float(Path(path).read_text().strip() or 0)
    except (OSError, ValueError):
        return False, f"no heartbeat at {path}"
    age = (time.time() if now is None else now) - beat
    limit = interval * STALE_INTERVALS
    if age > limit:
        return False, f"heartbeat is {age:.0f}s old (limit {limit:.0f}s)"
    return True, f"heartbeat {age:.1f}s old"


def check_http(url: str, timeout: float = 5.0) -> tuple[bool, str]:
    """Whether GET `url` answers 200."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status == 200, response.read().decode(errors="replace")
    except urllib.error.HTTPError as exc:
        return False, f"{exc.code} {exc.read().decode(errors='replace')}"
    except OSError as exc:
        return False, f"{url}: {exc}"


def health_url(settings: Settings) -> str | None:
    """Where this container's bot answers /healthz, if it serves HTTP."""
    port = settings.webhook_port if settings.webhook_mode else settings.health_port
    if not port:
        return None
    host = settings.webhook_listen if settings.webhook_mode else "127.0.0.1"
    if host in ("", "0.0.0.0", "::"):
        host = "127.0.0.1"
    return f"http://{host}:{port}/healthz"


def check(settings: Settings) -> tuple[bool, str]:
    """The container healthcheck: /healthz when served, else the heartbeat file."""
    url = health_url(settings)
    if url:
        return check_http(url)
    return check_heartbeat(settings.heartbeat_file, settings.heartbeat_interval)


def main() -> None:
    healthy, detail = check(get_settings())
    print(json.dumps({"healthy": healthy, "detail": detail}, ensure_ascii=False))
    sys.exit(0 if healthy else 1)


if __name__ == "__main__":
    main()
