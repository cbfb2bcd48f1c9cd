"""The smaller findings of the security review, each checked where it lives: example secrets,
credentials kept out of shown config, make run's locks, listen address, lock timeout."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from core.settings import Settings, example_secrets, refuse_example_secrets, split_credentials

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("env", "found"),
    [
        ({"REDIS_URL": "redis://:change-me@redis:6379/0"}, ["REDIS_URL"]),
        ({"REDIS_PASSWORD": "change-me"}, ["REDIS_PASSWORD"]),
        (
            {"DATABASE_URL": "postgresql+psycopg://pedidos:change-me@postgres:5432/pedidos"},
            ["DATABASE_URL"],
        ),
        ({"DATABASE_URL": "postgresql+psycopg://pedidos:Xk29vQ-long@postgres/pedidos"}, []),
        ({"FLOWER_BASIC_AUTH": "admin:change-me"}, ["FLOWER_BASIC_AUTH"]),
        ({"FLOWER_BASIC_AUTH": "ops:Xk29vQ,admin:changeme"}, ["FLOWER_BASIC_AUTH"]),
        ({"WEBHOOK_URL": "https://x/t", "WEBHOOK_SECRET": "secret"}, ["WEBHOOK_SECRET"]),
        ({"SMTP_URL": "smtp://shop:password@mail.example.net:587"}, ["SMTP_URL"]),
        ({"SMTP_URL": "smtps://shop:Xk29vQ-long@mail.example.net:465"}, []),
        ({"REDIS_URL": "redis://:Xk29vQ-long@redis:6379/0"}, []),
        ({"FLOWER_BASIC_AUTH": "admin:Xk29vQ-long"}, []),
        ({}, []),
    ],
)
def test_example_secrets_are_found(env: dict[str, str], found: list[str]) -> None:
    assert example_secrets(Settings.from_env(env)) == found


def test_the_env_example_itself_does_not_start() -> None:
    env = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        name, sep, value = line.partition("=")
        if sep and not line.startswith("#"):
            env[name] = value
    env["REDIS_URL"] = f"redis://:{env['REDIS_PASSWORD']}@redis:6379/0"  # as compose builds it
    with pytest.raises(SystemExit, match="REDIS_URL, REDIS_PASSWORD, FLOWER_BASIC_AUTH"):
        refuse_example_secrets(Settings.from_env(env))


def test_credentials_come_out_of_redis_urls() -> None:
    assert split_credentials("redis://:p%40ss@redis:6379/0") == (
        "redis://redis:6379/0",
        {"password": "p@ss"},
    )
    assert split_credentials("redis://u:pw@h/1") == (
        "redis://h/1",
        {"username": "u", "password": "pw"},
    )
    assert split_credentials("redis://127.0.0.1:6379/0") == ("redis://127.0.0.1:6379/0", {})


def celery_config(**env: str) -> dict[str, Any]:
    """The app's config as a fresh process reads it, and as `inspect conf` would show it."""
    code = (
        "import json\n"
        "from tasks import app\n"
        "c = app.conf\n"
        "print(json.dumps({'lock': c.redbeat_lock_timeout, 'loop': c.beat_max_loop_interval,"
        " 'broker': c.broker_transport_options,"
        " 'shown': c.table(with_defaults=False, censored=True)}, default=str))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={"PATH": "/usr/bin:/bin", **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize("interval", ["1m", "1h", "24h"])
def test_a_killed_beat_blocks_the_schedule_for_minutes_not_hours(interval: str) -> None:
    config = celery_config(WATCH_INTERVAL=interval)
    assert config["lock"] <= 150
    assert config["lock"] >= 3 * config["loop"]  # the live beat renews it every loop


def test_shown_celery_config_holds_no_redis_password() -> None:
    config = celery_config(REDIS_URL="redis://:Very-Secret-42@redis:6379/0")
    shown = json.dumps(config["shown"])
    assert "Very-Secret-42" not in shown
    assert config["shown"]["redbeat_redis_url"] == "redis://redis:6379/0"
    # A dead broker connection cannot hang a publish forever.
    assert config["broker"]["socket_timeout"] > 1  # longer than kombu's BRPOP
    assert config["broker"]["socket_connect_timeout"] > 0


def test_webhook_mode_listens_on_loopback_by_default() -> None:
    assert Settings().webhook_listen == "127.0.0.1"


def test_make_run_locks_its_redis_and_flower(monkeypatch: pytest.MonkeyPatch) -> None:
    import scripts.run as run

    started: dict[str, Any] = {}
    monkeypatch.setattr(run.os, "execvpe", lambda _f, argv, env: started.update(env=env))
    monkeypatch.setattr(run.os, "chdir", lambda _path: None)
    for name in ("REDIS_URL", "FLOWER_BASIC_AUTH", "TELEGRAM_BOT_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    run.main()
    env = started["env"]
    password = env["REDIS_PASSWORD"]
    assert len(password) >= 24 and f":{password}@127.0.0.1" in env["REDIS_URL"]
    assert "--requirepass $REDIS_PASSWORD" in (ROOT / "Procfile").read_text()
    user, _, secret = env["FLOWER_BASIC_AUTH"].partition(":")
    assert user and len(secret) >= 12
