"""Updates the security tests need: edited messages, sender_chat senders, supergroup upgrades."""

from __future__ import annotations

from typing import Any

from sandbox.client import ANONYMOUS_ADMIN_ID, CHANNEL_BOT_ID, SERVICE_USER_ID, SandboxClient
from tests.sandbox.conftest import RawApi


def updates(api: RawApi) -> list[dict[str, Any]]:
    answer = api("getUpdates", timeout=0)
    assert answer["ok"]
    result: list[dict[str, Any]] = answer["result"]
    if result:
        api("getUpdates", offset=result[-1]["update_id"] + 1, timeout=0)
    return result


def test_a_user_edit_is_an_edited_message_update(sandbox: SandboxClient, api: RawApi) -> None:
    chat = sandbox.private_chat(user_id=1001, first_name="Ana")
    sent = chat.send("/pedido 1 pizza")
    updates(api)
    edited = chat.edit(sent.message_id, "/pedido 2 pizzas")
    [update] = updates(api)
    message = update["edited_message"]
    assert message["message_id"] == sent.message_id
    assert message["text"] == "/pedido 2 pizzas"
    assert message["edit_date"] >= message["date"]
    assert message["entities"] == [{"type": "bot_command", "offset": 0, "length": 7}]
    assert edited.text == "/pedido 2 pizzas"


def test_anonymous_admins_and_channels_carry_sender_chat(
    sandbox: SandboxClient, api: RawApi
) -> None:
    group = sandbox.group_chat(-100_500, title="Tienda", user_id=1001)
    group.anonymous_admin_send("/entregas", title="Tienda")
    group.channel_send("/entregas", channel_id=-100_777, title="Noticias")
    group.channel_send("post", channel_id=-100_777, title="Noticias", automatic_forward=True)
    anonymous, as_channel, forwarded = (u["message"] for u in updates(api))
    assert anonymous["from"]["id"] == ANONYMOUS_ADMIN_ID and anonymous["from"]["is_bot"]
    assert anonymous["sender_chat"]["id"] == -100_500
    assert as_channel["from"]["id"] == CHANNEL_BOT_ID
    assert as_channel["sender_chat"] == {"id": -100_777, "type": "channel", "title": "Noticias"}
    assert forwarded["from"]["id"] == SERVICE_USER_ID and forwarded["is_automatic_forward"]


def test_an_upgraded_group_refuses_sends_with_migrate_to_chat_id(
    sandbox: SandboxClient, api: RawApi
) -> None:
    group = sandbox.group_chat(-500, title="Amigos", user_id=1001)
    assert api("sendMessage", chat_id=-500, text="antes")["ok"]
    updates(api)
    group.migrate_to_supergroup(-100_500)
    old, new = (u["message"] for u in updates(api))
    assert old["chat"]["id"] == -500 and old["migrate_to_chat_id"] == -100_500
    assert new["chat"]["id"] == -100_500 and new["chat"]["type"] == "supergroup"
    assert new["migrate_from_chat_id"] == -500
    refused = api("sendMessage", chat_id=-500, text="después")
    assert refused == {
        "ok": False,
        "error_code": 400,
        "description": "Bad Request: group chat was upgraded to a supergroup chat",
        "parameters": {"migrate_to_chat_id": -100_500},
    }
    assert api("sendMessage", chat_id=-100_500, text="después")["ok"]


def test_a_forged_press_sends_any_data_on_any_message(sandbox: SandboxClient, api: RawApi) -> None:
    chat = sandbox.private_chat(user_id=1001, first_name="Ana")
    markup = {"inline_keyboard": [[{"text": "Ver", "callback_data": "v"}]]}
    sent = api("sendMessage", chat_id=1001, text="kb", reply_markup=markup)["result"]
    plain = api("sendMessage", chat_id=1001, text="no buttons")["result"]
    updates(api)
    chat.press(data="anything at all", message_id=plain["message_id"], forged=True)
    chat.press(data="v2", message_id=sent["message_id"], forged=True)
    first, second = (u["callback_query"] for u in updates(api))
    assert (first["data"], first["message"]["message_id"]) == (
        "anything at all",
        plain["message_id"],
    )
    assert (second["data"], second["message"]["message_id"]) == ("v2", sent["message_id"])
