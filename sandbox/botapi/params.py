"""A Bot API request's parameters, its error answers and what a method runs against."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp

from sandbox.bots import BotState
from sandbox.core import Sandbox
from sandbox.media import (
    Upload,
)


class ApiError(Exception):
    """A Bot API error answer."""

    def __init__(
        self,
        code: int,
        description: str,
        retry_after: int | None = None,
        migrate_to_chat_id: int | None = None,
    ) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after
        self.migrate_to_chat_id = migrate_to_chat_id

    def to_json(self) -> dict[str, Any]:
        """Telegram's error body."""
        out: dict[str, Any] = {
            "ok": False,
            "error_code": self.code,
            "description": self.description,
        }
        if self.retry_after is not None:
            out["parameters"] = {"retry_after": self.retry_after}
        if self.migrate_to_chat_id is not None:
            out["parameters"] = {"migrate_to_chat_id": self.migrate_to_chat_id}
        return out


def bad(description: str) -> ApiError:
    """A 400 with Telegram's 'Bad Request: ' prefix."""
    return ApiError(400, f"Bad Request: {description}")


@dataclass
class Result:
    """A method's result, with the optional description Telegram adds (setWebhook)."""

    value: Any
    description: str | None = None


class Params:
    """A request's parameters, from the query string, JSON, form or multipart body."""

    def __init__(self, values: dict[str, Any], files: dict[str, Upload] | None = None) -> None:
        self.values = values
        self.files = files or {}

    def raw(self, name: str) -> Any:
        """The value as received (None when absent)."""
        return self.values.get(name)

    def get_str(self, name: str) -> str | None:
        """A string parameter; numbers and booleans read as their JSON text."""
        value = self.values.get(name)
        if value is None:
            return None
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, dict | list):
            return json.dumps(value)
        return str(value)

    def get_int(self, name: str) -> int | None:
        """An integer parameter; absent or unparsable reads as None."""
        value = self.values.get(name)
        if value is None or isinstance(value, bool):
            return None
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        try:
            return int(str(value).strip())
        except ValueError:
            return None

    def get_float(self, name: str) -> float | None:
        """A number parameter."""
        value = self.values.get(name)
        try:
            return None if value is None else float(value)
        except (TypeError, ValueError):
            return None

    def get_clamped(self, name: str, default: int, low: int, high: int) -> int:
        """An integer the way telegram-bot-api reads one (Client::get_integer_arg).

        Absent or empty gives the default; otherwise the leading integer of the text
        (`"2.5"` is 2, garbage is 0), clamped to low..high.
        """
        value = self.values.get(name)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            number = int(value)
        elif isinstance(value, int):
            number = value
        else:
            match = re.match(r"\s*(-?\d+)", str(value))
            number = int(match.group(1)) if match else 0
        return min(max(number, low), high)

    def get_bool(self, name: str) -> bool:
        """A boolean parameter (true/1 are true)."""
        value = self.values.get(name)
        if isinstance(value, bool):
            return value
        if value is None:
            return False
        return str(value).strip().lower() in ("true", "1")

    def get_json(self, name: str, error: str) -> Any:
        """A JSON-serialized parameter (already decoded in a JSON body)."""
        value = self.values.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError as exc:
                raise bad(error) from exc
        return value

    def file(self, value: str | None, name: str) -> Upload | str | None:
        """An InputFile: the upload under `name` or attach://, else the string (file_id/URL)."""
        if name in self.files:
            return self.files[name]
        if value and value.startswith("attach://"):
            return self.files.get(value[len("attach://") :])
        return value


Handler = Callable[["Context", Params], Awaitable[Any]]


@dataclass
class Context:
    """What a method runs against."""

    sandbox: Sandbox
    bot: BotState
    method: str  # canonical name
    http: aiohttp.ClientSession | None = None
