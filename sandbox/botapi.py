"""The Bot API methods, with Telegram's parameters, rules and error descriptions."""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from sandbox.core import Sandbox
from sandbox.entities import (
    MAX_CAPTION,
    MAX_TEXT,
    Entity,
    EntityParseError,
    MessageEntityError,
    UnsupportedParseMode,
    format_text,
)
from sandbox.media import (
    MAX_BOT_UPLOAD_BYTES,
    MAX_DOWNLOAD_BYTES,
    MediaError,
    Upload,
)
from sandbox.model import (
    CALLBACK_QUERY_TTL,
    BotState,
    Chat,
    Message,
    Photo,
    StoredFile,
    Webhook,
)
from sandbox.urls import UrlError, check_link, parse_url

CHAT_ACTIONS = {
    "typing",
    "upload_photo",
    "record_video",
    "upload_video",
    "record_voice",
    "upload_voice",
    "upload_document",
    "choose_sticker",
    "find_location",
    "record_video_note",
    "upload_video_note",
}

UPDATE_TYPES = {
    "message",
    "edited_message",
    "channel_post",
    "edited_channel_post",
    "business_connection",
    "business_message",
    "edited_business_message",
    "deleted_business_messages",
    "message_reaction",
    "message_reaction_count",
    "inline_query",
    "chosen_inline_result",
    "callback_query",
    "shipping_query",
    "pre_checkout_query",
    "purchased_paid_media",
    "poll",
    "poll_answer",
    "my_chat_member",
    "chat_member",
    "chat_join_request",
    "chat_boost",
    "removed_chat_boost",
}

NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)
QUERY_INVALID = "Bad Request: query is too old and response timeout expired or query ID is invalid"

# Bots may delete messages up to two days old (TDLib's can_delete_message for bots).
DELETE_WINDOW = 2 * 86400
# getUpdates' long-poll cap (telegram-bot-api's LONG_POLL_MAX_TIMEOUT).
LONG_POLL_MAX_TIMEOUT = 50
# Reply markup Telegram refuses as REPLY_MARKUP_TOO_LONG: more than 100 inline buttons or
# more than about 10 KB of JSON (the server's limit is not published; these are the reported).
MAX_INLINE_BUTTONS = 100
MAX_MARKUP_BYTES = 10 * 1024


class ApiError(Exception):
    """A Bot API error answer."""

    def __init__(
        self,
        code: int,
        description: str,
        retry_after: int | None = None,
        migrate_to_chat_id: int | None = None,
    ) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after
        self.migrate_to_chat_id = migrate_to_chat_id

    def to_json(self) -> dict[str, Any]:
        """Telegram's error body."""
        out: dict[str, Any] = {
            "ok": False,
            "error_code": self.code,
            "description": self.description,
        }
        if self.retry_after is not None:
            out["parameters"] = {"retry_after": self.retry_after}
        if self.migrate_to_chat_id is not None:
            out["parameters"] = {"migrate_to_chat_id": self.migrate_to_chat_id}
        return out


def bad(description: str) -> ApiError:
    """A 400 with Telegram's 'Bad Request: ' prefix."""
    return ApiError(400, f"Bad Request: {description}")


@dataclass
class Result:
    """A method's result, with the optional description Telegram adds (setWebhook)."""

    value: Any
    description: str | None = None


class Params:
    """A request's parameters, from the query string, JSON, form or multipart body."""

    def __init__(self, values: dict[str, Any], files: dict[str, Upload] | None = None) -> None:
        self.values = values
        self.files = files or {}

    def raw(self, name: str) -> Any:
        """The value as received (None when absent)."""
        return self.values.get(name)

    def get_str(self, name: str) -> str | None:
        """A string parameter; numbers and booleans read as their JSON text."""
        value = self.values.get(name)
        if value is None:
            return None
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, dict | list):
            return json.dumps(value)
        return str(value)

    def get_int(self, name: str) -> int | None:
        """An integer parameter; absent or unparsable reads as None."""
        value = self.values.get(name)
        if value is None or isinstance(value, bool):
            return None
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        try:
            return int(str(value).strip())
        except ValueError:
            return None

    def get_float(self, name: str) -> float | None:
        """A number parameter."""
        value = self.values.get(name)
        try:
            return None if value is None else float(value)
        except (TypeError, ValueError):
            return None

    def get_clamped(self, name: str, default: int, low: int, high: int) -> int:
        """An integer the way telegram-bot-api reads one (Client::get_integer_arg).

        Absent or empty gives the default; otherwise the leading integer of the text
        (`"2.5"` is 2, garbage is 0), clamped to low..high.
        """
        value = self.values.get(name)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            number = int(value)
        elif isinstance(value, int):
            number = value
        else:
            match = re.match(r"\s*(-?\d+)", str(value))
            number = int(match.group(1)) if match else 0
        return min(max(number, low), high)

    def get_bool(self, name: str) -> bool:
        """A boolean parameter (true/1 are true)."""
        value = self.values.get(name)
        if isinstance(value, bool):
            return value
        if value is None:
            return False
        return str(value).strip().lower() in ("true", "1")

    def get_json(self, name: str, error: str) -> Any:
        """A JSON-serialized parameter (already decoded in a JSON body)."""
        value = self.values.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError as exc:
                raise bad(error) from exc
        return value

    def file(self, value: str | None, name: str) -> Upload | str | None:
        """An InputFile: the upload under `name` or attach://, else the string (file_id/URL)."""
        if name in self.files:
            return self.files[name]
        if value and value.startswith("attach://"):
            return self.files.get(value[len("attach://") :])
        return value


Handler = Callable[["Context", Params], Awaitable[Any]]


@dataclass
class Context:
    """What a method runs against."""

    sandbox: Sandbox
    bot: BotState
    method: str  # canonical name
    http: aiohttp.ClientSession | None = None


# --- shared helpers ------------------------------------------------------------------


def resolve_chat(ctx: Context, params: Params, name: str = "chat_id") -> Chat:
    """The chat a method names; Telegram's errors for missing and unknown chats."""
    raw = params.get_str(name)
    if raw is None or raw.strip() == "":
        raise bad(f"{name} is empty")
    raw = raw.strip()
    chat: Chat | None = None
    if raw.startswith("@"):
        wanted = raw[1:].lower()
        for candidate in ctx.bot.chats.values():
            username = candidate.username or (candidate.user.username if candidate.user else None)
            if username and username.lower() == wanted:
                chat = candidate
                break
    elif re.fullmatch(r"-?\d+", raw):
        chat = ctx.bot.chats.get(int(raw))
    if chat is None:
        raise bad("chat not found")
    return chat


def check_reachable(ctx: Context, chat: Chat) -> None:
    """403 when the user blocked the bot (or the bot was removed from the group); 400 with
    migrate_to_chat_id when the group was upgraded to a supergroup."""
    if chat.migrated_to is not None:
        raise ApiError(
            400,
            "Bad Request: group chat was upgraded to a supergroup chat",
            migrate_to_chat_id=chat.migrated_to,
        )
    if chat.id in ctx.bot.faults.blocked:
        ctx.bot.faults.forbidden += 1
        if chat.type == "private":
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        if chat.type == "supergroup":
            raise ApiError(403, "Forbidden: bot was kicked from the supergroup chat")
        raise ApiError(403, "Forbidden: bot was kicked from the group chat")


def check_flood(ctx: Context, chat: Chat, count: int = 1) -> None:
    """429 with retry_after when Telegram's flood limits are on and exceeded."""
    wait = ctx.bot.faults.flood_wait(ctx.method.lower(), chat.id, chat.type, count)
    if wait:
        raise ApiError(429, f"Too Many Requests: retry after {wait}", retry_after=wait)


def input_entities(params: Params, name: str) -> list[Any] | None:
    """`entities` as the server reads them: JSON that does not parse to an array is ignored."""
    raw = params.raw(name)
    if raw is None or raw == "":
        return None
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            return None  # Client::get_input_entities logs it and goes on without entities
    return raw if isinstance(raw, list) else None


def formatted(
    params: Params, text: str | None, mode_name: str, entities_name: str
) -> tuple[str, list[Entity]]:
    """Apply parse_mode / entities to a text or caption with Telegram's errors."""
    try:
        return format_text(
            text or "", params.get_str(mode_name), input_entities(params, entities_name)
        )
    except UnsupportedParseMode as exc:
        raise bad("unsupported parse_mode") from exc
    except EntityParseError as exc:
        raise bad(f"can't parse entities: {exc}") from exc
    except MessageEntityError as exc:
        raise bad(str(exc)) from exc


def message_text(params: Params) -> tuple[str, list[Entity]]:
    """sendMessage/editMessageText's text: present, non-empty once parsed."""
    raw = params.get_str("text")
    if raw is None or raw == "":
        raise bad("message text is empty")
    text, entities = formatted(params, raw, "parse_mode", "entities")
    if not text:
        # TDLib's fix_formatted_text: nothing left after parsing and trimming.
        raise bad("text must be non-empty")
    return text, entities


def parse_caption(params: Params) -> tuple[str | None, list[Entity]]:
    """Caption with its entities, ≤ 1024 characters."""
    raw = params.get_str("caption")
    if raw is None:
        return None, []
    caption, entities = formatted(params, raw, "parse_mode", "caption_entities")
    # Telegram counts characters (code points, TDLib's utf8_length), not UTF-16 units.
    if len(caption) > MAX_CAPTION:
        raise bad("message caption is too long")
    return (caption or None), (entities if caption else [])


def validate_markup(markup: Any, inline_only: bool = False) -> dict[str, Any] | None:
    """A reply_markup as Telegram accepts it; None removes the keyboard."""
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise bad("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise bad('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array')
        clean_rows = [[_inline_button(button) for button in row] for row in rows]
        clean_rows = [row for row in clean_rows if row]
        if not clean_rows:
            return None
        # What the server (TDLib, then Telegram) refuses once the buttons parsed, in its order.
        for row in clean_rows:
            for button in row:
                if button["text"] == "":
                    raise bad("inline keyboard button text must be non-empty")
                if "url" in button:
                    try:
                        check_link(str(button["url"]))
                    except UrlError as exc:
                        raise bad(f"inline keyboard button {exc}") from exc
                if "callback_data" in button and len(button["callback_data"].encode()) > 64:
                    raise bad("BUTTON_DATA_INVALID")
        markup_json = json.dumps({"inline_keyboard": clean_rows}, ensure_ascii=False)
        too_many = sum(len(row) for row in clean_rows) > MAX_INLINE_BUTTONS
        if too_many or len(markup_json.encode()) > MAX_MARKUP_BYTES:
            raise bad("reply markup is too long")
        return {"inline_keyboard": clean_rows}
    if inline_only:
        raise bad("inline keyboard expected")
    if any(key in markup for key in ("keyboard", "remove_keyboard", "force_reply")):
        return dict(markup)
    raise bad("can't parse reply keyboard markup JSON object")


_BUTTON_ACTIONS = (
    "url",
    "callback_data",
    "callback_game",
    "pay",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "login_url",
    "web_app",
    "copy_text",
)


def _inline_button(button: Any) -> dict[str, Any]:
    """One InlineKeyboardButton as telegram-bot-api parses it (Client::get_inline_keyboard_button).

    An empty `url` or `callback_data` counts as absent, as the server reads optional strings.
    """
    prefix = "can't parse inline keyboard button: "
    if not isinstance(button, dict):
        raise bad(prefix + "InlineKeyboardButton must be an Object")
    if "text" not in button:
        raise bad(prefix + 'Can\'t find field "text"')
    if not isinstance(button["text"], str):
        raise bad(prefix + 'Field "text" must be of type String')
    clean = {k: v for k, v in button.items() if v is not None and v != ""}
    clean["text"] = button["text"]
    for key in ("url", "callback_data"):
        if key in clean:
            if isinstance(clean[key], dict | list | bool):
                raise bad(prefix + f'Field "{key}" must be of type String')
            clean[key] = str(clean[key])
    if not any(key in clean for key in _BUTTON_ACTIONS):
        raise bad(prefix + "Text buttons are unallowed in the inline keyboard")
    return clean


def reply_target(params: Params, chat: Chat) -> Message | None:
    """The message a send replies to, from reply_to_message_id or reply_parameters."""
    message_id = params.get_int("reply_to_message_id")
    allow_missing = params.get_bool("allow_sending_without_reply")
    reply = params.get_json("reply_parameters", "can't parse reply parameters JSON object")
    if isinstance(reply, dict):
        message_id = int(reply.get("message_id") or 0) or message_id
        allow_missing = bool(reply.get("allow_sending_without_reply", allow_missing))
    if not message_id:
        return None
    target = chat.messages.get(message_id)
    if target is None or target.deleted:
        if allow_missing:
            return None
        raise bad("message to be replied not found")
    return target


def bot_message(ctx: Context, chat: Chat, **fields: Any) -> Message:
    """Store a message the bot sent and count it."""
    message = ctx.sandbox.add_message(ctx.bot, chat, ctx.bot.user, **fields)
    ctx.bot.faults.sends_per_chat[chat.id] += 1
    return message


def edited_target(ctx: Context, params: Params) -> tuple[Chat, Message]:
    """The message an edit method names, with Telegram's errors."""
    if params.get_str("inline_message_id"):
        raise bad("message to edit not found")
    if params.get_str("chat_id") is None:
        raise bad("chat_id is empty")
    message_id = params.get_int("message_id")
    if not message_id:
        raise bad("message identifier is not specified")
    chat = resolve_chat(ctx, params)
    message = chat.messages.get(message_id)
    if message is None or message.deleted:
        raise bad("message to edit not found")
    if message.sender.id != ctx.bot.id:
        raise bad("message can't be edited")
    return chat, message


async def _fetch_url(ctx: Context, url: str) -> Upload:
    """Download a file sent by URL, as Telegram's servers would."""
    if ctx.http is None:
        raise bad("failed to get HTTP URL content")
    try:
        async with ctx.http.get(url, timeout=aiohttp.ClientTimeout(total=10)) as response:
            if response.status >= 300:
                raise bad("failed to get HTTP URL content")
            data = await response.read()
            name = urlsplit(url).path.rsplit("/", 1)[-1] or "file"
            return Upload(data, name, response.headers.get("Content-Type"))
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise bad("failed to get HTTP URL content") from exc


def _looks_like_url(value: str) -> bool:
    return bool(re.match(r"^https?://", value, re.IGNORECASE))


async def photo_input(ctx: Context, value: Upload | str | None) -> Photo:
    """The Photo a sendPhoto/InputMediaPhoto names: upload, file_id or URL."""
    files = ctx.sandbox.files
    if value is None or value == "":
        raise bad("there is no photo in the request")
    if isinstance(value, str):
        if _looks_like_url(value):
            value = await _fetch_url(ctx, value)
            if not (value.content_type or "").startswith("image/"):
                raise bad("wrong type of the web page content")
        else:
            stored = files.get(value.strip())
            if stored is None:
                raise bad("wrong file identifier/HTTP URL specified")
            if stored.kind != "photo":
                raise bad("can't use file of type Document as Photo")
            photo = ctx.sandbox.photo_of(stored.file_id)
            if photo is None:
                raise bad("wrong file identifier/HTTP URL specified")
            return photo
    if len(value.data) > MAX_BOT_UPLOAD_BYTES:
        raise ApiError(413, "Request Entity Too Large")
    try:
        photo = await asyncio.get_running_loop().run_in_executor(None, files.add_photo, value.data)
    except MediaError as exc:
        raise bad(str(exc)) from exc
    ctx.sandbox.register_photo(photo)
    return photo


async def document_input(
    ctx: Context, value: Upload | str | None, name: str = "document"
) -> StoredFile:
    """The document a sendDocument/InputMediaDocument names: upload, file_id or URL."""
    files = ctx.sandbox.files
    if value is None or value == "":
        raise bad(f"there is no {name} in the request")
    if isinstance(value, str):
        if _looks_like_url(value):
            value = await _fetch_url(ctx, value)
        else:
            stored = files.get(value.strip())
            if stored is None:
                raise bad("wrong file identifier/HTTP URL specified")
            if stored.kind != "document":
                raise bad("can't use file of type Photo as Document")
            return stored
    if len(value.data) > MAX_BOT_UPLOAD_BYTES:
        raise ApiError(413, "Request Entity Too Large")
    try:
        return files.add_document(value)
    except MediaError as exc:
        raise bad(str(exc)) from exc


# --- methods -------------------------------------------------------------------------


async def get_me(ctx: Context, params: Params) -> Any:
    """getMe."""
    return {
        **ctx.bot.user.to_api(),
        "can_join_groups": True,
        "can_read_all_group_messages": not ctx.bot.privacy_mode,
        "supports_inline_queries": False,
        "can_connect_to_business": False,
        "has_main_web_app": False,
    }


async def log_out(ctx: Context, params: Params) -> Any:
    """logOut / close: nothing to do in a sandbox."""
    return True


async def get_updates(ctx: Context, params: Params) -> Any:
    """getUpdates: long polling with offset confirmation, limit and allowed_updates."""
    bot = ctx.bot
    if bot.webhook is not None:
        raise ApiError(
            409,
            "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook "
            "to delete the webhook first",
        )
    offset = params.get_int("offset") or 0
    # As telegram-bot-api reads them: integers, limit clamped to 1–100, timeout to 0–50 s.
    limit = params.get_clamped("limit", 100, 1, 100)
    timeout = params.get_clamped("timeout", 0, 0, LONG_POLL_MAX_TIMEOUT)
    allowed = params.get_json("allowed_updates", "can't parse allowed_updates JSON object")
    if allowed is not None:
        if not isinstance(allowed, list):
            raise bad("can't parse allowed_updates JSON object")
        bot.allowed_updates = [str(kind) for kind in allowed if str(kind) in UPDATE_TYPES]
    bot.confirm_updates(offset)
    bot.drop_expired()
    # One getUpdates at a time per bot: a new one ends the one still waiting, as Telegram does.
    if bot.poll_waiter is not None and not bot.poll_waiter.done():
        bot.poll_waiter.set_result("conflict")
    if not bot.updates and timeout > 0:
        waiter: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        bot.poll_waiter = waiter
        # Tests (and the curious) can wait for "the bot is polling now" instead of guessing.
        ctx.sandbox.events.publish({"type": "long_poll", "bot_id": bot.id, "timeout": timeout})
        try:
            outcome = await asyncio.wait_for(asyncio.shield(waiter), timeout)
        except TimeoutError:
            outcome = "timeout"
        finally:
            if bot.poll_waiter is waiter:
                bot.poll_waiter = None
        if outcome == "conflict":
            raise ApiError(
                409,
                "Conflict: terminated by other getUpdates request; make sure that only one bot "
                "instance is running",
            )
        if outcome == "webhook":
            raise ApiError(409, "Conflict: terminated by setWebhook request")
        if bot.webhook is not None:
            return []
        bot.drop_expired()
    return [update.to_api() for update in list(bot.updates)[:limit]]


async def set_webhook(ctx: Context, params: Params) -> Any:
    """setWebhook, following telegram-bot-api's Client::process_set_webhook_query.

    One call a second per bot (429 retry after 1), HTTPS on ports 80, 88, 443 or 8443 unless
    the sandbox runs `--local`, secret_token of 0–256 `A-Z a-z 0-9 _ -`.
    """
    bot = ctx.bot
    url = params.get_str("url") or ""
    if not url:
        return await delete_webhook(ctx, params)
    now = time.monotonic()
    if now < bot.next_set_webhook:
        raise ApiError(429, "Too Many Requests: retry after 1", retry_after=1)
    bot.next_set_webhook = now + 1
    secret = params.get_str("secret_token") or ""
    most = 100000 if ctx.sandbox.local else 100
    max_connections = params.get_clamped("max_connections", 40, 1, most)
    drop_pending = params.get_bool("drop_pending_updates")
    hook = bot.webhook
    wanted = (url, secret, max_connections)
    same = hook is not None and (hook.url, hook.secret_token or "", hook.max_connections) == wanted
    if same and not drop_pending:
        _set_allowed_updates(bot, params)
        return Result(True, "Webhook is already set")
    # The server closes the old webhook before it checks the new one: a refused URL leaves none.
    if hook is not None:
        bot.webhook = None
        bot.webhook_wakeup.set()
    if drop_pending:
        bot.updates.clear()
    try:
        parsed = parse_url(url, default_protocol="https")
    except UrlError as exc:
        raise bad("invalid webhook URL specified") from exc
    if len(secret) > 256:
        raise bad("secret token is too long")
    if not re.fullmatch(r"[A-Za-z0-9_-]*", secret):
        raise bad("secret token contains unallowed characters")
    if not ctx.sandbox.local:
        if parsed.protocol != "https":
            raise bad("bad webhook: An HTTPS URL must be provided for webhook")
        if parsed.port not in (80, 88, 443, 8443):
            raise bad("bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443")
    _set_allowed_updates(bot, params)
    bot.webhook = Webhook(
        url=url,
        target=url if "://" in url else f"https://{url}",
        secret_token=secret or None,
        max_connections=max_connections,
        ip_address=params.get_str("ip_address"),
    )
    if bot.poll_waiter is not None and not bot.poll_waiter.done():
        bot.poll_waiter.set_result("webhook")
    bot.webhook_wakeup.set()
    ctx.sandbox.start_webhook(bot)
    return Result(True, "Webhook was set")


def _set_allowed_updates(bot: BotState, params: Params) -> None:
    allowed = params.get_json("allowed_updates", "can't parse allowed_updates JSON object")
    if allowed is not None:
        if not isinstance(allowed, list):
            raise bad("can't parse allowed_updates JSON object")
        bot.allowed_updates = [str(kind) for kind in allowed if str(kind) in UPDATE_TYPES]


async def delete_webhook(ctx: Context, params: Params) -> Any:
    """deleteWebhook (drop_pending_updates)."""
    bot = ctx.bot
    if params.get_bool("drop_pending_updates"):
        bot.updates.clear()
    if bot.webhook is None:
        return Result(True, "Webhook is already deleted")
    bot.webhook = None
    bot.webhook_wakeup.set()
    return Result(True, "Webhook was deleted")


async def get_webhook_info(ctx: Context, params: Params) -> Any:
    """getWebhookInfo."""
    bot = ctx.bot
    bot.drop_expired()
    hook = bot.webhook
    info: dict[str, Any] = {
        "url": hook.url if hook else "",
        "has_custom_certificate": False,
        "pending_update_count": len(bot.updates),
    }
    if hook is not None:
        if hook.ip_address:
            info["ip_address"] = hook.ip_address
        if hook.last_error_date is not None:
            info["last_error_date"] = hook.last_error_date
            info["last_error_message"] = hook.last_error_message
        info["max_connections"] = hook.max_connections
        if bot.allowed_updates:
            info["allowed_updates"] = list(bot.allowed_updates)
    return info


async def send_message(ctx: Context, params: Params) -> Any:
    """sendMessage."""
    text, entities = message_text(params)
    # Telegram counts characters (code points, TDLib's utf8_length), not UTF-16 units.
    if len(text) > MAX_TEXT:
        raise bad("message is too long")
    markup = validate_markup(
        params.get_json("reply_markup", "can't parse reply keyboard markup JSON object")
    )
    chat = resolve_chat(ctx, params)
    reply_to = reply_target(params, chat)
    check_reachable(ctx, chat)
    check_flood(ctx, chat)
    message = bot_message(
        ctx, chat, text=text, entities=entities, reply_markup=markup, reply_to=reply_to
    )
    return message.to_api()


async def send_photo(ctx: Context, params: Params) -> Any:
    """sendPhoto (upload, file_id or URL; re-encoded into Telegram's sizes)."""
    caption, caption_entities = parse_caption(params)
    markup = validate_markup(
        params.get_json("reply_markup", "can't parse reply keyboard markup JSON object")
    )
    value = params.file(params.get_str("photo"), "photo")
    upload_too_big = isinstance(value, Upload) and len(value.data) > MAX_BOT_UPLOAD_BYTES
    if upload_too_big:
        raise ApiError(413, "Request Entity Too Large")
    photo = await photo_input(ctx, value)
    chat = resolve_chat(ctx, params)
    reply_to = reply_target(params, chat)
    check_reachable(ctx, chat)
    check_flood(ctx, chat)
    message = bot_message(
        ctx,
        chat,
        photo=photo,
        caption=caption,
        caption_entities=caption_entities,
        reply_markup=markup,
        reply_to=reply_to,
    )
    return message.to_api()


async def send_document(ctx: Context, params: Params) -> Any:
    """sendDocument (upload, file_id or URL; bytes kept as sent)."""
    caption, caption_entities = parse_caption(params)
    markup = validate_markup(
        params.get_json("reply_markup", "can't parse reply keyboard markup JSON object")
    )
    document = await document_input(ctx, params.file(params.get_str("document"), "document"))
    chat = resolve_chat(ctx, params)
    reply_to = reply_target(params, chat)
    check_reachable(ctx, chat)
    check_flood(ctx, chat)
    message = bot_message(
        ctx,
        chat,
        document=document,
        caption=caption,
        caption_entities=caption_entities,
        reply_markup=markup,
        reply_to=reply_to,
    )
    return message.to_api()


async def send_media_group(ctx: Context, params: Params) -> Any:
    """sendMediaGroup: photos or documents sent as one album."""
    if params.raw("media") is None:
        raise bad('parameter "media" is required')
    media = params.get_json("media", "can't parse media JSON object")
    if media is None or media == []:
        raise bad("there are no messages to send")
    if not isinstance(media, list):
        raise bad("can't parse media JSON object")
    if len(media) > 10:
        raise bad("too many messages to send as an album")
    kinds = []
    for item in media:
        if not isinstance(item, dict):
            raise bad("can't parse InputMedia: InputMedia must be an Object")
        kind = item.get("type")
        if kind in ("animation", "sticker"):
            raise bad(f"can't parse InputMedia: type \"{kind}\" can't be used in sendMediaGroup")
        if kind not in ("photo", "document"):
            raise bad(f'can\'t parse InputMedia: unsupported media type "{kind}"')
        kinds.append(kind)
    if "document" in kinds and "photo" in kinds:
        raise bad("document can't be mixed with other media types")
    prepared: list[dict[str, Any]] = []
    for position, item in enumerate(media, start=1):
        item_params = Params(
            {
                "caption": item.get("caption"),
                "parse_mode": item.get("parse_mode"),
                "caption_entities": item.get("caption_entities"),
            }
        )
        caption, caption_entities = parse_caption(item_params)
        value = params.file(str(item.get("media") or ""), "\0")
        if value is None:
            raise bad("can't parse InputMedia: media not found")
        try:
            if item["type"] == "photo":
                content: dict[str, Any] = {"photo": await photo_input(ctx, value)}
            else:
                content = {"document": await document_input(ctx, value)}
        except ApiError as exc:
            server_side = ("IMAGE_PROCESS_FAILED", "PHOTO_INVALID_DIMENSIONS")
            if any(code in exc.description for code in server_side):
                reason = exc.description.removeprefix("Bad Request: ")
                raise bad(
                    f'failed to send message #{position} with the error message "{reason}"'
                ) from exc
            raise
        prepared.append({**content, "caption": caption, "caption_entities": caption_entities})
    chat = resolve_chat(ctx, params)
    reply_to = reply_target(params, chat)
    check_reachable(ctx, chat)
    check_flood(ctx, chat, count=len(prepared))
    # As TDLib does, a single item goes out as an ordinary message outside any album.
    group_id = str(secrets.randbits(63)) if len(prepared) > 1 else None
    messages = [
        bot_message(ctx, chat, media_group_id=group_id, reply_to=reply_to, **fields)
        for fields in prepared
    ]
    return [message.to_api() for message in messages]


async def edit_message_text(ctx: Context, params: Params) -> Any:
    """editMessageText: text, entities and markup replaced; identical content refused."""
    text, entities = message_text(params)
    if len(text) > MAX_TEXT:
        raise bad("MESSAGE_TOO_LONG")
    markup = validate_markup(
        params.get_json("reply_markup", "can't parse reply keyboard markup JSON object"),
        inline_only=True,
    )
    chat, message = edited_target(ctx, params)
    if message.text is None:
        raise bad("there is no text in the message to edit")
    same_entities = [e.to_api() for e in entities] == [e.to_api() for e in message.entities]
    if message.text == text and same_entities and message.reply_markup == markup:
        raise bad(NOT_MODIFIED[len("Bad Request: ") :])
    check_reachable(ctx, chat)
    check_flood(ctx, chat)
    message.text = text
    message.entities = entities
    message.reply_markup = markup
    message.edit_date = int(ctx.sandbox.now())
    ctx.sandbox.message_changed(ctx.bot, message)
    return message.to_api()


async def edit_message_caption(ctx: Context, params: Params) -> Any:
    """editMessageCaption."""
    caption, caption_entities = parse_caption(params)
    markup = validate_markup(
        params.get_json("reply_markup", "can't parse reply keyboard markup JSON object"),
        inline_only=True,
    )
    chat, message = edited_target(ctx, params)
    if message.photo is None and message.document is None:
        raise bad("there is no caption in the message to edit")
    same_entities = [e.to_api() for e in caption_entities] == [
        e.to_api() for e in message.caption_entities
    ]
    if message.caption == caption and same_entities and message.reply_markup == markup:
        raise bad(NOT_MODIFIED[len("Bad Request: ") :])
    check_reachable(ctx, chat)
    check_flood(ctx, chat)
    message.caption = caption
    message.caption_entities = caption_entities
    message.reply_markup = markup
    message.edit_date = int(ctx.sandbox.now())
    ctx.sandbox.message_changed(ctx.bot, message)
    return message.to_api()


async def edit_message_reply_markup(ctx: Context, params: Params) -> Any:
    """editMessageReplyMarkup: no reply_markup removes the keyboard."""
    markup = validate_markup(
        params.get_json("reply_markup", "can't parse reply keyboard markup JSON object"),
        inline_only=True,
    )
    chat, message = edited_target(ctx, params)
    if message.reply_markup == markup:
        raise bad(NOT_MODIFIED[len("Bad Request: ") :])
    check_reachable(ctx, chat)
    check_flood(ctx, chat)
    message.reply_markup = markup
    message.edit_date = int(ctx.sandbox.now())
    ctx.sandbox.message_changed(ctx.bot, message)
    return message.to_api()


async def delete_message(ctx: Context, params: Params) -> Any:
    """deleteMessage."""
    if params.get_str("chat_id") is None:
        raise bad("chat_id is empty")
    message_id = params.get_int("message_id")
    if not message_id:
        raise bad("message identifier is not specified")
    chat = resolve_chat(ctx, params)
    message = chat.messages.get(message_id)
    if message is None or message.deleted:
        raise bad("message to delete not found")
    if ctx.sandbox.now() >= message.date + DELETE_WINDOW:
        raise bad("message can't be deleted")
    message.deleted = True
    ctx.sandbox.message_changed(ctx.bot, message, kind="delete")
    return True


async def delete_messages(ctx: Context, params: Params) -> Any:
    """deleteMessages: deletes those it finds, as Telegram skips the missing ones."""
    chat = resolve_chat(ctx, params)
    ids = params.get_json("message_ids", "can't parse message identifiers JSON object")
    if not isinstance(ids, list) or not 1 <= len(ids) <= 100:
        raise bad("message identifiers are not specified")
    found = [chat.messages.get(int(message_id)) for message_id in ids]
    messages = [m for m in found if m is not None and not m.deleted]
    # Like deleteMessage, all or nothing once one of them is past the bots' two days.
    if any(ctx.sandbox.now() >= m.date + DELETE_WINDOW for m in messages):
        raise bad("message can't be deleted")
    for message in messages:
        message.deleted = True
        ctx.sandbox.message_changed(ctx.bot, message, kind="delete")
    return True


async def send_chat_action(ctx: Context, params: Params) -> Any:
    """sendChatAction."""
    action = (params.get_str("action") or "").strip()
    if not action:
        raise bad("action is empty")
    if action not in CHAT_ACTIONS:
        raise bad("wrong parameter action in request")
    chat = resolve_chat(ctx, params)
    check_reachable(ctx, chat)
    ctx.sandbox.events.publish(
        {"type": "chat_action", "bot_id": ctx.bot.id, "chat_id": chat.id, "action": action}
    )
    return True


async def get_file(ctx: Context, params: Params) -> Any:
    """getFile: a file_path to download from, refused above 20 MB."""
    file_id = (params.get_str("file_id") or "").strip()
    if not file_id:
        raise bad("file_id is empty")
    stored = ctx.sandbox.files.get(file_id)
    if stored is None:
        raise bad("invalid file_id")
    if stored.size > MAX_DOWNLOAD_BYTES:
        raise bad("file is too big")
    return {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "file_size": stored.size,
        "file_path": ctx.sandbox.files.assign_path(stored),
    }


async def answer_callback_query(ctx: Context, params: Params) -> Any:
    """answerCallbackQuery: once per query."""
    query_id = (params.get_str("callback_query_id") or "").strip()
    query = ctx.bot.callback_queries.get(query_id)
    if query is None or query.answered:
        raise bad(QUERY_INVALID[len("Bad Request: ") :])
    if ctx.sandbox.now() - query.created > CALLBACK_QUERY_TTL:
        raise bad(QUERY_INVALID[len("Bad Request: ") :])
    text = params.get_str("text")
    if text is not None and len(text) > 200:
        raise bad("MESSAGE_TOO_LONG")
    answer = {
        "text": text,
        "show_alert": params.get_bool("show_alert"),
        "url": params.get_str("url"),
        "cache_time": params.get_int("cache_time") or 0,
    }
    ctx.sandbox.answer_query(ctx.bot, query, answer)
    return True


def _scope_key(ctx: Context, params: Params) -> str:
    scope = params.get_json("scope", "can't parse BotCommandScope JSON object")
    if scope is None:
        return "default"
    if not isinstance(scope, dict):
        raise bad("can't parse BotCommandScope JSON object")
    kind = scope.get("type")
    if kind in ("default", "all_private_chats", "all_group_chats", "all_chat_administrators"):
        return str(kind)
    if kind in ("chat", "chat_administrators", "chat_member"):
        if scope.get("chat_id") in (None, ""):
            raise bad("chat_id is empty")
        # Like Telegram, a scope names a chat the bot knows: "chat not found" otherwise.
        chat = ctx.bot.chats.get(int(scope["chat_id"])) if _is_int(scope["chat_id"]) else None
        if chat is None:
            raise bad("chat not found")
        key = f"{kind}:{chat.id}"
        if kind == "chat_member":
            if not scope.get("user_id"):
                raise bad("user not found")
            key += f":{scope['user_id']}"
        return key
    raise bad("unsupported bot command scope type")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) or bool(re.fullmatch(r"-?\d+", str(value)))


def _language(params: Params) -> str:
    code = (params.get_str("language_code") or "").strip()
    if code and not re.fullmatch(r"[a-z]{2}", code):
        raise bad("invalid language code specified")
    return code


async def set_my_commands(ctx: Context, params: Params) -> Any:
    """setMyCommands (keyed by scope and language_code)."""
    commands = params.get_json("commands", "can't parse commands JSON object") or []
    if not isinstance(commands, list):
        raise bad("can't parse commands JSON object")
    if len(commands) > 100:
        raise bad("BOT_COMMANDS_TOO_MUCH")
    clean = []
    for item in commands:
        if not isinstance(item, dict):
            raise bad("can't parse BotCommand JSON object")
        name = str(item.get("command") or "").strip().removeprefix("/")
        description = str(item.get("description") or "").strip()
        if not re.fullmatch(r"[a-z0-9_]{1,32}", name):
            raise bad("BOT_COMMAND_INVALID")
        if not 1 <= len(description) <= 256:
            raise bad("BOT_COMMAND_DESCRIPTION_INVALID")
        clean.append({"command": name, "description": description})
    key = (_scope_key(ctx, params), _language(params))
    if clean:
        ctx.bot.commands[key] = clean
    else:
        ctx.bot.commands.pop(key, None)
    return True


async def get_my_commands(ctx: Context, params: Params) -> Any:
    """getMyCommands: exactly that scope and language, no fallback."""
    return list(ctx.bot.commands.get((_scope_key(ctx, params), _language(params)), []))


async def delete_my_commands(ctx: Context, params: Params) -> Any:
    """deleteMyCommands."""
    ctx.bot.commands.pop((_scope_key(ctx, params), _language(params)), None)
    return True


async def get_chat(ctx: Context, params: Params) -> Any:
    """getChat: the ChatFullInfo fields the sandbox knows."""
    chat = resolve_chat(ctx, params)
    return {
        **chat.to_api(),
        "accent_color_id": 0,
        "max_reaction_count": 11,
        "accepted_gift_types": {
            "unlimited_gifts": False,
            "limited_gifts": False,
            "unique_gifts": False,
            "premium_subscription": False,
            "gifts_from_channels": False,
        },
    }


METHODS: dict[str, tuple[str, Handler]] = {
    name.lower(): (name, handler)
    for name, handler in {
        "getMe": get_me,
        "logOut": log_out,
        "close": log_out,
        "getUpdates": get_updates,
        "setWebhook": set_webhook,
        "deleteWebhook": delete_webhook,
        "getWebhookInfo": get_webhook_info,
        "sendMessage": send_message,
        "sendPhoto": send_photo,
        "sendDocument": send_document,
        "sendMediaGroup": send_media_group,
        "editMessageText": edit_message_text,
        "editMessageCaption": edit_message_caption,
        "editMessageReplyMarkup": edit_message_reply_markup,
        "deleteMessage": delete_message,
        "deleteMessages": delete_messages,
        "sendChatAction": send_chat_action,
        "getFile": get_file,
        "answerCallbackQuery": answer_callback_query,
        "setMyCommands": set_my_commands,
        "getMyCommands": get_my_commands,
        "deleteMyCommands": delete_my_commands,
        "getChat": get_chat,
    }.items()
}


async def call(ctx: Context, params: Params) -> dict[str, Any]:
    """Run a method and build Telegram's JSON answer (errors included)."""
    _, handler = METHODS[ctx.method.lower()]
    try:
        result = await handler(ctx, params)
    except ApiError as exc:
        ctx.bot.faults.errors[str(exc.code)] += 1
        return exc.to_json()
    if isinstance(result, Result):
        body: dict[str, Any] = {"ok": True, "result": result.value}
        if result.description:
            body["description"] = result.description
        return body
    return {"ok": True, "result": result}
