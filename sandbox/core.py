"""The Sandbox: the shared operations both the Bot API and the control API perform."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from sandbox.bots import MESSAGE_UPDATE_TTL, BotState
from sandbox.entities import Entity, format_text
from sandbox.events import EventLog
from sandbox.media import FileStore
from sandbox.model import Chat, Clock, Message, Photo, User
from sandbox.payments.model import DEFAULT_PROVIDER_TOKEN

if TYPE_CHECKING:
    import aiohttp

DEFAULT_TOKEN = "123456789:sandbox-token"
DEFAULT_BOT_USERNAME = "pedidos_sandbox_bot"
DEFAULT_BOT_NAME = "Pedidos Sandbox"


class ControlError(Exception):
    """A control API request that cannot be done (status and message for the JSON answer)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def chat_type_for(chat_id: int) -> str:
    """private for users, supergroup for -100… ids, group for other negative ids."""
    if chat_id > 0:
        return "private"
    if chat_id <= -1_000_000_000_000:
        return "supergroup"
    return "group"


class Sandbox:
    """The emulated Telegram: bots, users, chats, files and the event log."""

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        bot_username: str = DEFAULT_BOT_USERNAME,
        bot_name: str = DEFAULT_BOT_NAME,
        local: bool = False,
        provider_tokens: Iterable[str] = (),
    ) -> None:
        self.primary_spec = (token, bot_username, bot_name)
        # Provider tokens accepted besides the default test one, reset or not.
        self.started_provider_tokens = {DEFAULT_PROVIDER_TOKEN, *provider_tokens}
        # Like `telegram-bot-api --local`: plain-http webhooks on any port are allowed.
        self.local = local
        self.clock = Clock()
        self.base_url = ""
        self.files = FileStore()
        self.events = EventLog()
        self.users: dict[int, User] = {}
        self.bots: dict[str, BotState] = {}
        self.photos: dict[str, Photo] = {}
        self.http: aiohttp.ClientSession | None = None
        self._default_timing()
        self._reset_state()

    # --- lifecycle ---------------------------------------------------------------

    def _reset_state(self) -> None:
        for bot in self.bots.values():
            if bot.webhook_task is not None:
                bot.webhook_task.cancel()
            if bot.poll_waiter is not None and not bot.poll_waiter.done():
                bot.poll_waiter.set_result("reset")
            for query in bot.callback_queries.values():
                query.done.set()
            bot.payments.close()
        self.users = {}
        self.bots = {}
        self.add_bot(*self.primary_spec)

    def reset(self) -> None:
        """Forget everything but the primary bot's identity."""
        self._reset_state()
        self.files.clear()
        self.photos.clear()
        self.clock.offset = 0.0
        self._default_timing()
        self.events.publish({"type": "reset"})

    def _default_timing(self) -> None:
        # telegram-bot-api's WebhookActor: a failed update is retried at once, then after
        # 2, 4, 8… s, up to a random 60–120 s (WEBHOOK_MAX_RESEND_TIMEOUT); tests scale it down.
        self.webhook_retry_delay = 1.0
        self.webhook_retry_max = 60.0
        self.webhook_timeout = 10.0
        # Telegram gives the bot 10 s to answer a pre-checkout query; tests may shorten it.
        self.precheckout_timeout = 10.0
        self.shipping_timeout = 10.0
        # Provider tokens the sandbox accepts for fiat invoices (BotFather gives real ones).
        self.provider_tokens = set(self.started_provider_tokens)

    def now(self) -> float:
        """Unix time as the sandbox sees it (moved forward by `/clock`)."""
        return self.clock.now()

    def close(self) -> None:
        """Remove the temp dir."""
        self.files.close()

    def register_photo(self, photo: Photo) -> None:
        """Remember which Photo each size's file_id belongs to (for resending by file_id)."""
        for size in photo.sizes:
            self.photos[size.file_id] = photo

    def photo_of(self, file_id: str) -> Photo | None:
        """The Photo one of whose sizes has this file_id."""
        return self.photos.get(file_id)

    def start_webhook(self, bot: BotState) -> None:
        """Make sure the bot's webhook delivery task runs."""
        from sandbox.webhook import deliver_loop

        if bot.webhook_task is None or bot.webhook_task.done():
            bot.webhook_task = asyncio.get_running_loop().create_task(deliver_loop(self, bot))

    @property
    def primary(self) -> BotState:
        """The bot whose token the sandbox was started with."""
        return self.bots[self.primary_spec[0]]

    def add_bot(self, token: str, username: str, first_name: str) -> BotState:
        """Register a bot token (idempotent)."""
        if token not in self.bots:
            self.bots[token] = BotState(token, username, first_name, self.clock)
        return self.bots[token]

    def bot_by_id(self, bot_id: int | str | None) -> BotState:
        """A bot by user id or token; the primary bot when None."""
        if bot_id in (None, ""):
            return self.primary
        for bot in self.bots.values():
            if str(bot.id) == str(bot_id) or bot.token == bot_id:
                return bot
        raise ControlError(404, f"no bot {bot_id}")

    # --- users and chats ---------------------------------------------------------

    def upsert_user(self, spec: dict[str, Any]) -> User:
        """The user with spec['id'], created or updated from the given fields."""
        try:
            user_id = int(spec["id"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ControlError(400, "user needs an integer id") from exc
        if user_id <= 0:
            raise ControlError(400, "user ids are positive")
        user = self.users.get(user_id)
        if user is None:
            user = User(id=user_id, first_name=str(spec.get("first_name") or f"User {user_id}"))
            self.users[user_id] = user
        for key in ("first_name", "last_name", "username", "language_code"):
            if spec.get(key) is not None:
                setattr(user, key, str(spec[key]))
        if spec.get("is_bot") is not None:
            user.is_bot = bool(spec["is_bot"])
        return user

    def ensure_chat(
        self,
        bot: BotState,
        chat_id: int,
        title: str | None = None,
        user: User | None = None,
        chat_type: str | None = None,
        username: str | None = None,
    ) -> Chat:
        """The bot's chat with this id, created when new."""
        chat = bot.chats.get(chat_id)
        kind = chat_type or chat_type_for(chat_id)
        if chat is None:
            if kind == "private":
                if user is None:
                    user = self.users.get(chat_id) or self.upsert_user({"id": chat_id})
                if user.id != chat_id:
                    raise ControlError(400, "a private chat's id is its user's id")
            chat = Chat(id=chat_id, type=kind, title=title, user=user, username=username)
            bot.chats[chat_id] = chat
            self.events.publish(
                {"type": "chat", "bot_id": bot.id, "chat_id": chat_id, "chat": self.chat_info(chat)}
            )
        else:
            if title:
                chat.title = title
            if username:
                chat.username = username
        return chat

    def chat_info(self, chat: Chat) -> dict[str, Any]:
        """A chat as the control API lists it."""
        last = next(
            (m for m in reversed(list(chat.messages.values())) if not m.deleted),
            None,
        )
        return {
            **chat.to_api(),
            "title": chat.title if chat.type != "private" else None,
            "user": chat.user.to_api() if chat.user else None,
            "message_count": len(chat.messages),
            "last_message": last.preview() if last else None,
            "last_date": last.date if last else None,
        }

    # --- messages ----------------------------------------------------------------

    def add_message(self, bot: BotState, chat: Chat, sender: User, **fields: Any) -> Message:
        """Store a new message with the chat's next id and tell the watchers."""
        message = Message(
            message_id=chat.take_message_id(),
            chat=chat,
            sender=sender,
            date=int(self.now()),
            **fields,
        )
        message.history.append(message.snapshot())
        chat.messages[message.message_id] = message
        self.events.publish(
            {"type": "message", "bot_id": bot.id, "chat_id": chat.id},
            message=self._renderer(message),
        )
        return message

    def _renderer(self, message: Message) -> Callable[[], dict[str, Any]]:
        """The message's transcript as of now, built only if an event reader asks for it."""
        history_length = len(message.history)
        deleted = message.deleted

        def render() -> dict[str, Any]:
            data = message.to_transcript(self.base_url)
            # Show the message as it was when the event happened, not as it is on reading.
            if len(message.history) > history_length:
                shown = message.history[history_length - 1]
                data["text"] = shown.text if message.text is not None else None
                data["caption"] = shown.caption
                data["reply_markup"] = shown.reply_markup
                data["edits"] = data["edits"][:history_length]
                data["history"] = data["history"][:history_length]
            data["deleted"] = deleted
            return data

        return render

    def message_changed(self, bot: BotState, message: Message, kind: str = "edit") -> None:
        """Record an edit (or deletion) in the history and tell the watchers."""
        if kind == "edit":
            message.history.append(message.snapshot())
        self.events.publish(
            {"type": kind, "bot_id": bot.id, "chat_id": message.chat.id},
            message=self._renderer(message),
        )

    def deliver(self, bot: BotState, message: Message) -> int | None:
        """Queue the user's message as an update, as privacy mode lets it through."""
        if bot.privacy_mode and message.chat.type != "private" and not self._bot_sees(bot, message):
            return None
        # Telegram drops a message update a day after the message's date.
        update = bot.push_update(
            "message",
            message.to_api(),
            queue=f"chat:{message.chat.id}",
            ttl=message.date + MESSAGE_UPDATE_TTL - self.now(),
        )
        return update.update_id if update else None

    def _bot_sees(self, bot: BotState, message: Message) -> bool:
        """Privacy mode: commands, replies to the bot and mentions of it reach the bot."""
        text = message.text or message.caption or ""
        if text.startswith("/"):
            return True
        if message.reply_to is not None and message.reply_to.sender.id == bot.id:
            return True
        return f"@{bot.user.username}".lower() in text.lower()

    def user_text(
        self,
        bot: BotState,
        chat: Chat,
        user: User,
        text: str,
        reply_to: Message | None = None,
        entities: list[Entity] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> tuple[Message, int | None]:
        """A user's text message, with the entities Telegram detects, sent to the bot
        (`extra`: more Message fields, e.g. sender_chat for anonymous admins and channels)."""
        if entities is None:
            text, entities = format_text(text)
        if not text:
            raise ControlError(400, "message text is empty")
        message = self.add_message(
            bot, chat, user, text=text, entities=entities, reply_to=reply_to, extra=extra or {}
        )
        return message, self.deliver(bot, message)

    def user_edit(self, bot: BotState, message: Message, text: str) -> int | None:
        """The user edits their text message: an `edited_message` update, as privacy allows."""
        if message.from_bot or message.text is None:
            raise ControlError(400, "only a user's text message can be edited")
        text, entities = format_text(text)
        if not text:
            raise ControlError(400, "message text is empty")
        message.text, message.entities = text, entities
        message.edit_date = int(self.now())
        self.message_changed(bot, message)
        if bot.privacy_mode and message.chat.type != "private" and not self._bot_sees(bot, message):
            return None
        update = bot.push_update(
            "edited_message",
            message.to_api(),
            queue=f"chat:{message.chat.id}",
            ttl=message.edit_date + MESSAGE_UPDATE_TTL - self.now(),
        )
        return update.update_id if update else None

    def migrate(self, bot: BotState, chat: Chat, user: User, new_id: int) -> Chat:
        """A group upgraded to a supergroup by `user`: Telegram's two service messages, one
        in each chat, and every later call to the old id fails with migrate_to_chat_id."""
        if chat.type != "group" or chat.migrated_to is not None:
            raise ControlError(400, "only a basic group can be upgraded, once")
        if new_id in bot.chats:
            raise ControlError(400, f"chat {new_id} exists already")
        supergroup = self.ensure_chat(bot, new_id, title=chat.title, chat_type="supergroup")
        chat.migrated_to = new_id
        for where, field_name, value in (
            (chat, "migrate_to_chat_id", new_id),
            (supergroup, "migrate_from_chat_id", chat.id),
        ):
            message = self.add_message(bot, where, user, extra={field_name: value})
            bot.push_update(
                "message", message.to_api(), queue=f"chat:{where.id}", ttl=MESSAGE_UPDATE_TTL
            )
        return supergroup
