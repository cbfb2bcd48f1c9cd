"""Settings that would break recovery's guarantees are refused at start-up, by name."""

from __future__ import annotations

import os
import subprocess
import sys

from core.settings import LONGEST_TASK, TASK_TIME_LIMIT, Settings
from core.watcher.watch import RUN_TIME_LIMIT
from tests.support.processes import ROOT


def test_the_defaults_are_safe() -> None:
    assert Settings().problems() == []
    assert Settings.from_env({}).validated() == Settings()


def test_each_unsafe_setting_is_named() -> None:
    problems = Settings(visibility_timeout=8, task_lease=2, sweep_interval=5).problems()
    text = " ".join(problems)
    assert "VISIBILITY_TIMEOUT=8s must be at least 1200s" in text
    assert "TASK_LEASE=2s" in text and "SWEEP_INTERVAL=5s" in text


def test_the_limits_the_check_relies_on_are_the_real_ones() -> None:
    import celeryconfig

    assert celeryconfig.build(Settings())["task_time_limit"] == TASK_TIME_LIMIT <= LONGEST_TASK
    assert RUN_TIME_LIMIT <= LONGEST_TASK


def test_a_worker_refuses_to_start_with_a_short_visibility_timeout() -> None:
    env = {**os.environ, "VISIBILITY_TIMEOUT": "8s"}
    run = subprocess.run(
        [sys.executable, "-m", "celery", "-A", "tasks", "inspect", "ping", "--timeout=1"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode != 0
    assert "VISIBILITY_TIMEOUT=8s must be at least 1200s" in run.stderr
