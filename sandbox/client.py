"""A synchronous Python client for the sandbox's control API (what tests talk to)."""

from __future__ import annotations

import json
import mimetypes
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

# Telegram's placeholder senders: anonymous group admins, posts as a channel, auto-forwards.
ANONYMOUS_ADMIN_ID = 1087968824
CHANNEL_BOT_ID = 136817688
SERVICE_USER_ID = 777000

PathLike = str | Path


class SandboxError(RuntimeError):
    """The control API refused a request."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


@dataclass
class Media:
    """A photo (its largest size) or document attached to a message."""

    type: str
    file_id: str
    file_unique_id: str | None = None
    width: int | None = None
    height: int | None = None
    mime_type: str | None = None
    file_size: int | None = None
    file_name: str | None = None
    download_url: str | None = None
    original_width: int | None = None
    original_height: int | None = None
    sizes: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Media:
        """From the transcript's JSON."""
        known: dict[str, Any] = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        known["sizes"] = list(known.get("sizes") or [])
        return cls(**known)

    def __getitem__(self, key: str) -> Any:
        """Dict-style access, so media["width"] works as well as media.width."""
        return getattr(self, key)


@dataclass
class Message:
    """A message in a chat's transcript, in its current state plus its edit history."""

    message_id: int
    chat_id: int
    from_bot: bool
    text: str | None
    caption: str | None
    entities: list[dict[str, Any]]
    edits: list[str]
    media: list[Media]
    media_group_id: str | None
    buttons: list[list[str]]
    reply_markup: dict[str, Any] | None
    deleted: bool
    date: int
    edit_date: int | None = None
    sender: dict[str, Any] = field(default_factory=dict)
    reply_to_message_id: int | None = None
    callback_answers: list[dict[str, Any]] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)
    update_id: int | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Message:
        """From the transcript's JSON."""
        return cls(
            message_id=int(data["message_id"]),
            chat_id=int(data["chat_id"]),
            from_bot=bool(data["from_bot"]),
            text=data.get("text"),
            caption=data.get("caption"),
            entities=list(data.get("entities") or []),
            edits=list(data.get("edits") or []),
            media=[Media.from_json(m) for m in data.get("media") or []],
            media_group_id=data.get("media_group_id"),
            buttons=[list(row) for row in data.get("buttons") or []],
            reply_markup=data.get("reply_markup"),
            deleted=bool(data.get("deleted")),
            date=int(data.get("date") or 0),
            edit_date=data.get("edit_date"),
            sender=dict(data.get("from") or {}),
            reply_to_message_id=data.get("reply_to_message_id"),
            callback_answers=list(data.get("callback_answers") or []),
            history=list(data.get("history") or []),
            update_id=data.get("update_id"),
            raw=data,
        )

    @property
    def content(self) -> str:
        """Text, or caption for media messages ('' when neither)."""
        return self.text if self.text is not None else (self.caption or "")

    @property
    def button_texts(self) -> list[str]:
        """Every inline button's text, row by row."""
        return [text for row in self.buttons for text in row]

    def describe(self) -> str:
        """One line for failure messages."""
        who = "bot" if self.from_bot else f"user {self.sender.get('id')}"
        parts = [f"#{self.message_id} {who}:"]
        if self.media:
            parts.append(
                ", ".join(
                    f"[{m.type} {m.width}x{m.height}]" if m.width else f"[{m.type} {m.file_name}]"
                    for m in self.media
                )
            )
        parts.append(repr(self.content))
        if self.buttons:
            parts.append(f"buttons={self.buttons}")
        if len(self.edits) > 1:
            parts.append(f"edits={len(self.edits) - 1}")
        if self.deleted:
            parts.append("(deleted)")
        return " ".join(parts)


def _user_spec(
    user_id: int,
    first_name: str,
    username: str | None,
    language_code: str | None,
    last_name: str | None,
) -> dict[str, Any]:
    spec: dict[str, Any] = {"id": user_id, "first_name": first_name}
    if username:
        spec["username"] = username
    if language_code:
        spec["language_code"] = language_code
    if last_name:
        spec["last_name"] = last_name
    return spec


class Chat:
    """A chat handle acting as one user: send, press buttons, read and wait for bot messages."""

    def __init__(self, client: SandboxClient, chat_id: int, user: dict[str, Any]) -> None:
        self.client = client
        self.chat_id = chat_id
        self.user = user

    @property
    def id(self) -> int:
        """The chat id."""
        return self.chat_id

    def __repr__(self) -> str:
        return f"Chat({self.chat_id}, as user {self.user.get('id')})"

    def as_user(
        self,
        user_id: int,
        first_name: str = "User",
        username: str | None = None,
        language_code: str | None = None,
        last_name: str | None = None,
        is_bot: bool = False,
    ) -> Chat:
        """The same chat, another sender (groups)."""
        spec = _user_spec(user_id, first_name, username, language_code, last_name)
        if is_bot:
            spec["is_bot"] = True
        self.client._post("/users", json=spec)
        return Chat(self.client, self.chat_id, spec)

    # --- acting -----------------------------------------------------------------

    def send(
        self,
        text: str,
        reply_to: int | None = None,
        sender_chat: dict[str, Any] | None = None,
        automatic_forward: bool = False,
    ) -> Message:
        """The user sends a text (commands get bot_command entities); `sender_chat` sends it on
        behalf of a chat (see `as_anonymous_admin`, `as_channel`)."""
        body: dict[str, Any] = {"from": self.user, "text": text}
        if reply_to is not None:
            body["reply_to_message_id"] = reply_to
        if sender_chat is not None:
            body["sender_chat"] = sender_chat
        if automatic_forward:
            body["is_automatic_forward"] = True
        return Message.from_json(self.client._post(f"/chats/{self.chat_id}/messages", json=body))

    def edit(self, message_id: int, text: str) -> Message:
        """The user edits their text message (the bot gets an `edited_message` update)."""
        out = self.client._post(
            f"/chats/{self.chat_id}/messages/{message_id}/edit", json={"text": text}
        )
        return Message.from_json(out)

    def anonymous_admin_send(self, text: str, title: str = "Group") -> Message:
        """A group's anonymous admin sends a text: from GroupAnonymousBot, sender_chat the group."""
        anonymous = self.as_user(
            ANONYMOUS_ADMIN_ID, first_name="Group", username="GroupAnonymousBot", is_bot=True
        )
        sender = {"id": self.chat_id, "type": "supergroup", "title": title}
        return anonymous.send(text, sender_chat=sender)

    def channel_send(
        self, text: str, channel_id: int, title: str = "Channel", automatic_forward: bool = False
    ) -> Message:
        """A channel speaks in the group: a member posting as the channel (from Channel_Bot),
        or, with `automatic_forward`, its post forwarded into its discussion group (from 777000)."""
        if automatic_forward:
            sender = self.as_user(SERVICE_USER_ID, first_name="Telegram")
        else:
            sender = self.as_user(
                CHANNEL_BOT_ID, first_name="Channel", username="Channel_Bot", is_bot=True
            )
        channel = {"id": channel_id, "type": "channel", "title": title}
        return sender.send(text, sender_chat=channel, automatic_forward=automatic_forward)

    def migrate_to_supergroup(self, new_chat_id: int) -> Chat:
        """This user upgrades the group to a supergroup; the handle of the new chat."""
        self.client._post(
            f"/chats/{self.chat_id}/migrate", json={"to": new_chat_id, "from": self.user}
        )
        return Chat(self.client, new_chat_id, self.user)

    def _form(self, caption: str | None, reply_to: int | None = None) -> dict[str, str]:
        form = {"from": json.dumps(self.user)}
        if caption is not None:
            form["caption"] = caption
        if reply_to is not None:
            form["reply_to_message_id"] = str(reply_to)
        return form

    def send_photo(
        self,
        photo: PathLike | bytes,
        caption: str | None = None,
        reply_to: int | None = None,
        file_name: str = "photo.jpg",
    ) -> Message:
        """The user sends a photo; Telegram's sizes are made from it."""
        data, name = _read(photo, file_name)
        files = {"photo": (name, data, mimetypes.guess_type(name)[0] or "image/jpeg")}
        out = self.client._post(
            f"/chats/{self.chat_id}/photo", data=self._form(caption, reply_to), files=files
        )
        return Message.from_json(out)

    def send_document(
        self,
        document: PathLike | bytes,
        mime_type: str | None = None,
        file_name: str | None = None,
        caption: str | None = None,
        reply_to: int | None = None,
    ) -> Message:
        """The user sends a file (image or not) as a document, bytes untouched."""
        data, name = _read(document, file_name or "file")
        form = self._form(caption, reply_to)
        if mime_type:
            form["mime_type"] = mime_type
        if file_name:
            form["file_name"] = file_name
        mime = mime_type or mimetypes.guess_type(name)[0] or "application/octet-stream"
        files = {"document": (name, data, mime)}
        out = self.client._post(f"/chats/{self.chat_id}/document", data=form, files=files)
        return Message.from_json(out)

    def send_album(
        self, photos: Iterable[PathLike | bytes], caption: str | None = None
    ) -> list[Message]:
        """The user sends 2–10 photos as one album (one media_group_id)."""
        files = []
        for index, item in enumerate(photos):
            data, name = _read(item, f"photo{index}.jpg")
            files.append(("photo", (name, data, mimetypes.guess_type(name)[0] or "image/jpeg")))
        out = self.client._post(
            f"/chats/{self.chat_id}/album", data=self._form(caption), files=files
        )
        return [Message.from_json(item) for item in out]

    def press(
        self,
        text: str | None = None,
        message_id: int | None = None,
        data: str | None = None,
        forged: bool = False,
    ) -> str:
        """Press an inline button (by text or callback data); returns the callback query id.
        `forged`: send `data` on `message_id` whatever its buttons (a modified client)."""
        body: dict[str, Any] = {"from": self.user}
        if forged:
            body["forged"] = True
        if text is not None:
            body["text"] = text
        if data is not None:
            body["callback_data"] = data
        if message_id is not None:
            body["message_id"] = message_id
        return str(
            self.client._post(f"/chats/{self.chat_id}/press", json=body)["callback_query_id"]
        )

    def callback_answer(self, query_id: str, timeout: float = 10.0) -> dict[str, Any]:
        """The bot's answerCallbackQuery (text, show_alert, url, cache_time), waiting for it."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            out = self.client._get(
                f"/callback_queries/{query_id}", params={"timeout": max(0.0, min(remaining, 30))}
            )
            if out["answered"]:
                return dict(out["answer"])
            if time.monotonic() >= deadline:
                raise TimeoutError(
                    f"callback query {query_id} not answered within {timeout}s\n"
                    + self.transcript_text()
                )

    # --- reading ----------------------------------------------------------------

    def _transcript(self) -> tuple[int, list[Message]]:
        out = self.client._get(f"/chats/{self.chat_id}/messages")
        return int(out["seq"]), [Message.from_json(m) for m in out["messages"]]

    def messages(self, include_deleted: bool = True) -> list[Message]:
        """Every message of the chat, user's and bot's, oldest first."""
        _, messages = self._transcript()
        return [m for m in messages if include_deleted or not m.deleted]

    def bot_messages(self, include_deleted: bool = False) -> list[Message]:
        """The bot's messages (deleted ones left out unless asked)."""
        return [m for m in self.messages(include_deleted) if m.from_bot]

    def last_bot_message(self) -> Message | None:
        """The bot's latest message still shown."""
        messages = self.bot_messages()
        return messages[-1] if messages else None

    def transcript_text(self) -> str:
        """The transcript, one line per message (for failure messages)."""
        try:
            messages = self.messages()
        except Exception as exc:  # a failure message must not fail itself
            return f"(transcript unavailable: {exc})"
        lines = [m.describe() for m in messages] or ["(no messages)"]
        return f"transcript of chat {self.chat_id}:\n  " + "\n  ".join(lines)

    # --- waiting ----------------------------------------------------------------

    def wait(
        self,
        condition: Callable[[list[Message]], Any],
        timeout: float = 10.0,
        what: str = "condition",
    ) -> Any:
        """Wait until condition(all messages) is truthy and return its value (no polling sleeps)."""
        deadline = time.monotonic() + timeout
        while True:
            seq, messages = self._transcript()
            result = condition(messages)
            if result:
                return result
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                lines = [m.describe() for m in messages] or ["(no messages)"]
                raise TimeoutError(
                    f"timed out after {timeout}s waiting for {what} in chat {self.chat_id}; "
                    "transcript:\n  " + "\n  ".join(lines)
                )
            self.client.wait_events(seq, chat_id=self.chat_id, timeout=min(remaining, 10.0))

    def wait_for(
        self,
        predicate: Callable[[Message], Any] | None = None,
        timeout: float = 10.0,
        after: int | None = None,
    ) -> Message:
        """The first bot message (current state, not deleted) matching; TimeoutError otherwise."""
        check = predicate or (lambda m: True)

        def found(messages: list[Message]) -> Message | None:
            for message in messages:
                if not message.from_bot or message.deleted:
                    continue
                if after is not None and message.message_id <= after:
                    continue
                if check(message):
                    return message
            return None

        result: Message = self.wait(found, timeout, what="a matching bot message")
        return result

    def wait_for_count(
        self,
        predicate: Callable[[Message], Any] | None = None,
        n: int = 1,
        timeout: float = 10.0,
        after: int | None = None,
    ) -> list[Message]:
        """At least n bot messages matching (returns all that match)."""
        check = predicate or (lambda m: True)

        def found(messages: list[Message]) -> list[Message] | None:
            hits = [
                m
                for m in messages
                if m.from_bot
                and not m.deleted
                and (after is None or m.message_id > after)
                and check(m)
            ]
            return hits if len(hits) >= n else None

        result: list[Message] = self.wait(found, timeout, what=f"{n} matching bot messages")
        return result


def _read(item: PathLike | bytes, default_name: str) -> tuple[bytes, str]:
    if isinstance(item, bytes | bytearray):
        return bytes(item), default_name
    path = Path(item)
    return path.read_bytes(), path.name


class SandboxClient:
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
        spec = _user_spec(user_id, first_name, username, language_code, last_name)
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
    ) -> Chat:
        """A group (or supergroup for -100… ids) acting as the given member."""
        spec = _user_spec(user_id, first_name, username, language_code, last_name)
        body: dict[str, Any] = {"id": chat_id, "title": title, "user": spec}
        if type:
            body["type"] = type
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
