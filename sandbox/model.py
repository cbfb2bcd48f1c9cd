"""The sandbox's world in memory: users, files, chats and messages."""

from __future__ import annotations

import copy
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sandbox.entities import Entity


class Clock:
    """The sandbox's wall clock: real time plus an offset tests move forward (`/clock`)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def now(self) -> float:
        """Unix time as the sandbox sees it."""
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        """Jump forward, as if `seconds` had passed."""
        self.offset += seconds


@dataclass
class User:
    """A Telegram user (or the bot itself)."""

    id: int
    first_name: str
    is_bot: bool = False
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None

    def to_api(self) -> dict[str, Any]:
        """The Bot API User object."""
        out: dict[str, Any] = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}
        if self.last_name:
            out["last_name"] = self.last_name
        if self.username:
            out["username"] = self.username
        if self.language_code and not self.is_bot:
            out["language_code"] = self.language_code
        return out


@dataclass
class StoredFile:
    """A file on the sandbox's disk, known by its file_id."""

    file_id: str
    file_unique_id: str
    path: Path
    size: int
    kind: str  # photo | document
    mime_type: str | None = None
    file_name: str | None = None
    width: int | None = None
    height: int | None = None
    file_path: str | None = None  # assigned by getFile, as Telegram does

    def photo_size(self) -> dict[str, Any]:
        """The Bot API PhotoSize object."""
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": self.size,
            "width": self.width,
            "height": self.height,
        }

    def document(self) -> dict[str, Any]:
        """The Bot API Document object."""
        out: dict[str, Any] = {"file_id": self.file_id, "file_unique_id": self.file_unique_id}
        if self.file_name:
            out["file_name"] = self.file_name
        if self.mime_type:
            out["mime_type"] = self.mime_type
        out["file_size"] = self.size
        return out


@dataclass
class Photo:
    """A photo as Telegram keeps it: several re-encoded sizes, plus what was uploaded."""

    sizes: list[StoredFile]
    original_width: int
    original_height: int
    original_size: int


@dataclass
class Snapshot:
    """One state a message has shown (for the edit history)."""

    date: int
    text: str | None
    caption: str | None
    reply_markup: dict[str, Any] | None


@dataclass
class Chat:
    """A private chat, group or supergroup between users and one bot."""

    id: int
    type: str  # private | group | supergroup
    title: str | None = None
    user: User | None = None  # the other side of a private chat
    username: str | None = None
    messages: dict[int, Message] = field(default_factory=dict)
    next_message_id: int = 1
    instance: str = field(default_factory=lambda: str(secrets.randbits(62)))
    # A group upgraded to a supergroup: the new chat's id (sends here then fail with 400).
    migrated_to: int | None = None
    # Users getChatMember calls administrators of this group (the control API sets them).
    administrators: set[int] = field(default_factory=set)

    def to_api(self) -> dict[str, Any]:
        """The Bot API Chat object as embedded in messages."""
        out: dict[str, Any] = {"id": self.id}
        if self.type == "private" and self.user is not None:
            out["first_name"] = self.user.first_name
            if self.user.last_name:
                out["last_name"] = self.user.last_name
            if self.user.username:
                out["username"] = self.user.username
        else:
            out["title"] = self.title or f"Group {self.id}"
            if self.username:
                out["username"] = self.username
        out["type"] = self.type
        if self.type == "group":
            out["all_members_are_administrators"] = True
        return out

    def take_message_id(self) -> int:
        """The next message_id of this chat."""
        message_id = self.next_message_id
        self.next_message_id += 1
        return message_id


@dataclass
class Message:
    """A message in a chat, from a user or from the bot, with its edit history."""

    message_id: int
    chat: Chat
    sender: User
    date: int
    text: str | None = None
    entities: list[Entity] = field(default_factory=list)
    caption: str | None = None
    caption_entities: list[Entity] = field(default_factory=list)
    photo: Photo | None = None
    document: StoredFile | None = None
    media_group_id: str | None = None
    reply_markup: dict[str, Any] | None = None
    reply_to: Message | None = None
    edit_date: int | None = None
    deleted: bool = False
    history: list[Snapshot] = field(default_factory=list)
    callback_answers: list[dict[str, Any]] = field(default_factory=list)
    # Other Message fields as Telegram sends them (sender_chat, is_automatic_forward,
    # migrate_to_chat_id, migrate_from_chat_id).
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def from_bot(self) -> bool:
        """Whether the bot sent this message."""
        return self.sender.is_bot

    def preview(self) -> str:
        """The message in one line for the chat list: text, an invoice's title, a payment."""
        if "invoice" in self.extra:
            return f"Invoice: {self.extra['invoice']['title']}"
        if "successful_payment" in self.extra or "refunded_payment" in self.extra:
            return "Payment" if "successful_payment" in self.extra else "Refund"
        return self.text or self.caption or ""

    def snapshot(self) -> Snapshot:
        """The message's current shown state."""
        return Snapshot(
            self.edit_date or self.date,
            self.text,
            self.caption,
            copy.deepcopy(self.reply_markup),
        )

    def to_api(self, with_reply: bool = True) -> dict[str, Any]:
        """The Bot API Message object."""
        out: dict[str, Any] = {
            "message_id": self.message_id,
            "from": self.sender.to_api(),
            "chat": self.chat.to_api(),
            "date": self.date,
        }
        if self.edit_date is not None:
            out["edit_date"] = self.edit_date
        if self.media_group_id:
            out["media_group_id"] = self.media_group_id
        if self.reply_to is not None and with_reply and not self.reply_to.deleted:
            out["reply_to_message"] = self.reply_to.to_api(with_reply=False)
        if self.text is not None:
            out["text"] = self.text
            if self.entities:
                out["entities"] = [e.to_api() for e in self.entities]
        if self.photo is not None:
            out["photo"] = [size.photo_size() for size in self.photo.sizes]
        if self.document is not None:
            out["document"] = self.document.document()
        if self.caption is not None:
            out["caption"] = self.caption
            if self.caption_entities:
                out["caption_entities"] = [e.to_api() for e in self.caption_entities]
        # Telegram's Message carries only inline keyboards; a ForceReply or a reply keyboard
        # shapes the user's client and never comes back in a Message object.
        if self.reply_markup is not None and "inline_keyboard" in self.reply_markup:
            out["reply_markup"] = copy.deepcopy(self.reply_markup)
        out.update(copy.deepcopy(self.extra))
        return out

    def media(self, base_url: str) -> list[dict[str, Any]]:
        """The message's media as the transcript shows it."""
        items: list[dict[str, Any]] = []
        if self.photo is not None:
            largest = self.photo.sizes[-1]
            items.append(
                {
                    "type": "photo",
                    "file_id": largest.file_id,
                    "file_unique_id": largest.file_unique_id,
                    "width": largest.width,
                    "height": largest.height,
                    "mime_type": "image/jpeg",
                    "file_size": largest.size,
                    "file_name": None,
                    "original_width": self.photo.original_width,
                    "original_height": self.photo.original_height,
                    "original_size": self.photo.original_size,
                    "sizes": [size.photo_size() for size in self.photo.sizes],
                    "download_url": f"{base_url}/sandbox/api/files/{largest.file_id}",
                }
            )
        if self.document is not None:
            doc = self.document
            items.append(
                {
                    "type": "document",
                    "file_id": doc.file_id,
                    "file_unique_id": doc.file_unique_id,
                    "width": doc.width,
                    "height": doc.height,
                    "mime_type": doc.mime_type,
                    "file_size": doc.size,
                    "file_name": doc.file_name,
                    "download_url": f"{base_url}/sandbox/api/files/{doc.file_id}",
                }
            )
        return items

    def to_transcript(self, base_url: str) -> dict[str, Any]:
        """The control API's view: current state, edit history, media and buttons."""
        markup = self.reply_markup or {}
        buttons = [
            [str(button.get("text", "")) for button in row]
            for row in markup.get("inline_keyboard", [])
            if isinstance(row, list)
        ]
        return {
            "message_id": self.message_id,
            "chat_id": self.chat.id,
            "from": self.sender.to_api(),
            "from_bot": self.from_bot,
            "date": self.date,
            "edit_date": self.edit_date,
            "text": self.text,
            "caption": self.caption,
            "entities": [e.to_api() for e in (self.entities or self.caption_entities)],
            "edits": [
                snap.text if snap.text is not None else snap.caption or "" for snap in self.history
            ],
            "history": [
                {
                    "date": snap.date,
                    "text": snap.text,
                    "caption": snap.caption,
                    "reply_markup": snap.reply_markup,
                }
                for snap in self.history
            ],
            "media": self.media(base_url),
            "media_group_id": self.media_group_id,
            "buttons": buttons,
            "reply_markup": copy.deepcopy(self.reply_markup),
            "reply_to_message_id": self.reply_to.message_id if self.reply_to else None,
            "deleted": self.deleted,
            "callback_answers": list(self.callback_answers),
            "api": self.to_api(),
        }
