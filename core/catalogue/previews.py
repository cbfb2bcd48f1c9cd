"""A catalogue file's dry run: what applying it would change, and the preview waiting for a
staff member's "Aplicar" or "Cancelar".

A preview keeps the file's Telegram id and digest, not its products: applying downloads the
file again and checks it is the same one. It lives in Redis (it may expire: the staff then
send the file again) and is taken once, so a double tap or two staff members applies once.
It also keeps the catalogue's version it was compared with: when the catalogue has changed
since (another import, a /precio), the numbers shown are no longer true and it is not applied.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass

import redis

from core.catalogue.product import Product

PREFIX = "pedidos:catalogue:preview:"
# Long enough for a staff member to come back to it the same day.
PREVIEW_TTL = 24 * 3600


@dataclass(frozen=True)
class Changes:
    """What replacing the catalogue with a file's products does, by SKU."""

    new: tuple[str, ...]
    changed: tuple[str, ...]
    # On sale now and not in the file: withdrawn (kept inactive, never deleted).
    withdrawn: tuple[str, ...]
    unchanged: tuple[str, ...]

    @property
    def total(self) -> int:
        return len(self.new) + len(self.changed) + len(self.unchanged)


def compare(current: Sequence[Product], incoming: Sequence[Product]) -> Changes:
    """The changes from `current` (the whole catalogue) to `incoming` (a file's products)."""
    now = {p.sku: p for p in current}
    listed = {p.sku for p in incoming}
    new = tuple(p.sku for p in incoming if p.sku not in now)
    changed = tuple(p.sku for p in incoming if p.sku in now and now[p.sku] != p)
    unchanged = tuple(p.sku for p in incoming if p.sku in now and now[p.sku] == p)
    withdrawn = tuple(p.sku for p in current if p.active and p.sku not in listed)
    return Changes(new, changed, withdrawn, unchanged)


@dataclass(frozen=True)
class Preview:
    """A previewed file waiting for Aplicar / Cancelar in one chat."""

    id: str
    chat_id: int
    user_id: int
    file_id: str
    name: str
    digest: str
    # CatalogueStore.version() when the file was compared with the catalogue.
    version: float
    message_id: int = 0


class Previews:
    """Previews in Redis, one hash each, expiring after PREVIEW_TTL."""

    def __init__(self, client: redis.Redis, ttl: int = PREVIEW_TTL) -> None:
        self.redis = client
        self.ttl = ttl

    def create(
        self, chat_id: int, user_id: int, file_id: str, name: str, digest: str, version: float
    ) -> Preview:
        preview = Preview(secrets.token_hex(5), chat_id, user_id, file_id, name, digest, version)
        key = PREFIX + preview.id
        fields: dict[str, str | int] = {
            "chat_id": chat_id,
            "user_id": user_id,
            "file_id": file_id,
            "name": name,
            "digest": digest,
            "version": repr(version),
            "message_id": 0,
        }
        with self.redis.pipeline() as pipe:
            pipe.hset(key, mapping={k: str(v) for k, v in fields.items()})
            pipe.expire(key, self.ttl)
            pipe.execute()
        return preview

    def attach(self, preview_id: str, message_id: int) -> None:
        """Record the message that shows the preview (its buttons act only there)."""
        self.redis.hset(PREFIX + preview_id, "message_id", message_id)

    def take(self, preview_id: str) -> Preview | None:
        """The preview, removed in the same step: only the first caller gets it."""
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.hgetall(PREFIX + preview_id)
            pipe.delete(PREFIX + preview_id)
            raw, _ = pipe.execute()
        return _preview(preview_id, raw) if raw else None

    def get(self, preview_id: str) -> Preview | None:
        raw = self.redis.hgetall(PREFIX + preview_id)
        return _preview(preview_id, raw) if raw else None


def _preview(preview_id: str, raw: dict[bytes | str, bytes | str]) -> Preview:
    fields = {
        (k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v)
        for k, v in raw.items()
    }
    return Preview(
        id=preview_id,
        chat_id=int(fields["chat_id"]),
        user_id=int(fields["user_id"]),
        file_id=fields["file_id"],
        name=fields["name"],
        digest=fields["digest"],
        version=float(fields["version"]),
        message_id=int(fields.get("message_id") or 0),
    )
