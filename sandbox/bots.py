"""A bot's state: its chats, its update queue and how updates leave it, its webhook."""

from __future__ import annotations

import asyncio
import copy
import random
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from sandbox.faults import Faults
from sandbox.model import Chat, Clock, User
from sandbox.payments.model import PaymentBook

# Update types delivered when allowed_updates was never set (Telegram leaves these out).
DEFAULT_EXCLUDED_UPDATES = {"chat_member", "message_reaction", "message_reaction_count"}

# How long Telegram keeps an update for the bot (telegram-bot-api Client.cpp add_update calls):
# a message for a day after its date, a callback query for 150 s.
MESSAGE_UPDATE_TTL = 86400
CALLBACK_QUERY_TTL = 150


@dataclass
class Update:
    """An update waiting for getUpdates or webhook delivery."""

    update_id: int
    kind: str
    payload: dict[str, Any]
    # Webhook delivery keeps order only within one queue (a chat; a user's button presses).
    queue: str = ""
    expires_at: float = float("inf")  # sandbox unix time after which Telegram drops it
    # Webhook retry state, as telegram-bot-api's WebhookActor keeps it per update.
    delay: float = 1.0
    fail_count: int = 0
    wakeup_at: float = 0.0  # loop time before which it is not retried

    def to_api(self) -> dict[str, Any]:
        """The Bot API Update object."""
        return {"update_id": self.update_id, self.kind: self.payload}


@dataclass
class CallbackQuery:
    """A button press waiting for answerCallbackQuery."""

    id: str
    chat_id: int
    message_id: int
    user: User
    data: str
    created: float  # sandbox unix time of the press
    answered: bool = False
    answer: dict[str, Any] | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass
class Webhook:
    """The webhook a bot set, and how its delivery is going."""

    url: str  # as the bot gave it
    target: str = ""  # what is POSTed to (TDLib reads a URL without a scheme as https)
    secret_token: str | None = None
    max_connections: int = 40
    ip_address: str | None = None
    last_error_date: int | None = None
    last_error_message: str | None = None
    deliveries: int = 0
    failures: int = 0


class BotState:
    """Everything that belongs to one bot token: identity, chats, updates, webhook, faults."""

    def __init__(
        self, token: str, username: str, first_name: str, clock: Clock | None = None
    ) -> None:
        bot_id = int(token.split(":", 1)[0])
        self.clock = clock or Clock()
        self.token = token
        self.user = User(id=bot_id, first_name=first_name, is_bot=True, username=username)
        self.privacy_mode = False
        self.chats: dict[int, Chat] = {}
        self.updates: deque[Update] = deque()
        # Telegram's update queue starts at a random id (TDLib's TQueue), never at 1: a bot
        # must not assume small or predictable update_ids.
        self.next_update_id = random.randint(2_000_001, 1_000_000_000)
        self.allowed_updates: list[str] | None = None
        self.webhook: Webhook | None = None
        self.webhook_wakeup = asyncio.Event()
        self.poll_waiter: asyncio.Future[str] | None = None
        self.commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.callback_queries: dict[str, CallbackQuery] = {}
        self.faults = Faults()
        self.payments = PaymentBook()
        self.webhook_task: asyncio.Task[None] | None = None
        self.next_set_webhook = 0.0  # monotonic time before which setWebhook is 429

    @property
    def id(self) -> int:
        """The bot's user id (the token's prefix)."""
        return self.user.id

    def wants(self, kind: str) -> bool:
        """Whether allowed_updates lets an update of this kind be queued."""
        if not self.allowed_updates:
            return kind not in DEFAULT_EXCLUDED_UPDATES
        return kind in self.allowed_updates

    def push_update(
        self, kind: str, payload: dict[str, Any], queue: str, ttl: float
    ) -> Update | None:
        """Queue an update and wake whoever waits for it; None when allowed_updates skips it.

        `queue` orders webhook delivery (per chat, or per user for button presses); the update
        is dropped `ttl` seconds from now if nobody has taken it by then.
        """
        if not self.wants(kind):
            return None
        update = Update(
            self.next_update_id,
            kind,
            copy.deepcopy(payload),
            queue=queue,
            expires_at=self.clock.now() + ttl,
        )
        self.next_update_id += 1
        self.updates.append(update)
        if self.poll_waiter is not None and not self.poll_waiter.done():
            self.poll_waiter.set_result("update")
        self.webhook_wakeup.set()
        return update

    def drop_expired(self) -> int:
        """Forget updates past their time, as Telegram's queue does; how many went."""
        now = self.clock.now()
        expired = [update for update in self.updates if update.expires_at <= now]
        for update in expired:
            self.updates.remove(update)
        return len(expired)

    def confirm_updates(self, offset: int) -> None:
        """Forget updates below `offset` (or all but the last -offset ones)."""
        if offset > 0:
            while self.updates and self.updates[0].update_id < offset:
                self.updates.popleft()
        elif offset < 0:
            keep = -offset
            while len(self.updates) > keep:
                self.updates.popleft()
