"""The baseline for bench.orders: a chain of three Celery tasks that do nothing."""

from __future__ import annotations

from celery import Celery

import celeryconfig

app = Celery("bench_noop")
# The product's configuration (broker, serializers, acks), read as tasks.app reads it.
app.config_from_object(celeryconfig.OnFirstRead())


@app.task(name="bench_noop")
def bench_noop(value: str) -> str:
    """Pass the value on; the cost measured is Celery's and Redis's alone."""
    return value
