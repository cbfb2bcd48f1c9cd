"""The synchronous client over the control API: users, chats, faults, counters, files."""

from __future__ import annotations

from typing import Any

import requests

from sandbox.client.chat import Chat, user_spec
from sandbox.client.messages import SandboxError
from sandbox.client.payments import ClientPayments


class SandboxClient(ClientPayments):
    """Sync client over the control API: users, chats, faults, counters, files, reset."""

    def __init__(self, url: str, bot: int | str | None = None, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self.bot = bot
        self.timeout = timeout
        self.session = requests.Session()
        self._info: dict[str, Any] | None = None

    def close(self) -> None:
        """Close the HTTP session."""
        self.session.close()

    # --- plumbing ---------------------------------------------------------------

    def _params(self, params: dict[str, Any] | None) -> dict[str, Any]:
        out = dict(params or {})
        if self.bot is not None:
            out["bot"] = self.bot
        return out

    def _check(self, response: requests.Response) -> Any:
        try:
            data = response.json()
        except ValueError:
            data = {"error": response.text}
        if response.status_code >= 400:
            raise SandboxError(response.status_code, str(data.get("error", data)))
        return data

    def _get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        timeout = self.timeout + float((params or {}).get("timeout", 0) or 0)
        response = self.session.get(
            f"{self.url}/sandbox/api{path}", params=self._params(params), timeout=timeout
        )
        return self._check(response)

    def _post(self, path: str, **kwargs: Any) -> Any:
        response = self.session.post(
            f"{self.url}/sandbox/api{path}",
            params=self._params(kwargs.pop("params", None)),
            timeout=self.timeout,
            **kwargs,
        )
        return self._check(response)

    def _delete(self, path: str) -> Any:
        response = self.session.delete(
            f"{self.url}/sandbox/api{path}", params=self._params(None), timeout=self.timeout
        )
        return self._check(response)

    # --- identity ---------------------------------------------------------------

    def info(self) -> dict[str, Any]:
        """Token, bot user, URLs."""
        self._info = self._get("/info")
        return self._info

    @property
    def token(self) -> str:
        """The bot token the sandbox accepts."""
        return str((self._info or self.info())["token"])

    @property
    def api_url(self) -> str:
        """The TELEGRAM_API_URL root to give the bot (the base URL)."""
        return self.url

    @property
    def bot_user(self) -> dict[str, Any]:
        """The bot's User object."""
        return dict((self._info or self.info())["bot"])

    @property
    def bot_username(self) -> str:
        """The bot's @username (without @)."""
        return str(self.bot_user.get("username"))

    def add_bot(
        self, token: str, username: str | None = None, first_name: str | None = None
    ) -> SandboxClient:
        """Make the sandbox accept another bot token; a client acting on that bot."""
        body: dict[str, Any] = {"token": token}
        if username:
            body["username"] = username
        if first_name:
            body["first_name"] = first_name
        created = self._post("/bots", json=body)
        return SandboxClient(self.url, bot=created["id"], timeout=self.timeout)

    # --- chats ------------------------------------------------------------------

    def private_chat(
        self,
        user_id: int,
        first_name: str = "User",
        username: str | None = None,
        language_code: str | None = None,
        last_name: str | None = None,
    ) -> Chat:
        """A private chat with this user (chat id == user id)."""
        spec = user_spec(user_id, first_name, username, language_code, last_name)
        self._post("/chats", json={"id": user_id, "type": "private", "user": spec})
        return Chat(self, user_id, spec)

    def group_chat(
        self,
        chat_id: int,
        title: str = "Group",
        user_id: int = 1,
        first_name: str = "User",
        username: str | None = None,
        language_code: str | None = None,
        last_name: str | None = None,
        type: str | None = None,
        administrators: list[int] | None = None,
    ) -> Chat:
        """A group (or supergroup for -100… ids) acting as the given member; getChatMember
        calls `administrators` (user ids) its administrators."""
        spec = user_spec(user_id, first_name, username, language_code, last_name)
        body: dict[str, Any] = {"id": chat_id, "title": title, "user": spec}
        if type:
            body["type"] = type
        if administrators is not None:
            body["administrators"] = administrators
        self._post("/chats", json=body)
        return Chat(self, chat_id, spec)

    def chats(self) -> list[dict[str, Any]]:
        """Every chat the bot has."""
        return list(self._get("/chats"))

    # --- faults and limits ------------------------------------------------------

    def set_limits(
        self,
        enabled: bool = True,
        global_per_second: float | None = None,
        chat_per_second: float | None = None,
        chat_burst: int | None = None,
        group_per_minute: float | None = None,
        count_edits: bool | None = None,
    ) -> dict[str, Any]:
        """Switch Telegram's flood limits on (or off) and tune them."""
        body = {
            "enabled": enabled,
            "global_per_second": global_per_second,
            "chat_per_second": chat_per_second,
            "chat_burst": chat_burst,
            "group_per_minute": group_per_minute,
            "count_edits": count_edits,
        }
        return dict(self._post("/limits", json={k: v for k, v in body.items() if v is not None}))

    def block_chat(self, chat_id: int) -> None:
        """The user blocks the bot: sends to this chat get 403."""
        self._post("/blocked", json={"chat_id": chat_id})

    def unblock_chat(self, chat_id: int) -> None:
        """Undo block_chat."""
        self._delete(f"/blocked/{chat_id}")

    def fail(
        self,
        method: str = "*",
        status: int | None = None,
        times: int | None = 1,
        drop: bool = False,
        retry_after: int | None = None,
        description: str | None = None,
    ) -> None:
        """The next `times` calls of `method` fail (status, 429 with retry_after, or drop)."""
        body: dict[str, Any] = {"method": method, "times": times, "drop": drop}
        if status is not None:
            body["status"] = status
        if retry_after is not None:
            body["retry_after"] = retry_after
        if description is not None:
            body["description"] = description
        self._post("/faults", json=body)

    def hold_answers(self, method: str, seconds: float, times: int = 1) -> None:
        """The next `times` calls of `method` are carried out, then answered `seconds` late."""
        self._post("/faults", json={"method": method, "times": times, "hold": seconds})

    def clear_faults(self) -> None:
        """Forget every forced failure."""
        self._delete("/faults")

    def set_latency(self, seconds: float, method: str | None = None) -> None:
        """Delay every Bot API answer (or one method's) by `seconds`."""
        body: dict[str, Any] = {"seconds": seconds}
        if method:
            body["method"] = method
        self._post("/latency", json=body)

    def set_privacy_mode(self, enabled: bool) -> None:
        """Privacy mode: in groups the bot only gets commands, replies and mentions."""
        self._post("/config", json={"privacy_mode": enabled})

    def advance_clock(self, seconds: float) -> dict[str, Any]:
        """Move the sandbox's clock forward: message dates, update and button-press expiry,
        deleteMessage's two days all follow it (real time keeps running too)."""
        return dict(self._post("/clock", json={"advance": seconds}))

    def configure(self, **settings: Any) -> dict[str, Any]:
        """Other settings (webhook_retry_delay, webhook_retry_max, webhook_timeout)."""
        return dict(self._post("/config", json=settings))

    def faults(self) -> dict[str, Any]:
        """Current limits, forced failures, blocked chats and latency."""
        return dict(self._get("/faults"))

    # --- observing --------------------------------------------------------------

    def counters(self) -> dict[str, Any]:
        """Calls per method, 429s issued, per-chat sends, errors, webhook deliveries."""
        return dict(self._get("/counters"))

    def reset_counters(self) -> None:
        """Counters back to zero."""
        self._delete("/counters")

    def webhook_info(self) -> dict[str, Any]:
        """The webhook and its delivery state (pending_update_count, last_error_message…)."""
        return dict(self._get("/webhook"))

    def pending_updates(self) -> list[dict[str, Any]]:
        """Updates the bot has not confirmed yet."""
        return list(self._get("/updates"))

    def commands(self) -> list[dict[str, Any]]:
        """Every command list the bot set (scope, language_code, commands)."""
        return list(self._get("/commands"))

    def wait_events(
        self, since: int, chat_id: int | None = None, timeout: float = 10.0
    ) -> dict[str, Any]:
        """Events after `since` (long-poll up to `timeout`): {"seq": n, "events": [...]}."""
        params: dict[str, Any] = {"since": since, "timeout": timeout}
        if chat_id is not None:
            params["chat_id"] = chat_id
        return dict(self._get("/events/wait", params=params))

    def download(self, file_id: str) -> bytes:
        """The bytes of a stored file."""
        response = self.session.get(f"{self.url}/sandbox/api/files/{file_id}", timeout=self.timeout)
        if response.status_code >= 400:
            raise SandboxError(response.status_code, response.text)
        return response.content

    def reset(self) -> None:
        """Forget every user, chat, message, file, fault and counter."""
        self._post("/reset")
        self._info = None
