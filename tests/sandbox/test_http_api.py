"""The Bot API over plain HTTP, as the Celery workers call it with `requests`."""

from __future__ import annotations

import json
import threading
import time

import pytest
import requests

from sandbox.client import SandboxClient
from tests.sandbox.conftest import RawApi, image_bytes


def wait_for_long_poll(sandbox: SandboxClient, since: int) -> None:
    """Block until the sandbox reports a getUpdates waiting (a `long_poll` event)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        answer = sandbox.wait_events(since, timeout=max(0.0, deadline - time.monotonic()))
        if any(event["type"] == "long_poll" for event in answer["events"]):
            return
        since = answer["seq"]
    raise TimeoutError("no getUpdates long-poll started")


@pytest.mark.usefixtures("roomy_limits")  # six sends to one chat in a row
def test_json_form_multipart_and_get_bodies(sandbox: SandboxClient, api: RawApi) -> None:
    sandbox.private_chat(user_id=1001, first_name="Ana")
    assert api("sendMessage", chat_id=1001, text="json")["ok"]
    assert api.post("sendMessage", data={"chat_id": "1001", "text": "form"}).json()["ok"]
    multipart = api.post(
        "sendMessage", files={"chat_id": (None, "1001"), "text": (None, "multipart")}
    )
    assert multipart.json()["result"]["text"] == "multipart"
    got = api.get("sendMessage", chat_id=1001, text="get").json()
    assert got["ok"] and got["result"]["text"] == "get"
    markup = {"inline_keyboard": [[{"text": "Ver", "callback_data": "v"}]]}
    form = api.post(
        "sendMessage",
        data={"chat_id": "1001", "text": "kb", "reply_markup": json.dumps(markup)},
    ).json()
    assert form["result"]["reply_markup"] == markup


def test_method_names_are_case_insensitive_and_unknown_is_404(
    sandbox: SandboxClient, api: RawApi
) -> None:
    assert api.get("GETME").json()["result"]["is_bot"]
    assert api.get("getme").json()["ok"]
    unknown = api.get("sendPigeon")
    assert unknown.status_code == 404
    assert unknown.json() == {"ok": False, "error_code": 404, "description": "Not Found"}


def test_wrong_token_is_401_and_malformed_token_404(sandbox: SandboxClient) -> None:
    wrong = requests.get(f"{sandbox.api_url}/bot1:not-the-token/getMe", timeout=10)
    assert wrong.status_code == 401
    assert wrong.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}
    malformed = requests.get(f"{sandbox.api_url}/botgarbage/getMe", timeout=10)
    assert malformed.status_code == 404


def test_get_updates_offset_limit_and_negative_offset(sandbox: SandboxClient, api: RawApi) -> None:
    chat = sandbox.private_chat(user_id=1001, first_name="Ana")
    for index in range(5):
        chat.send(f"m{index}")
    first = api("getUpdates", limit=2)["result"]
    assert [u["message"]["text"] for u in first] == ["m0", "m1"]
    # Without a higher offset nothing is confirmed.
    assert api("getUpdates", limit=2)["result"] == first
    rest = api("getUpdates", offset=first[-1]["update_id"] + 1)["result"]
    assert [u["message"]["text"] for u in rest] == ["m2", "m3", "m4"]
    last = api("getUpdates", offset=-1)["result"]
    assert [u["message"]["text"] for u in last] == ["m4"]
    assert len(sandbox.pending_updates()) == 1


def test_long_poll_wakes_on_new_update(sandbox: SandboxClient, api: RawApi) -> None:
    chat = sandbox.private_chat(user_id=1001, first_name="Ana")
    result: dict[str, object] = {}

    def poll() -> None:
        started = time.monotonic()
        result["body"] = api.get("getUpdates", timeout=20).json()
        result["took"] = time.monotonic() - started

    seq = sandbox.wait_events(0, timeout=0)["seq"]
    thread = threading.Thread(target=poll)
    thread.start()
    wait_for_long_poll(sandbox, seq)
    chat.send("despierta")
    thread.join(20)
    body = result["body"]
    assert isinstance(body, dict) and body["result"][0]["message"]["text"] == "despierta"
    assert isinstance(result["took"], float) and result["took"] < 10


def test_long_poll_times_out_empty(sandbox: SandboxClient, api: RawApi) -> None:
    started = time.monotonic()
    assert api.get("getUpdates", timeout=1).json() == {"ok": True, "result": []}
    assert 0.9 < time.monotonic() - started < 5


def test_second_get_updates_terminates_the_first(sandbox: SandboxClient, api: RawApi) -> None:
    result: dict[str, object] = {}

    def poll() -> None:
        result["first"] = requests.get(f"{api.base}/getUpdates", params={"timeout": 20}, timeout=30)

    seq = sandbox.wait_events(0, timeout=0)["seq"]
    thread = threading.Thread(target=poll)
    thread.start()
    wait_for_long_poll(sandbox, seq)
    assert api.get("getUpdates", timeout=0).json()["ok"]
    thread.join(10)
    first = result["first"]
    assert isinstance(first, requests.Response) and first.status_code == 409
    assert first.json()["description"] == (
        "Conflict: terminated by other getUpdates request; make sure that only one bot instance "
        "is running"
    )


def test_allowed_updates_filters_new_updates(sandbox: SandboxClient, api: RawApi) -> None:
    chat = sandbox.private_chat(user_id=1001, first_name="Ana")
    api(
        "sendMessage",
        chat_id=1001,
        text="menu",
        reply_markup={"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]},
    )
    assert api("getUpdates", allowed_updates=["callback_query"])["result"] == []
    chat.send("ignored")
    chat.press("A")
    kinds = [next(k for k in u if k != "update_id") for u in api("getUpdates")["result"]]
    assert kinds == ["callback_query"]


@pytest.mark.usefixtures("roomy_limits")  # a dozen sends to one chat in a row
def test_text_and_caption_limits(sandbox: SandboxClient, api: RawApi) -> None:
    sandbox.private_chat(user_id=1001, first_name="Ana")
    assert api("sendMessage", chat_id=1001, text="x" * 4096)["ok"]
    # Telegram counts after entity parsing: tags do not count.
    assert api("sendMessage", chat_id=1001, text="<b>" + "x" * 4096 + "</b>", parse_mode="HTML")[
        "ok"
    ]
    too_long = api("sendMessage", chat_id=1001, text="x" * 4097)
    assert too_long == {
        "ok": False,
        "error_code": 400,
        "description": "Bad Request: message is too long",
    }
    # Empty once trimmed or parsed is TDLib's "text must be non-empty"; absent is the Bot API's.
    assert api("sendMessage", chat_id=1001, text="   ")["description"] == (
        "Bad Request: text must be non-empty"
    )
    assert api("sendMessage", chat_id=1001, text="")["description"] == (
        "Bad Request: message text is empty"
    )
    photo = image_bytes(40, 40)
    long_caption = api.post(
        "sendPhoto", data={"chat_id": "1001", "caption": "c" * 1025}, files={"photo": photo}
    ).json()
    assert long_caption["description"] == "Bad Request: message caption is too long"


def test_edit_rules(sandbox: SandboxClient, api: RawApi) -> None:
    sandbox.private_chat(user_id=1001, first_name="Ana")
    sent = api("sendMessage", chat_id=1001, text="hola", parse_mode="HTML")["result"]
    same = api("editMessageText", chat_id=1001, message_id=sent["message_id"], text="hola")
    assert same["description"] == (
        "Bad Request: message is not modified: specified new message content and reply markup "
        "are exactly the same as a current content and reply markup of the message"
    )
    # Same text with different entities is a change.
    bold = api(
        "editMessageText",
        chat_id=1001,
        message_id=sent["message_id"],
        text="<b>hola</b>",
        parse_mode="HTML",
    )
    assert bold["ok"] and bold["result"]["entities"][0]["type"] == "bold"
    missing = api("editMessageText", chat_id=1001, message_id=999, text="x")
    assert missing["description"] == "Bad Request: message to edit not found"
    unknown_chat = api("editMessageText", chat_id=555, message_id=1, text="x")
    assert unknown_chat["description"] == "Bad Request: chat not found"
    bad_markup = api(
        "editMessageText",
        chat_id=1001,
        message_id=sent["message_id"],
        text="<i>",
        parse_mode="HTML",
    )
    assert bad_markup["description"].startswith("Bad Request: can't parse entities: ")


def test_get_file_refuses_files_over_20_mb(sandbox: SandboxClient, api: RawApi) -> None:
    chat = sandbox.private_chat(user_id=1001, first_name="Ana")
    big = chat.send_document(b"\0" * (20 * 1024 * 1024 + 1), file_name="big.bin")
    small = chat.send_document(b"hello", file_name="small.txt")
    refused = api("getFile", file_id=big.media[0].file_id)
    assert refused == {
        "ok": False,
        "error_code": 400,
        "description": "Bad Request: file is too big",
    }
    got = api("getFile", file_id=small.media[0].file_id)["result"]
    download = requests.get(
        f"{sandbox.api_url}/file/bot{sandbox.token}/{got['file_path']}", timeout=10
    )
    assert download.content == b"hello"
    assert api("getFile", file_id="nope")["description"] == "Bad Request: invalid file_id"
    missing = requests.get(f"{sandbox.api_url}/file/bot{sandbox.token}/documents/x", timeout=10)
    assert missing.status_code == 404


def test_photo_upload_over_10_mb_refused(sandbox: SandboxClient, api: RawApi) -> None:
    sandbox.private_chat(user_id=1001, first_name="Ana")
    size = 10 * 1024 * 1024 + 1
    answer = api.post("sendPhoto", data={"chat_id": "1001"}, files={"photo": b"\xff" * size})
    assert answer.status_code == 400
    assert answer.json()["description"] == (
        f"Bad Request: file of size {size} bytes is too big for a photo; "
        "the maximum size is 10485760 bytes"
    )
    not_image = api.post("sendPhoto", data={"chat_id": "1001"}, files={"photo": b"not an image"})
    assert not_image.json()["description"] == "Bad Request: IMAGE_PROCESS_FAILED"


def test_user_photo_arrives_as_several_sizes(sandbox: SandboxClient, api: RawApi) -> None:
    chat = sandbox.private_chat(user_id=1001, first_name="Ana")
    chat.send_photo(image_bytes(3000, 2000), caption="mi foto")
    small = chat.send_photo(image_bytes(500, 300))
    updates = api("getUpdates")["result"]
    sizes = updates[0]["message"]["photo"]
    assert [(s["width"], s["height"]) for s in sizes] == [
        (90, 60),
        (320, 213),
        (800, 533),
        (1280, 853),
        (2560, 1707),  # a user's large photo keeps Telegram's 2560 px size too
    ]
    assert updates[0]["message"]["caption"] == "mi foto"
    assert len({s["file_id"] for s in sizes}) == len({s["file_unique_id"] for s in sizes}) == 5
    for size in sizes:
        path = api("getFile", file_id=size["file_id"])["result"]["file_path"]
        data = requests.get(f"{sandbox.api_url}/file/bot{sandbox.token}/{path}", timeout=10).content
        assert data[:2] == b"\xff\xd8" and len(data) == size["file_size"]
    # Never upscaled: a 500 px photo stops at its own size.
    assert [(s["width"], s["height"]) for s in updates[1]["message"]["photo"]] == [
        (90, 54),
        (320, 192),
        (500, 300),
    ]
    assert small.media[0].width == 500


@pytest.mark.usefixtures("roomy_limits")  # albums of 2 and 10 to one chat in a row
def test_send_media_group_rules(sandbox: SandboxClient, api: RawApi) -> None:
    sandbox.private_chat(user_id=1001, first_name="Ana")
    photo = {"type": "photo", "media": "attach://p"}
    files = {"p": ("p.jpg", image_bytes(20, 20), "image/jpeg")}

    def group(media: object) -> dict:
        return dict(
            api.post(
                "sendMediaGroup", data={"chat_id": "1001", "media": json.dumps(media)}, files=files
            ).json()
        )

    assert group([])["description"] == "Bad Request: there are no messages to send"
    assert group([photo] * 11)["description"] == (
        "Bad Request: too many messages to send as an album"
    )
    missing = group([photo, {"type": "photo", "media": "attach://nope"}])
    assert missing["description"] == "Bad Request: can't parse InputMedia: media not found"
    ok = group([photo, photo])
    assert ok["ok"] and len(ok["result"]) == 2
    file_id = ok["result"][0]["photo"][-1]["file_id"]
    by_id = api(
        "sendMediaGroup",
        chat_id=1001,
        media=[
            {"type": "photo", "media": file_id},
            {"type": "photo", "media": file_id, "caption": "<b>2</b>", "parse_mode": "HTML"},
        ],
    )
    assert by_id["ok"] and by_id["result"][1]["caption_entities"][0]["type"] == "bold"
    no_media = api.post("sendMediaGroup", data={"chat_id": "1001"}).json()
    assert no_media["description"] == 'Bad Request: parameter "media" is required'


def test_group_messages_carry_command_entities(sandbox: SandboxClient, api: RawApi) -> None:
    group = sandbox.group_chat(chat_id=-1002, title="Tienda", user_id=1001, first_name="Ana")
    luis = group.as_user(user_id=1002, first_name="Luis", username="luis")
    group.send(f"/pedido@{sandbox.bot_username} 2 pizzas")
    luis.send("/estado@otro_bot")
    updates = api("getUpdates")["result"]
    first, second = (u["message"] for u in updates)
    assert first["chat"] == {
        "id": -1002,
        "title": "Tienda",
        "type": "group",
        "all_members_are_administrators": True,
    }
    assert first["entities"] == [
        {"offset": 0, "length": 7 + 1 + len(sandbox.bot_username), "type": "bot_command"}
    ]
    assert second["from"]["username"] == "luis"
    assert second["entities"][0]["length"] == len("/estado@otro_bot")
    reply = api("sendMessage", chat_id=-1002, text="ok", reply_to_message_id=first["message_id"])
    assert reply["result"]["reply_to_message"]["message_id"] == first["message_id"]
    assert reply["result"]["message_id"] == 3


def test_get_chat_member_says_who_administers_a_group(sandbox: SandboxClient, api: RawApi) -> None:
    group = sandbox.group_chat(-100_4242, title="Cocina", user_id=1001, administrators=[1001])
    group.as_user(1002, first_name="Pepe")
    admin = api("getChatMember", chat_id=-100_4242, user_id=1001)["result"]
    assert (admin["status"], admin["user"]["id"]) == ("administrator", 1001)
    assert api("getChatMember", chat_id=-100_4242, user_id=1002)["result"]["status"] == "member"
    unknown = api("getChatMember", chat_id=-100_4242, user_id=999_999)
    assert not unknown["ok"] and "PARTICIPANT_ID_INVALID" in unknown["description"]
