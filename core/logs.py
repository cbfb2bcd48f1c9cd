"""One log format for every process (key=value or JSON), with the bot token always masked."""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime

TOKEN_SHAPE = re.compile(r"\d{5,}:[A-Za-z0-9_-]{20,}")
# Bot API URLs carry the token right after /bot or /file/bot.
TOKEN_IN_URL = re.compile(r"(/(?:file/)?bot)[^/\s]+")


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
        record.msg = self.scrub(record.getMessage())
        record.args = None
        if record.exc_info:
            formatter = logging.Formatter()
            record.exc_text = self.scrub(formatter.formatException(record.exc_info))
            record.exc_info = None
        if record.stack_info:
            record.stack_info = self.scrub(record.stack_info)
        return True


class KeyValueFormatter(logging.Formatter):
    """`ts=... level=INFO logger=tasks.orders msg="..."`, one line per record."""

    def format(self, record: logging.LogRecord) -> str:
        ts = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
        line = (
            f"ts={ts} level={record.levelname} logger={record.name} "
            f"process={record.processName} msg={json.dumps(record.getMessage(), ensure_ascii=False)}"
        )
        if record.exc_text:
            line += f" exc={json.dumps(record.exc_text, ensure_ascii=False)}"
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        data = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "process": record.processName,
            "msg": record.getMessage(),
        }
        if record.exc_text:
            data["exc"] = record.exc_text
        return json.dumps(data, ensure_ascii=False)


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
