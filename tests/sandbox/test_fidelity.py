"""The sandbox keeps the rules of Telegram's own Bot API server (tdlib/telegram-bot-api's
Client.cpp and WebhookActor.cpp, TDLib's MessageEntity.cpp and ReplyMarkup.cpp), exercised with
plain `requests` and an unmodified python-telegram-bot `Bot`."""

from __future__ import annotations

import json
import secrets
import threading
import time
from typing import Any

import pytest
import requests
from telegram import Bot
from telegram.error import BadRequest

from sandbox.client import SandboxClient
from tests.sandbox.conftest import RawApi


def other_bot(sandbox: SandboxClient) -> RawApi:
    """A bot of its own, with its own one-setWebhook-a-second budget."""
    token = f"{secrets.randbelow(10**9) + 10**9}:{secrets.token_urlsafe(12)}"
    requests.post(f"{sandbox.url}/sandbox/api/bots", json={"token": token}, timeout=10)
    raw = RawApi(sandbox)
    raw.base = f"{sandbox.api_url}/bot{token}"
    return raw


# --- setWebhook ----------------------------------------------------------------------


def test_set_webhook_once_a_second_per_bot(sandbox: SandboxClient, api: RawApi) -> None:
    url = "https://example.com:8443/telegram"
    assert api("setWebhook", url=url)["description"] == "Webhook was set"
    # A second replica setting the same webhook within the second is told to wait.
    assert api("setWebhook", url=url) == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 1",
        "parameters": {"retry_after": 1},
    }
    # deleteWebhook is not limited; another bot has its own second.
    assert other_bot(sandbox)("setWebhook", url=url)["ok"]
    assert api("deleteWebhook")["ok"]


@pytest.mark.parametrize(
    ("params", "description"),
    [
        (
            {"url": "http://example.com/hook"},
            "bad webhook: An HTTPS URL must be provided for webhook",
        ),
        (
            {"url": "https://example.com:8080/hook"},
            "bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443",
        ),
        ({"url": "ftp://example.com/hook"}, "invalid webhook URL specified"),
        ({"url": "https://example.com:99999/hook"}, "invalid webhook URL specified"),
        ({"url": "https://example.com/h", "secret_token": "x" * 257}, "secret token is too long"),
        (
            {"url": "https://example.com/h", "secret_token": "no spaces"},
            "secret token contains unallowed characters",
        ),
    ],
)
def test_webhook_url_and_secret_rules(
    sandbox: SandboxClient, params: dict[str, Any], description: str
) -> None:
    answer = other_bot(sandbox)("setWebhook", **params)
    assert answer == {"ok": False, "error_code": 400, "description": f"Bad Request: {description}"}


@pytest.mark.parametrize(
    "params",
    [
        {"url": "https://example.com/hook"},
        {"url": "https://example.com:88/hook"},
        {"url": "example.com:8443/hook"},  # no scheme reads as https
        {"url": "https://example.com/hook", "secret_token": ""},  # empty: no secret
        {"url": "https://example.com/hook", "secret_token": "A-z_0" * 51 + "9"},  # 256
    ],
)
def test_webhook_urls_and_secrets_telegram_accepts(
    sandbox: SandboxClient, params: dict[str, Any]
) -> None:
    bot = other_bot(sandbox)
    assert bot("setWebhook", **params)["description"] == "Webhook was set"
    assert bot("getWebhookInfo")["result"]["url"] == params["url"]
    assert bot("deleteWebhook")["ok"]


def test_refused_webhook_leaves_none(sandbox: SandboxClient, api: RawApi) -> None:
    bot = other_bot(sandbox)
    assert bot("setWebhook", url="https://example.com/ok")["ok"]
    # The server closes the old webhook before it checks the new URL.
    refused = set_webhook_honouring_retry_after(bot, "https://example.com:1/refused")
    assert refused["description"].startswith("Bad Request: bad webhook: Webhook can be set up")
    assert bot("getWebhookInfo")["result"]["url"] == ""


def set_webhook_honouring_retry_after(bot: RawApi, url: str) -> dict[str, Any]:
    """setWebhook as a client that waits the retry_after it is told; the final answer."""
    while True:
        answer = bot("setWebhook", url=url)
        if answer.get("error_code") != 429:
            return answer
        time.sleep(answer["parameters"]["retry_after"])  # the wait Telegram asks for


# --- getUpdates, update ids, expiry ---------------------------------------------------


def test_get_updates_clamps_limit_and_timeout(sandbox: SandboxClient, api: RawApi) -> None:
    chat = sandbox.private_chat(user_id=1001, first_name="Ana")
    for text in ("uno", "dos", "tres"):
        chat.send(text)
    assert len(api("getUpdates", limit=0)["result"]) == 1  # clamped up to 1
    assert len(api("getUpdates", limit=500)["result"]) == 3  # clamped down to 100
    updates = api.get("getUpdates", limit="2.9").json()["result"]
    assert len(updates) == 2  # an integer: "2.9" reads as 2
    seq = sandbox.wait_events(0, timeout=0)["seq"]
    # timeout is an integer: 0.9 reads as 0, so no long poll starts and the answer is at once.
    api("getUpdates", offset=updates[-1]["update_id"] + 2, timeout=0.9)
    assert not [
        e for e in sandbox.wait_events(seq, timeout=0)["events"] if e["type"] == "long_poll"
    ]


def test_long_poll_timeout_is_capped_at_50_seconds(sandbox: SandboxClient, api: RawApi) -> None:
    chat = sandbox.private_chat(user_id=1001, first_name="Ana")
    seq = sandbox.wait_events(0, timeout=0)["seq"]
    answers: list[dict[str, Any]] = []
    poll = threading.Thread(target=lambda: answers.append(api("getUpdates", timeout=600)))
    poll.start()
    while True:
        events = sandbox.wait_events(seq, timeout=10)
        seq = events["seq"]
        started = [e for e in events["events"] if e["type"] == "long_poll"]
        if started:
            break
    assert started[0]["timeout"] == 50
    chat.send("hola")  # ends the poll
    poll.join(10)
    assert [u["message"]["text"] for u in answers[0]["result"]] == ["hola"]


def test_update_ids_start_at_an_arbitrary_number(sandbox: SandboxClient, api: RawApi) -> None:
    chat = sandbox.private_chat(user_id=1001, first_name="Ana")
    first = chat.send("uno")
    second = chat.send("dos")
    update_ids = [u["update_id"] for u in api("getUpdates")["result"]]
    # TDLib's queue starts at a random id above 2,000,000 and counts up from there.
    assert update_ids[0] > 2_000_000
    assert update_ids == [update_ids[0], update_ids[0] + 1]
    assert first.message_id == 1 and second.message_id == 2
    sandbox.reset()
    again = sandbox.private_chat(user_id=1001, first_name="Ana")
    again.send("uno")
    assert api("getUpdates")["result"][0]["update_id"] != update_ids[0]


def test_updates_older_than_a_day_are_dropped(sandbox: SandboxClient, api: RawApi) -> None:
    chat = sandbox.private_chat(user_id=1001, first_name="Ana")
    chat.send("de ayer")
    sandbox.advance_clock(86400 - 60)
    chat.send("de hoy")
    sandbox.advance_clock(61)
    assert [u["message"]["text"] for u in api("getUpdates")["result"]] == ["de hoy"]
    assert api("getWebhookInfo")["result"]["pending_update_count"] == 1


def test_button_presses_expire_after_150_seconds(sandbox: SandboxClient, api: RawApi) -> None:
    chat = sandbox.private_chat(user_id=1001, first_name="Ana")
    markup = {"inline_keyboard": [[{"text": "Ver", "callback_data": "v"}]]}
    api("sendMessage", chat_id=1001, text="¿Ver?", reply_markup=markup)
    kept = chat.press("Ver")
    sandbox.advance_clock(100)
    lost = chat.press("Ver")
    sandbox.advance_clock(60)  # the first press is now 160 s old, the second 60 s
    pending = [u["callback_query"]["id"] for u in api("getUpdates")["result"]]
    assert pending == [lost]
    assert api("answerCallbackQuery", callback_query_id=kept) == {
        "ok": False,
        "error_code": 400,
        "description": "Bad Request: query is too old and response timeout expired or query "
        "ID is invalid",
    }
    assert api("answerCallbackQuery", callback_query_id=lost)["ok"]


def test_delete_message_within_two_days_only(sandbox: SandboxClient, api: RawApi) -> None:
    sandbox.private_chat(user_id=1001, first_name="Ana")
    old = api("sendMessage", chat_id=1001, text="viejo")["result"]["message_id"]
    sandbox.advance_clock(2 * 86400 - 5)
    recent = api("sendMessage", chat_id=1001, text="nuevo")["result"]["message_id"]
    assert api("deleteMessage", chat_id=1001, message_id=recent)["ok"]
    sandbox.advance_clock(5)
    assert api("deleteMessage", chat_id=1001, message_id=old) == {
        "ok": False,
        "error_code": 400,
        "description": "Bad Request: message can't be deleted",
    }
    assert api("deleteMessages", chat_id=1001, message_ids=[old])["description"] == (
        "Bad Request: message can't be deleted"
    )


# --- text ------------------------------------------------------------------------------


def send(api: RawApi, **params: Any) -> dict[str, Any]:
    return api("sendMessage", chat_id=1001, **params)


@pytest.mark.usefixtures("roomy_limits")  # a dozen sends to one chat in a row
def test_parse_mode_wins_and_entities_are_forgiven(sandbox: SandboxClient, api: RawApi) -> None:
    sandbox.private_chat(user_id=1001, first_name="Ana")
    italic = [{"type": "italic", "offset": 0, "length": 4}]
    both = send(api, text="<b>hola</b>", parse_mode="HTML", entities=italic)["result"]
    assert both["text"] == "hola"
    assert both["entities"] == [{"offset": 0, "length": 4, "type": "bold"}]
    # Malformed entities JSON is ignored, not refused.
    form = api.post("sendMessage", data={"chat_id": "1001", "text": "hola", "entities": "[{"})
    assert form.json()["ok"] and "entities" not in form.json()["result"]
    # Out of range is clipped (or dropped when it starts past the end).
    clipped = send(
        api,
        text="hola",
        entities=[
            {"type": "bold", "offset": 2, "length": 100},
            {"type": "italic", "offset": 10, "length": 3},
        ],
    )["result"]
    assert clipped["entities"] == [{"offset": 2, "length": 2, "type": "bold"}]
    # Types Telegram detects itself are skipped when given, and found where they are.
    given = send(api, text="/start ya", entities=[{"type": "mention", "offset": 0, "length": 9}])
    assert given["result"]["entities"] == [{"offset": 0, "length": 6, "type": "bot_command"}]
    assert send(api, text="x", entities=[{"type": "blink", "offset": 0, "length": 1}]) == {
        "ok": False,
        "error_code": 400,
        "description": "Bad Request: can't parse MessageEntity: Unsupported type specified",
    }
    assert send(api, text="x", entities=[{"type": "bold", "offset": -1, "length": 1}])[
        "description"
    ] == ("Bad Request: receive an entity with incorrect offset -1")


@pytest.mark.usefixtures("roomy_limits")  # a dozen sends to one chat in a row
def test_lengths_count_characters_not_utf16_units(sandbox: SandboxClient, api: RawApi) -> None:
    sandbox.private_chat(user_id=1001, first_name="Ana")
    pizza = "🍕"  # one character, two UTF-16 units
    assert send(api, text=pizza * 4096)["ok"]
    assert send(api, text=pizza * 4097)["description"] == "Bad Request: message is too long"
    photo = {"photo": ("p.jpg", _jpeg(), "image/jpeg")}
    fits = api.post("sendPhoto", data={"chat_id": "1001", "caption": pizza * 1024}, files=photo)
    assert fits.json()["ok"]
    over = api.post("sendPhoto", data={"chat_id": "1001", "caption": pizza * 1025}, files=photo)
    assert over.json()["description"] == "Bad Request: message caption is too long"


async def test_tdlib_error_texts_through_ptb(bot: Bot, sandbox: SandboxClient) -> None:
    sandbox.private_chat(user_id=1001, first_name="Ana")
    with pytest.raises(BadRequest) as caught:
        await bot.send_message(1001, "<b>hola", parse_mode="HTML")
    assert caught.value.message == (
        "Can't parse entities: can't find end tag corresponding to start tag \"b\""
    )
    with pytest.raises(BadRequest, match="Text must be non-empty"):
        await bot.send_message(1001, "<i> </i>", parse_mode="HTML")
    with pytest.raises(BadRequest, match="Unsupported parse_mode"):
        await bot.send_message(1001, "hola", parse_mode="BBCode")


# --- keyboards -------------------------------------------------------------------------


def _keyboard(*buttons: dict[str, Any]) -> dict[str, Any]:
    return {"inline_keyboard": [list(buttons)]}


@pytest.mark.parametrize(
    ("markup", "description"),
    [
        (
            _keyboard({"text": "", "callback_data": "x"}),
            "inline keyboard button text must be non-empty",
        ),
        (_keyboard({"text": "A", "callback_data": "x" * 65}), "BUTTON_DATA_INVALID"),
        (
            _keyboard({"text": "A", "callback_data": ""}),
            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard",
        ),
        (
            _keyboard({"text": "Web", "url": "notaurl"}),
            "inline keyboard button URL 'notaurl' is invalid: Wrong HTTP URL",
        ),
        (
            _keyboard({"text": "Web", "url": "ftp://example.com"}),
            "inline keyboard button URL 'ftp://example.com' is invalid: Unsupported URL protocol",
        ),
        (
            {"inline_keyboard": [[{"text": str(i), "callback_data": str(i)}] for i in range(101)]},
            "reply markup is too long",
        ),
        (
            {
                "inline_keyboard": [
                    [{"text": "x" * 200, "callback_data": str(i)}] for i in range(60)
                ]
            },
            "reply markup is too long",
        ),
    ],
)
def test_keyboards_telegram_refuses(
    sandbox: SandboxClient, api: RawApi, markup: dict[str, Any], description: str
) -> None:
    sandbox.private_chat(user_id=1001, first_name="Ana")
    answer = send(api, text="elige", reply_markup=json.dumps(markup))
    assert answer == {"ok": False, "error_code": 400, "description": f"Bad Request: {description}"}


def test_keyboards_telegram_accepts(sandbox: SandboxClient, api: RawApi) -> None:
    sandbox.private_chat(user_id=1001, first_name="Ana")
    markup = {
        "inline_keyboard": [
            [{"text": "A", "callback_data": "é" * 32}],  # 64 bytes
            [{"text": "Web", "url": "https://example.com/pedido?id=1"}],
            [{"text": str(i), "callback_data": str(i)} for i in range(8)] * 1,
        ]
    }
    sent = send(api, text="elige", reply_markup=markup)
    assert sent["ok"] and sent["result"]["reply_markup"]["inline_keyboard"][1][0]["url"] == (
        "https://example.com/pedido?id=1"
    )


def _jpeg() -> bytes:
    from tests.sandbox.conftest import image_bytes

    return image_bytes(40, 40)
