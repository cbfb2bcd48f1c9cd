"""A worker that loads this module (`celery worker --include=tests.support.dies_failing`) dies
whole (SIGKILL to its process group, as a lost machine) the first time a failed order step's
error callback is about to queue the order's failure: the callback's work is then in no
message and under no lease but the failed step's own."""

from __future__ import annotations

import os
import signal
from typing import Any

import redis

import tasks.orders

ONCE_KEY = "tests:dies_failing"
_queue = tasks.orders.fallar_pedido.delay


def _dies_the_first_time(*args: Any, **kwargs: Any) -> Any:
    if redis.Redis.from_url(os.environ["REDIS_URL"]).set(ONCE_KEY, "1", nx=True):
        os.killpg(os.getpgrp(), signal.SIGKILL)
    return _queue(*args, **kwargs)


tasks.orders.fallar_pedido.delay = _dies_the_first_time
