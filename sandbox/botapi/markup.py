"""reply_markup as telegram-bot-api parses it and as the server refuses it."""

from __future__ import annotations

import json
from typing import Any

from sandbox.botapi.params import bad
from sandbox.urls import UrlError, check_link

# more than about 10 KB of JSON (the server's limit is not published; these are the reported).
MAX_INLINE_BUTTONS = 100
MAX_MARKUP_BYTES = 10 * 1024


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
