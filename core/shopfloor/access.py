"""Who may press an order card's buttons or use the staff commands.

Staff are people: a user id in STAFF_USER_IDS, or an administrator of the staff chat as
Telegram says (getChatMember, asked by the bot and remembered for a minute here, so a burst
of presses asks once). An anonymous admin presses or writes as GroupAnonymousBot and a
channel post comes from a channel: neither is one person (core.admins.is_person), so neither
is staff, whatever rights the group gives them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from core.admins import is_person

# How long getChatMember's answer is trusted: a demoted admin loses the buttons within it.
ADMIN_TTL = 60.0
ADMIN_STATUSES = frozenset({"creator", "administrator"})


@dataclass
class StaffAccess:
    user_ids: frozenset[int]
    chat_id: int
    ttl: float = ADMIN_TTL
    clock: Callable[[], float] = time.monotonic
    _admins: dict[int, tuple[bool, float]] = field(default_factory=dict)

    @property
    def enabled(self) -> bool:
        return bool(self.chat_id)

    def verdict(self, user_id: int | None, sender_chat_id: int | None = None) -> bool | None:
        """True or False when it is known now; None when the staff chat must be asked."""
        if not self.enabled or user_id is None or not is_person(user_id, sender_chat_id):
            return False
        if user_id in self.user_ids:
            return True
        known = self._admins.get(user_id)
        if known is not None and self.clock() - known[1] < self.ttl:
            return known[0]
        return None

    def remember(self, user_id: int, status: str) -> bool:
        """Keep getChatMember's answer (its `status`) for `ttl`; whether it makes staff."""
        admin = status in ADMIN_STATUSES
        self._admins[user_id] = (admin, self.clock())
        return admin
