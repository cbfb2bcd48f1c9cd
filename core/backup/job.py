"""The daily backup as the beat task runs it: take the copy, log where it went and how large
it is, and when it fails tell the admin chats (the older copies are still there)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from core import texts
from core.backup.copies import BackupFailed, Copy, copies, take_backup
from core.telegram.client import BadRequest

log = logging.getLogger(__name__)

ADMIN_LANGUAGE = texts.DEFAULT_LANGUAGE


class Messenger(Protocol):
    """How the job reaches a chat: core.telegram.courier.Courier, once per key."""

    def send(self, chat_id: int, text: str, *, key: str) -> int | None: ...


class BackupJob:
    def __init__(
        self,
        url: str,
        directory: Path,
        keep: int,
        messenger: Messenger,
        admin_chat_ids: Sequence[int],
    ) -> None:
        self.url = url
        self.directory = directory
        self.keep = keep
        self.messenger = messenger
        self.admin_chat_ids = tuple(admin_chat_ids)

    def run(self, key: str) -> Copy:
        """Take today's copy; BackupFailed once the admins have been told it failed."""
        try:
            copy = take_backup(self.url, self.directory, self.keep)
        except BackupFailed as exc:
            log.error("backup failed: %s", exc)
            self.tell_admins(str(exc), key)
            raise
        log.info(
            "backup path=%s size=%s seconds=%.1f removed=%s",
            copy.path,
            copy.size,
            copy.seconds,
            len(copy.removed),
        )
        return copy

    def tell_admins(self, reason: str, key: str) -> None:
        text = texts.text(
            ADMIN_LANGUAGE,
            "backup.failed",
            reason=reason,
            kept=len(copies(self.directory)),
            directory=self.directory,
        )
        for chat_id in self.admin_chat_ids:
            try:
                self.messenger.send(chat_id, text, key=f"{key}:{chat_id}")
            except BadRequest as exc:
                # One chat refusing (bot removed) must not keep the others from hearing.
                log.warning("backup failure not told to chat=%s: %s", chat_id, exc)
