"""End-to-end fixtures: the sandbox, and a real system (redis, workers, bot) per module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sandbox import RunningSandbox, run_in_thread
from tests.support.payment import PaymentService, payment_service
from tests.support.system import System, running_system


@pytest.fixture(scope="module")
def sandbox_server() -> Iterator[RunningSandbox]:
    with run_in_thread(port=0) as running:
        yield running


@pytest.fixture(scope="module")
def payments() -> Iterator[PaymentService]:
    """The payment service `validar_pago` calls, one per module that asks for it."""
    with payment_service() as service:
        yield service


@pytest.fixture(scope="module")
def system(
    tmp_path_factory: pytest.TempPathFactory, sandbox_server: RunningSandbox
) -> Iterator[System]:
    """Redis, one worker and the bot, shared by a module's tests (each uses its own chats)."""
    tmp = tmp_path_factory.mktemp("system")
    with running_system(tmp, sandbox_server.url, sandbox_server.token) as running:
        with running.starting():
            running.start_worker()
            running.start_bot()
        yield running


@pytest.fixture(autouse=True)
def _show_logs_on_failure(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed and "system" in request.fixturenames:
        system: System = request.getfixturevalue("system")
        print(system.all_logs()[-20000:])


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report
