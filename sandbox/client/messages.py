"""What the client reads: transcript messages and their media, and the control API's errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
    def invoice(self) -> dict[str, Any] | None:
        """Message.invoice of an invoice message (title, description, currency, total_amount)."""
        return self._api_field("invoice")

    @property
    def successful_payment(self) -> dict[str, Any] | None:
        """Message.successful_payment of a payment's service message (both charge ids)."""
        return self._api_field("successful_payment")

    @property
    def refunded_payment(self) -> dict[str, Any] | None:
        """Message.refunded_payment of a Stars refund's service message."""
        return self._api_field("refunded_payment")

    def _api_field(self, name: str) -> dict[str, Any] | None:
        value = (self.raw.get("api") or {}).get(name)
        return dict(value) if isinstance(value, dict) else None

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
        for name in ("invoice", "successful_payment", "refunded_payment"):
            value = self._api_field(name)
            if value is not None:
                parts.append(f"[{name} {value.get('total_amount')} {value.get('currency')}]")
        if self.buttons:
            parts.append(f"buttons={self.buttons}")
        if len(self.edits) > 1:
            parts.append(f"edits={len(self.edits) - 1}")
        if self.deleted:
            parts.append("(deleted)")
        return " ".join(parts)
