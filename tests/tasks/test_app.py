"""The Celery app reads settings only when Celery first needs its configuration, so the bot
can import tasks anywhere; retries back off as Celery's own do."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

IMPORT_EVERYTHING = """
import bot.app, celeryconfig, tasks, tasks.beat, tasks.staff
from core.settings import get_settings
assert get_settings.cache_info().currsize == 0, "a setting was read on import"
assert not tasks.app.configured
try:
    tasks.app.conf.broker_url
except BaseException as exc:
    print(type(exc).__name__, exc)
"""


def run(code: str, **env: str) -> str:
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={"PATH": "/usr/bin:/bin", **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return out.stdout.strip()


def test_importing_tasks_reads_no_setting_and_the_first_read_checks_them() -> None:
    unsafe = run(IMPORT_EVERYTHING, VISIBILITY_TIMEOUT="8s")
    assert unsafe.startswith("SettingsError unsafe settings: VISIBILITY_TIMEOUT=8s")
    example = run(IMPORT_EVERYTHING, REDIS_PASSWORD="change-me")
    assert example.startswith("SystemExit refusing to start: REDIS_PASSWORD")


def test_retries_back_off_as_celery_does_with_full_jitter_up_to_the_maximum() -> None:
    code = """
import json
from tasks.delivery import entregar_mensaje
from tasks.orders import validar_pago
task = entregar_mensaje
waits = {}
for retries in (0, 3, 10):
    task.push_request(retries=retries)
    waits[retries] = {task.backoff() for _ in range(400)}
    task.pop_request()
print(json.dumps([validar_pago.retry_backoff_max, [sorted(w) for w in waits.values()]]))
"""
    cap, (first, fourth, eleventh) = json.loads(run(code, RETRY_BACKOFF_MAX="45s"))
    assert cap == 45  # autoretry's cap is RETRY_BACKOFF_MAX too
    assert first == [0, 1]
    assert fourth == list(range(9))  # 0..2**3, every value possible
    assert max(eleventh) <= 45 and min(eleventh) < 10
