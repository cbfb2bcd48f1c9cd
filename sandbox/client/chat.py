"""A chat handle acting as one user: send, press, read and wait for what the bot does."""

from __future__ import annotations

import json
import mimetypes
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sandbox.client.messages import (
    ANONYMOUS_ADMIN_ID,
    CHANNEL_BOT_ID,
    SERVICE_USER_ID,
    Message,
    PathLike,
)
from sandbox.client.payments import ChatPayments

if TYPE_CHECKING:
    from sandbox.client.api import SandboxClient


def user_spec(
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


class Chat(ChatPayments):
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
        spec = user_spec(user_id, first_name, username, language_code, last_name)
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
