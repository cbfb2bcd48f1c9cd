"""The control API through SandboxClient: users, chats, media, buttons, waiting, events, bots."""

from __future__ import annotations

import json
import threading

import pytest
import requests

from sandbox import run_in_thread
from sandbox.client import SandboxClient, SandboxError
from tests.sandbox.conftest import RawApi, image_bytes


def test_info_and_identity(sandbox: SandboxClient) -> None:
    info = sandbox.info()
    assert info["api_url"] == sandbox.api_url == sandbox.url
    assert sandbox.token == "123456789:sandbox-token"
    assert info["bot"]["is_bot"] and sandbox.bot_username


def test_run_in_thread_context_manager_and_custom_token() -> None:
    with run_in_thread(port=0, token="555:custom-token") as server:
        assert server.token == "555:custom-token" and server.port > 0
        assert server.client.token == "555:custom-token"
        me = requests.get(f"{server.url}/bot555:custom-token/getMe", timeout=10).json()
        assert me["result"]["id"] == 555
        url = server.url
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}/sandbox/api/info", timeout=2)


def test_send_returns_stored_message_with_entities(sandbox: SandboxClient) -> None:
    chat = sandbox.private_chat(user_id=1001, first_name="Ana", language_code="es")
    message = chat.send("/pedido 2 pizzas #rapido")
    assert message.message_id == 1 and not message.from_bot
    assert message.text == "/pedido 2 pizzas #rapido"
    assert [e["type"] for e in message.entities] == ["bot_command", "hashtag"]
    assert message.sender["language_code"] == "es"
    assert message.update_id is not None
    reply = chat.send("y una más", reply_to=message.message_id)
    assert reply.reply_to_message_id == 1


def test_group_as_user(sandbox: SandboxClient, api: RawApi) -> None:
    group = sandbox.group_chat(chat_id=-1002, title="Tienda", user_id=1001, first_name="Ana")
    luis = group.as_user(user_id=1002, first_name="Luis")
    group.send("hola")
    luis.send("hola también")
    senders = [m.sender["first_name"] for m in group.messages()]
    assert senders == ["Ana", "Luis"]
    updates = api("getUpdates")["result"]
    assert [u["message"]["from"]["id"] for u in updates] == [1001, 1002]
    supergroup = sandbox.group_chat(chat_id=-1001234567890, title="Súper", user_id=1001)
    supergroup.send("x")
    assert api("getUpdates", offset=-1)["result"][0]["message"]["chat"]["type"] == "supergroup"


def test_privacy_mode_filters_group_messages(sandbox: SandboxClient, api: RawApi) -> None:
    sandbox.set_privacy_mode(True)
    assert api("getMe")["result"]["can_read_all_group_messages"] is False
    group = sandbox.group_chat(chat_id=-1002, title="Tienda", user_id=1001, first_name="Ana")
    group.send("charla sin más")
    group.send("/estado")
    group.send(f"oye @{sandbox.bot_username}")
    texts = [u["message"]["text"] for u in api("getUpdates")["result"]]
    assert texts == ["/estado", f"oye @{sandbox.bot_username}"]
    assert len(group.messages()) == 3


def test_user_document_and_album(sandbox: SandboxClient, api: RawApi, tmp_path: object) -> None:
    chat = sandbox.private_chat(user_id=1001, first_name="Ana")
    doc = chat.send_document(image_bytes(640, 480, "PNG"), file_name="plano.png")
    media = doc.media[0]
    assert media.type == "document" and media.mime_type == "image/png"
    assert (media.width, media.height) == (640, 480) and media.file_name == "plano.png"
    album = chat.send_album([image_bytes(100, 80), image_bytes(80, 100)], caption="dos")
    assert len(album) == 2 and album[0].media_group_id == album[1].media_group_id
    assert [m.caption for m in album] == ["dos", None]
    updates = api("getUpdates")["result"]
    assert "document" in updates[0]["message"]
    assert [u["message"]["media_group_id"] for u in updates[1:]] == [album[0].media_group_id] * 2
    assert sandbox.download(media.file_id) == image_bytes(640, 480, "PNG")
    text = chat.send_document(b"hola", mime_type="text/plain", file_name="nota.txt")
    assert text.media[0].mime_type == "text/plain" and text.media[0].width is None


def test_press_by_text_data_and_message(sandbox: SandboxClient, api: RawApi) -> None:
    chat = sandbox.private_chat(user_id=1001, first_name="Ana")
    kb = {
        "inline_keyboard": [
            [{"text": "Cancelar", "callback_data": "c:1"}],
            [{"text": "Web", "url": "https://example.com"}],
        ]
    }
    first = api("sendMessage", chat_id=1001, text="uno", reply_markup=kb)["result"]
    kb2 = {"inline_keyboard": [[{"text": "Cancelar", "callback_data": "c:2"}]]}
    api("sendMessage", chat_id=1001, text="dos", reply_markup=kb2)
    latest = chat.press("Cancelar")
    older = chat.press("Cancelar", message_id=first["message_id"])
    by_data = chat.press(data="c:2")
    queries = [u["callback_query"] for u in api("getUpdates")["result"]]
    assert [(q["id"], q["data"]) for q in queries] == [
        (latest, "c:2"),
        (older, "c:1"),
        (by_data, "c:2"),
    ]
    assert queries[0]["chat_instance"] == queries[1]["chat_instance"]
    with pytest.raises(SandboxError, match="no inline button"):
        chat.press("Nope")
    with pytest.raises(SandboxError, match="no callback_data"):
        chat.press("Web")
    with pytest.raises(TimeoutError, match="not answered"):
        chat.callback_answer(latest, timeout=0.2)
    api("answerCallbackQuery", callback_query_id=older, text="Hecho")
    assert chat.callback_answer(older, timeout=1)["text"] == "Hecho"
    assert chat.messages()[0].callback_answers[0]["text"] == "Hecho"


def test_callback_answer_waits_for_the_bot(sandbox: SandboxClient, api: RawApi) -> None:
    chat = sandbox.private_chat(user_id=1001, first_name="Ana")
    api(
        "sendMessage",
        chat_id=1001,
        text="x",
        reply_markup={"inline_keyboard": [[{"text": "OK", "callback_data": "ok"}]]},
    )
    query = chat.press("OK")

    def bot_answers() -> None:
        update = api.get("getUpdates", timeout=10).json()["result"][0]
        api(
            "answerCallbackQuery",
            callback_query_id=update["callback_query"]["id"],
            text="¡Listo!",
            show_alert=True,
        )

    thread = threading.Thread(target=bot_answers)
    thread.start()
    answer = chat.callback_answer(query, timeout=10)
    thread.join(10)
    assert answer == {"text": "¡Listo!", "show_alert": True, "url": None, "cache_time": 0}


@pytest.mark.usefixtures("roomy_limits")  # a send and three edits within a second
def test_wait_for_sees_edits_and_times_out_with_transcript(
    sandbox: SandboxClient, api: RawApi
) -> None:
    chat = sandbox.private_chat(user_id=1001, first_name="Ana")
    chat.send("/pedido")
    sent = api("sendMessage", chat_id=1001, text="0%")["result"]

    def progress() -> None:
        for pct in (33, 66, 100):
            api("editMessageText", chat_id=1001, message_id=sent["message_id"], text=f"{pct}%")

    thread = threading.Thread(target=progress)
    thread.start()
    done = chat.wait_for(lambda m: m.text == "100%", timeout=10)
    thread.join(10)
    assert done.edits == ["0%", "33%", "66%", "100%"]
    with pytest.raises(TimeoutError) as caught:
        chat.wait_for(lambda m: m.text == "nunca", timeout=0.3)
    assert "#1 user 1001: '/pedido'" in str(caught.value)
    assert "#2 bot: '100%' edits=3" in str(caught.value)


def test_wait_for_count_and_after(sandbox: SandboxClient, api: RawApi) -> None:
    chat = sandbox.private_chat(user_id=1001, first_name="Ana")
    first = api("sendMessage", chat_id=1001, text="a")["result"]

    def more() -> None:
        for text in ("b", "c"):
            api("sendMessage", chat_id=1001, text=text)

    thread = threading.Thread(target=more)
    thread.start()
    found = chat.wait_for_count(lambda m: m.text in ("a", "b", "c"), n=3, timeout=10)
    thread.join(10)
    assert [m.text for m in found] == ["a", "b", "c"]
    later = chat.wait_for(after=first["message_id"])
    assert later.text == "b"
    last = chat.last_bot_message()
    assert last is not None and last.text == "c"


def test_server_sent_events(sandbox: SandboxClient, api: RawApi) -> None:
    chat = sandbox.private_chat(user_id=1001, first_name="Ana")
    seen: list[dict] = []
    ready = threading.Event()

    def listen() -> None:
        url = f"{sandbox.url}/sandbox/api/events?chat_id=1001"
        with requests.get(url, stream=True, timeout=10) as response:
            assert response.headers["Content-Type"].startswith("text/event-stream")
            ready.set()
            for line in response.iter_lines(decode_unicode=True):
                if line and line.startswith("data: "):
                    seen.append(json.loads(line[6:]))
                    if len(seen) == 3:
                        return

    thread = threading.Thread(target=listen)
    thread.start()
    ready.wait(5)
    chat.send("hola")
    sent = api("sendMessage", chat_id=1001, text="respuesta")["result"]
    api("editMessageText", chat_id=1001, message_id=sent["message_id"], text="editada")
    thread.join(10)
    assert [e["type"] for e in seen] == ["message", "message", "edit"]
    assert seen[2]["message"]["edits"] == ["respuesta", "editada"]


def test_long_poll_events(sandbox: SandboxClient, api: RawApi) -> None:
    chat = sandbox.private_chat(user_id=1001, first_name="Ana")
    seq = sandbox.wait_events(0, timeout=0)["seq"]
    assert sandbox.wait_events(seq, chat_id=1001, timeout=0.1)["events"] == []
    chat.send("x")
    events = sandbox.wait_events(seq, chat_id=1001, timeout=5)["events"]
    assert events[0]["type"] == "message" and events[0]["message"]["text"] == "x"
    api("sendChatAction", chat_id=1001, action="upload_photo")
    last = sandbox.wait_events(events[-1]["seq"], chat_id=1001, timeout=5)["events"]
    assert last[0] == {**last[0], "type": "chat_action", "action": "upload_photo"}


def test_second_bot_token(sandbox: SandboxClient) -> None:
    other = sandbox.add_bot("987654:other-bot-token", username="otro_bot")
    assert other.token == "987654:other-bot-token"
    chat = other.private_chat(user_id=1001, first_name="Ana")
    chat.send("para el otro")
    base = f"{sandbox.url}/bot987654:other-bot-token"
    updates = requests.get(f"{base}/getUpdates", timeout=10).json()["result"]
    assert updates[0]["message"]["text"] == "para el otro"
    mine = requests.get(f"{sandbox.url}/bot{sandbox.token}/getUpdates", timeout=10).json()
    assert mine["result"] == []
    assert sandbox.chats() == []
    other.close()


def test_control_errors_are_json(sandbox: SandboxClient) -> None:
    with pytest.raises(SandboxError, match="no chat 5"):
        sandbox._get("/chats/5/messages")
    with pytest.raises(SandboxError, match="need 'from'"):
        sandbox._post("/chats/-5/messages", json={"text": "x"})
    with pytest.raises(SandboxError):
        sandbox.download("missing")
