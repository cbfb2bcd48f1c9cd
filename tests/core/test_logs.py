"""core.logs: one line per record in key=value or JSON, the token masked wherever it hides,
and the order, job and task a line is about as fields of their own."""

from __future__ import annotations

import io
import json
import logging
import sys
import threading
from collections.abc import Iterator

import pytest

from core.logs import (
    JsonFormatter,
    KeyValueFormatter,
    RedactToken,
    configure_logging,
    task_finished,
    task_started,
)

TOKEN = "7412589630:AAFq2k3_example-Token-ab12CD34ef56GH78"


def record(msg: str, *args: object, **attrs: object) -> logging.LogRecord:
    made = logging.LogRecord("tasks.orders", logging.INFO, __file__, 1, msg, args, None)
    for name, value in attrs.items():
        setattr(made, name, value)
    return made


def masked(rec: logging.LogRecord, token: str = TOKEN) -> str:
    RedactToken(token).filter(rec)
    return KeyValueFormatter().format(rec)


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """configure_logging writing into a buffer; the logging setup is restored afterwards."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level, sys.excepthook, threading.excepthook, sys.stderr)
    buffer = io.StringIO()
    sys.stderr = buffer
    try:
        configure_logging("DEBUG", "kv", TOKEN)
        yield buffer
    finally:
        handlers, level, hook, thread_hook, stderr = saved
        sys.stderr = stderr
        root.handlers[:] = handlers
        root.setLevel(level)
        sys.excepthook, threading.excepthook = hook, thread_hook
        logging.captureWarnings(False)


@pytest.mark.parametrize(
    "message",
    [
        f"token {TOKEN}",
        f'"POST /bot{TOKEN}/sendMessage HTTP/1.1" 200',
        f"GET http://127.0.0.1:8081/file/bot{TOKEN}/photos/file_1.jpg",
        "another bot's 1234567890:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA token",
    ],
)
def test_the_token_is_masked_in_messages_and_urls(message: str) -> None:
    line = masked(record(message))
    assert TOKEN not in line and "AAAAAAAAAAAAAAAAAAAA" not in line
    assert "<token>" in line


def test_the_token_is_masked_in_arguments_and_tracebacks() -> None:
    try:
        raise RuntimeError(f"The token `{TOKEN}` was rejected by the server.")
    except RuntimeError:
        rec = record("call %s failed for %r", "getMe", {"url": f"/bot{TOKEN}/getMe"})
        rec.exc_info = sys.exc_info()
    line = masked(rec)
    assert TOKEN not in line and TOKEN.split(":")[1] not in line
    assert "rejected by the server" in line and "exc=" in line


def test_a_short_sandbox_token_is_masked_because_it_is_known() -> None:
    line = masked(record("token 123456789:sandbox-token"), token="123456789:sandbox-token")
    assert "sandbox-token" not in line


def test_bad_format_arguments_do_not_break_the_caller() -> None:
    line = masked(record("two %s %s", f"only-one-{TOKEN}"))
    assert "unformattable" in line and TOKEN not in line


def test_key_value_line_names_the_order_and_job_it_mentions() -> None:
    line = KeyValueFormatter().format(record("order=%s step=%s skipped", "P-7K2Q4F", "pagado"))
    assert " order=P-7K2Q4F " in line
    assert 'msg="order=P-7K2Q4F step=pagado skipped"' in line
    job_line = KeyValueFormatter().format(record("job=%s rejected", "F-ABC234"))
    assert " job=F-ABC234 " in job_line and "order=" not in job_line


def test_celery_lines_name_their_task_and_order_from_the_data_celery_attaches() -> None:
    # What celery.worker.strategy logs when a task arrives: the args are only in `data`.
    data = {"id": "4f1c", "name": "validar_pago", "args": "('P-7K2Q4F',)", "kwargs": "{}"}
    line = KeyValueFormatter().format(record("Task %(name)s[%(id)s] received", data, data=data))
    assert "task=validar_pago task_id=4f1c order=P-7K2Q4F" in line


def test_lines_inside_a_task_carry_its_ids() -> None:
    class Task:
        name = "procesar_imagen"

    task_started(task_id="9a9a", task=Task(), args=("F-ABC234",))
    try:
        line = KeyValueFormatter().format(record("chat=%s blocked the bot", 42))
    finally:
        task_finished()
    assert "task=procesar_imagen task_id=9a9a job=F-ABC234" in line
    after = KeyValueFormatter().format(record("idle"))
    assert "task=" not in after and "job=" not in after


def test_explicit_fields() -> None:
    plain = KeyValueFormatter().format(record("payment answered"))
    explicit = KeyValueFormatter().format(record("sent", job="F-ABC234"))
    assert "order=" not in plain and "job=" not in plain
    assert "job=F-ABC234" in explicit


def test_json_lines_are_one_object_with_the_same_fields() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        rec = record("order=%s failed\nsecond line", "P-7K2Q4F")
        rec.exc_info = sys.exc_info()
    RedactToken(TOKEN).filter(rec)
    line = JsonFormatter().format(rec)
    assert "\n" not in line
    data = json.loads(line)
    assert data["order"] == "P-7K2Q4F" and data["level"] == "INFO"
    assert data["msg"] == "order=P-7K2Q4F failed\nsecond line"
    assert "ValueError: boom" in data["exc"]
    assert set(data) == {"ts", "level", "logger", "process", "order", "msg", "exc"}


def test_configure_logging_masks_every_logger_and_uncaught_errors(
    captured: io.StringIO,
) -> None:
    logging.getLogger("urllib3.connectionpool").debug('"POST /bot%s/getMe HTTP/1.1" 200', TOKEN)
    logging.getLogger("telegram.ext.ExtBot").debug("Set Bot API URL: http://x/bot%s", TOKEN)
    try:
        raise RuntimeError(f"The token `{TOKEN}` was rejected by the server.")
    except RuntimeError:
        sys.excepthook(*sys.exc_info())
    output = captured.getvalue()
    lines = output.splitlines()
    assert len(lines) == 3 and all(line.startswith("ts=") for line in lines)
    assert TOKEN not in output and TOKEN.split(":")[1] not in output
    assert "logger=uncaught" in output and "RuntimeError" in output


def test_httpx_request_lines_stay_quiet_even_at_debug(captured: io.StringIO) -> None:
    logging.getLogger("httpx").info("HTTP Request: POST http://x/bot%s/getUpdates", TOKEN)
    assert captured.getvalue() == ""
