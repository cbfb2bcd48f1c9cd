"""A /pedido's priced summary waiting for its Confirmar: the wanted (SKU, quantity) lines in
Redis under a short id, for DRAFT_TTL. Confirmar prices them again as the catalogue is then
(a price change in between shows in the new total, never an old price charged)."""

from __future__ import annotations

import json
import secrets

import redis

PREFIX = "pedidos:draft:"
DRAFT_TTL = 30 * 60


class DraftStore:
    def __init__(self, client: redis.Redis) -> None:
        self.redis = client

    def save(self, chat_id: int, user_id: int, lines: list[tuple[str, int]]) -> str:
        draft = secrets.token_hex(5)
        body = json.dumps({"user": user_id, "lines": lines})
        self.redis.set(f"{PREFIX}{chat_id}:{draft}", body, ex=DRAFT_TTL)
        return draft

    def get(self, chat_id: int, draft: str) -> tuple[int, list[tuple[str, int]]] | None:
        """(who asked, lines), or None once it expired or was confirmed."""
        raw = self.redis.get(f"{PREFIX}{chat_id}:{draft}")
        if raw is None:
            return None
        found = json.loads(raw)
        return int(found["user"]), [(str(sku), int(qty)) for sku, qty in found["lines"]]

    def drop(self, chat_id: int, draft: str) -> None:
        self.redis.delete(f"{PREFIX}{chat_id}:{draft}")
