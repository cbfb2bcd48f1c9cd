"""One log format for every process (key=value or JSON), with the bot token always masked.

Every line also names what it is about: the order (`order=P-7K2Q4F`), the photo job
(`job=F-…`) and the Celery task (`task=validar_pago task_id=…`), taken from what the line
says, from the context Celery attaches to its own lines, or from the `extra` it is logged with.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
from collections.abc import Mapping, Sequence
from contextvars import ContextVar
from datetime import UTC, datetime
from types import MappingProxyType, TracebackType
from typing import Any

from core.orders.model import ID_ALPHABET, ID_LENGTH

# What a bot token looks like (`123456:ABC…`): masked wherever it appears, known or not.
TOKEN_SHAPE = re.compile(r"\d{5,}:[A-Za-z0-9_-]{20,}")
# Bot API URLs carry the token right after /bot or /file/bot.
TOKEN_IN_URL = re.compile(r"(/(?:file/)?bot)[^/\s\"']+")
ORDER_IN_TEXT = re.compile(rf"\bP-[{ID_ALPHABET}]{{{ID_LENGTH}}}\b")
JOB_IN_TEXT = re.compile(rf"\bF-[{ID_ALPHABET}]{{{ID_LENGTH}}}\b")
# The fields a line may carry besides its message, in the order they are written.
CONTEXT_FIELDS = ("task", "task_id", "order", "job")

_NOTHING: Mapping[str, str] = MappingProxyType({})
_context: ContextVar[Mapping[str, str]] = ContextVar("pedidos_log_context", default=_NOTHING)


def ids_in(text: str) -> dict[str, str]:
    """The first order id and photo job id mentioned in `text`, as log fields."""
    found: dict[str, str] = {}
    if order := ORDER_IN_TEXT.search(text):
        found["order"] = order.group(0)
    if job := JOB_IN_TEXT.search(text):
        found["job"] = job.group(0)
    return found


def task_started(
    task_id: str = "", task: Any = None, args: Sequence[Any] | None = None, **_: Any
) -> None:
    """Receiver for Celery's `task_prerun`: the task's lines name it and its order or job."""
    fields = {"task": str(getattr(task, "name", "") or ""), "task_id": str(task_id or "")}
    fields.update(ids_in(" ".join(str(arg) for arg in args or ())))
    _context.set({k: v for k, v in fields.items() if v})


def task_finished(**_: Any) -> None:
    """Receiver for Celery's `task_postrun`: the next task starts with a clean context."""
    _context.set(_NOTHING)


def context_of(record: logging.LogRecord) -> dict[str, str]:
    """What the record is about: explicit `extra`, its text, Celery's data, the context."""
    fields = dict(_context.get())
    # Celery's own lines (received, succeeded, failed) carry their task in `record.data`.
    data = getattr(record, "data", None)
    if isinstance(data, Mapping):
        if data.get("name"):
            fields["task"] = str(data["name"])
        if data.get("id"):
            fields["task_id"] = str(data["id"])
        fields.update(ids_in(f"{data.get('args', '')} {data.get('return_value', '')}"))
    fields.update(ids_in(record.getMessage()))
    for name in CONTEXT_FIELDS:
        value = getattr(record, name, None)
        if isinstance(value, str) and value:
            fields[name] = value
    return {name: fields[name] for name in CONTEXT_FIELDS if fields.get(name)}


class RedactToken(logging.Filter):
    """Masks the token in every record, whatever logger, message or argument carries it."""

    def __init__(self, token: str = "") -> None:
        super().__init__()
        self.token = token

    def scrub(self, text: str) -> str:
        if self.token:
            text = text.replace(self.token, "<token>")
        text = TOKEN_SHAPE.sub("<token>", text)
        return TOKEN_IN_URL.sub(r"\1<token>", text)

    def filter(self, record: logging.LogRecord) -> bool:
        # Render once, scrub, and freeze: later handlers see only the clean text.
        try:
            message = record.getMessage()
        except Exception:  # bad %-args must not crash the caller, nor print them raw
            message = f"{record.msg} (unformattable arguments)"
        record.msg = self.scrub(message)
        record.args = None
        if record.exc_info:
            formatter = logging.Formatter()
            record.exc_text = self.scrub(formatter.formatException(record.exc_info))
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = self.scrub(record.exc_text)
        if record.stack_info:
            record.stack_info = self.scrub(record.stack_info)
        return True


def _timestamp(record: logging.LogRecord) -> str:
    return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")


def _kv(value: str) -> str:
    """A key=value value: bare when it is one plain word, JSON-quoted otherwise."""
    if value and re.fullmatch(r"[\w.:@<>/+-]+", value):
        return value
    return json.dumps(value, ensure_ascii=False)


class KeyValueFormatter(logging.Formatter):
    """`ts=… level=INFO logger=tasks.orders process=… order=P-… msg="…"`, one line each."""

    def format(self, record: logging.LogRecord) -> str:
        parts = [
            f"ts={_timestamp(record)}",
            f"level={record.levelname}",
            f"logger={_kv(record.name)}",
            f"process={_kv(record.processName or '')}",
        ]
        parts += [f"{key}={_kv(value)}" for key, value in context_of(record).items()]
        parts.append(f"msg={json.dumps(record.getMessage(), ensure_ascii=False)}")
        if record.exc_text:
            parts.append(f"exc={json.dumps(record.exc_text, ensure_ascii=False)}")
        if record.stack_info:
            parts.append(f"stack={json.dumps(record.stack_info, ensure_ascii=False)}")
        return " ".join(parts)


class JsonFormatter(logging.Formatter):
    """One JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, str] = {
            "ts": _timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "process": record.processName or "",
            **context_of(record),
            "msg": record.getMessage(),
        }
        if record.exc_text:
            data["exc"] = record.exc_text
        if record.stack_info:
            data["stack"] = record.stack_info
        return json.dumps(data, ensure_ascii=False)


def _log_uncaught(
    kind: type[BaseException], value: BaseException, tb: TracebackType | None
) -> None:
    """An exception nobody caught goes through the log (masked), not raw to stderr."""
    if issubclass(kind, KeyboardInterrupt):
        sys.__excepthook__(kind, value, tb)
        return
    logging.getLogger("uncaught").critical("uncaught %s", kind.__name__, exc_info=(kind, value, tb))


def _log_uncaught_in_thread(args: threading.ExceptHookArgs) -> None:
    if args.exc_value is not None:
        _log_uncaught(args.exc_type, args.exc_value, args.exc_traceback)


def configure_logging(level: str = "INFO", fmt: str = "kv", token: str = "") -> None:
    """Route every logger through one stderr handler with the token filter and our format."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactToken(token))
    handler.setFormatter(JsonFormatter() if fmt == "json" else KeyValueFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # httpx logs every request URL at INFO, token included; its summary is noise anyway.
    logging.getLogger("httpx").setLevel(max(logging.WARNING, root.level))
    # Warnings and crashes, too, reach stderr only through the masked handler.
    logging.captureWarnings(True)
    sys.excepthook = _log_uncaught
    threading.excepthook = _log_uncaught_in_thread
