"""The system the fault modules share: its bot runs from the start, the payment service is
real, and each test starts and kills the workers it needs (on the default recovery settings
unless a module says otherwise)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sandbox import RunningSandbox
from tests.support.payment import PaymentService
from tests.support.system import System, running_system


@contextmanager
def bot_with_payments(
    tmp: Path, sandbox_server: RunningSandbox, payments: PaymentService
) -> Iterator[System]:
    with running_system(
        tmp, sandbox_server.url, sandbox_server.token, PAYMENT_API_URL=payments.url
    ) as running:
        running.start_bot()
        yield running
