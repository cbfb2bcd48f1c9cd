"""A small synchronous Telegram Bot API client for the workers: JSON calls straight over a
urllib3 pool (the order path makes five per order, and requests' own layers cost about twice
the CPU), files and downloads over one pooled requests session.

Errors are typed by what the caller should do about them (wait, retry, stop, give up), and
never carry the request URL: the token is part of every Bot API URL.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from typing import Any, BinaryIO

import requests
import urllib3
from requests.adapters import HTTPAdapter

from core import metrics
from core.errors import CrossProcessError
from core.logs import TOKEN_SHAPE

# Connect fast, read a little longer: sendMediaGroup with three photos takes a while.
DEFAULT_TIMEOUT = (3.05, 30.0)
JSON_HEADERS = {"Content-Type": "application/json"}


class BotApiError(CrossProcessError):
    """Telegram refused or could not answer a call."""

    def __init__(
        self, method: str, error_code: int, description: str, retry_after: float = 0.0
    ) -> None:
        super().__init__(f"{method}: {error_code} {description}")
        self.method = method
        self.error_code = error_code
        self.description = description
        self.retry_after = retry_after


class TooManyRequests(BotApiError):
    """429: wait `retry_after` seconds, then the same call may succeed."""


class Forbidden(BotApiError):
    """403: the bot was blocked, kicked or cannot write there; retrying never helps."""


class BadRequest(BotApiError):
    """400: the call itself is wrong (or the message is gone); retrying never helps."""

    @property
    def not_modified(self) -> bool:
        """Editing to the content already shown, which counts as success."""
        return "message is not modified" in self.description

    @property
    def message_gone(self) -> bool:
        """The message to edit was deleted (or never existed)."""
        text = self.description.lower()
        return "message to edit not found" in text or "message can't be edited" in text


class ChatMigrated(BadRequest):
    """400: the group was upgraded to a supergroup, now `new_chat_id` (core.chats)."""

    def __init__(self, method: str, description: str, new_chat_id: int) -> None:
        super().__init__(method, 400, description)
        self.new_chat_id = new_chat_id


class TransientError(BotApiError):
    """5xx, a timeout or a dropped connection: retry with backoff."""


def redact(text: str, token: str = "") -> str:
    """`text` with the bot token (this one, or anything shaped like one) masked."""
    if token:
        text = text.replace(token, "<token>")
    return TOKEN_SHAPE.sub("<token>", text)


class BotApi:
    """Calls `{base}/bot{token}/{method}` and downloads `{base}/file/bot{token}/{path}`."""

    def __init__(
        self,
        api_url: str,
        token: str,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        session: requests.Session | None = None,
    ) -> None:
        root = api_url.rstrip("/")
        self._method_base = f"{root}/bot{token}/"
        self._file_base = f"{root}/file/bot{token}/"
        self._token = token
        self.timeout = timeout
        self._session = session
        self._pool: urllib3.PoolManager | None = None
        self._direct = session is None  # a given session (tests) takes every call
        self._lock = threading.Lock()

    @property
    def session(self) -> requests.Session:
        # Created on first use, after Celery's prefork: a pool must not cross a fork.
        with self._lock:
            if self._session is None:
                session = requests.Session()
                # Proxy settings are read from the environment once, not on every request
                # (requests re-reads them per call when trust_env is on: ~3 ms per order).
                session.proxies = requests.utils.get_environ_proxies(self._method_base)
                session.trust_env = False
                adapter = HTTPAdapter(pool_connections=4, pool_maxsize=16, max_retries=0)
                session.mount("http://", adapter)
                session.mount("https://", adapter)
                self._session = session
            return self._session

    @property
    def pool(self) -> urllib3.PoolManager | None:
        """The pool JSON calls take, or None when a proxy is set (requests then honours it)."""
        with self._lock:
            if self._pool is None and self._direct:
                if requests.utils.get_environ_proxies(self._method_base):
                    self._direct = False
                else:
                    # Created on first use, after Celery's prefork: a pool must not cross a fork.
                    self._pool = urllib3.PoolManager(num_pools=4, maxsize=16, retries=False)
            return self._pool

    def _post_json(self, method: str, payload: dict[str, Any]) -> tuple[int, bytes]:
        """POST a JSON call; its HTTP status and body (requests.RequestException or
        urllib3's HTTPError when the connection fails)."""
        pool = self.pool
        if pool is None:
            response = self.session.post(
                self._method_base + method, json=payload, timeout=self.timeout
            )
            return response.status_code, response.content
        answer = pool.request(
            "POST",
            self._method_base + method,
            body=json.dumps(payload, allow_nan=False).encode(),
            headers=JSON_HEADERS,
            timeout=urllib3.Timeout(connect=self.timeout[0], read=self.timeout[1]),
        )
        return answer.status, answer.data

    @metrics.counts_bot_api_calls  # by method and result, 429s' retry_after summed
    def call(
        self,
        method: str,
        params: Mapping[str, Any] | None = None,
        files: Mapping[str, tuple[str, bytes | BinaryIO, str]] | None = None,
    ) -> Any:
        """Call a Bot API method and return its `result`, or raise a typed BotApiError."""
        try:
            if files:
                # Multipart: nested values (media arrays, reply markup) travel as JSON strings.
                data = {
                    key: value if isinstance(value, str) else json.dumps(value)
                    for key, value in (params or {}).items()
                    if value is not None
                }
                response = self.session.post(
                    self._method_base + method, data=data, files=files, timeout=self.timeout
                )
                status, content = response.status_code, response.content
            else:
                payload = {k: v for k, v in (params or {}).items() if v is not None}
                status, content = self._post_json(method, payload)
        except (requests.RequestException, urllib3.exceptions.HTTPError) as exc:
            # `from None`: the chained exception's text holds the URL, and so the token.
            raise TransientError(method, 0, f"connection failed ({type(exc).__name__})") from None
        return self._result(method, status, content)

    def _result(self, method: str, status: int, content: bytes) -> Any:
        try:
            body = json.loads(content)
            if not isinstance(body, dict):
                raise ValueError("not an object")
        except ValueError:
            body = {"ok": False, "description": f"HTTP {status}"}
        if status < 400 and body.get("ok"):
            return body.get("result")
        code = int(body.get("error_code") or status)
        description = redact(str(body.get("description", "")), self._token)
        parameters = body.get("parameters") or {}
        retry_after = float(parameters.get("retry_after", 0) or 0)
        if parameters.get("migrate_to_chat_id"):
            raise ChatMigrated(method, description, int(parameters["migrate_to_chat_id"]))
        if code == 429:
            raise TooManyRequests(method, code, description, retry_after or 1.0)
        if code == 403:
            raise Forbidden(method, code, description)
        if code >= 500 or code in (0, 408):
            raise TransientError(method, code, description)
        if code == 400:
            raise BadRequest(method, code, description)
        raise BotApiError(method, code, description)

    def download(self, file_path: str, dest: BinaryIO, max_bytes: int) -> int:
        """Stream a file from Telegram into `dest`; refuse it past `max_bytes`."""
        try:
            with self.session.get(
                self._file_base + file_path, stream=True, timeout=self.timeout
            ) as response:
                if response.status_code >= 500:
                    raise TransientError("download", response.status_code, "server error")
                if response.status_code != 200:
                    raise BadRequest("download", response.status_code, "file not available")
                size = 0
                for chunk in response.iter_content(chunk_size=64 * 1024):
                    size += len(chunk)
                    if size > max_bytes:
                        raise FileTooBig(size, max_bytes)
                    dest.write(chunk)
                return size
        except requests.RequestException as exc:
            raise TransientError(
                "download", 0, f"connection failed ({type(exc).__name__})"
            ) from None


class FileTooBig(CrossProcessError):
    """A download went past its size cap."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"file over {limit} bytes")
        self.size = size
        self.limit = limit
