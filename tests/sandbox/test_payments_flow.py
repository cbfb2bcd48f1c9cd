"""Paying an invoice through the control API while the test plays the bot: shipping and
pre-checkout queries, the 10 s deadline, declined cards, tampered queries, a repeated
successful_payment, Stars refunds and allowed_updates."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from sandbox.client import SandboxClient, SandboxError
from tests.sandbox.conftest import RawApi
from tests.sandbox.payments_support import (
    ADDRESS,
    DELIVERY,
    ORDER_INFO,
    SHIPPING_OPTIONS,
    PlayedBot,
    paying,
)

PRICES_ERROR = "Can't parse shipping option: Can't parse shipping option prices: "
QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"
PICKUP = {**DELIVERY, "need_shipping_address": False, "is_flexible": False}
STARS = {
    **PICKUP,
    "provider_token": "",
    "currency": "XTR",
    "prices": [{"label": "Receta en PDF", "amount": 50}],
}


@pytest.fixture
def played(api: RawApi, sandbox: SandboxClient) -> PlayedBot:
    sandbox.private_chat(user_id=1001, first_name="Ana")
    return PlayedBot(api)


def test_fiat_with_delivery_shipping_options_and_order_info(
    api: RawApi, sandbox: SandboxClient, played: PlayedBot
) -> None:
    invoice = api("sendInvoice", **DELIVERY)["result"]
    with paying(sandbox) as start:
        outcome = start(1001, order_info=ORDER_INFO, shipping_option_id="express")
        shipping = played.next("shipping_query")
        assert shipping["invoice_payload"] == "P-7K2Q4F.sig"
        assert shipping["shipping_address"] == ADDRESS
        assert shipping["from"]["id"] == 1001
        answer = api(
            "answerShippingQuery",
            shipping_query_id=shipping["id"],
            ok=True,
            shipping_options=SHIPPING_OPTIONS,
        )
        assert answer == {"ok": True, "result": True}
        query = played.next("pre_checkout_query")
        assert query["currency"] == "EUR"
        assert query["total_amount"] == 1800 + 500
        assert query["invoice_payload"] == "P-7K2Q4F.sig"
        assert query["shipping_option_id"] == "express"
        assert query["order_info"] == {
            "name": "Ana Pérez",
            "phone_number": "+34600111222",
            "shipping_address": ADDRESS,
        }
        assert api("answerPreCheckoutQuery", pre_checkout_query_id=query["id"], ok=True)["ok"]
        result = outcome.result(timeout=15)
    assert result["status"] == "paid", result
    paid = played.next("message")
    successful = paid["successful_payment"]
    assert successful == result["successful_payment"]
    assert successful["total_amount"] == 2300 and successful["currency"] == "EUR"
    assert successful["shipping_option_id"] == "express"
    assert successful["order_info"] == query["order_info"]
    assert successful["telegram_payment_charge_id"]
    assert successful["provider_payment_charge_id"].startswith("ch_")
    assert paid["from"]["id"] == 1001 and paid["chat"]["id"] == 1001
    assert paid["reply_to_message"]["message_id"] == invoice["message_id"]
    [charge] = sandbox.payments()
    assert charge["telegram_payment_charge_id"] == successful["telegram_payment_charge_id"]
    assert charge["total_amount"] == 2300 and not charge["refunded"]
    assert sandbox.invoices(chat_id=1001)[0]["paid"]


def test_shipping_refused_by_the_bot_ends_the_payment(
    api: RawApi, sandbox: SandboxClient, played: PlayedBot
) -> None:
    api("sendInvoice", **DELIVERY)
    with paying(sandbox) as start:
        outcome = start(1001, order_info=ORDER_INFO)
        shipping = played.next("shipping_query")
        missing = api("answerShippingQuery", shipping_query_id=shipping["id"], ok=False)
        assert missing["description"] == 'Bad Request: Parameter "error_message" is required'
        api(
            "answerShippingQuery",
            shipping_query_id=shipping["id"],
            ok=False,
            error_message="No repartimos en ese código postal",
        )
        result = outcome.result(timeout=15)
    assert result["status"] == "failed" and result["stage"] == "shipping"
    assert result["error"] == "No repartimos en ese código postal"
    played.updates()
    assert "pre_checkout_query" not in played.kinds()
    assert sandbox.payments() == []


@pytest.mark.parametrize(
    ("options", "description"),
    [
        (None, 'Parameter "shipping_options" is required'),
        ("[", "Can't parse shipping options JSON object"),
        ({"id": "a"}, "Expected an Array of shipping options"),
        ([], "There must be at least one shipping option"),
        (
            [{"title": "Centro", "prices": []}],
            "Can't parse shipping option: Can't find field \"id\"",
        ),
        (
            [{"id": "", "title": "C", "prices": []}],
            "Can't parse shipping option: ShippingOption identifier must be non-empty",
        ),
        ([{"id": "c", "prices": []}], "Can't parse shipping option: Can't find field \"title\""),
        (
            [{"id": "c", "title": "", "prices": []}],
            "Can't parse shipping option: ShippingOption title must be non-empty",
        ),
        (
            [{"id": "c", "title": "C", "prices": []}],
            PRICES_ERROR + "There must be at least one price",
        ),
        (
            [{"id": "c", "title": "C", "prices": [{"amount": 1}]}],
            PRICES_ERROR + "Can't parse labeled price: Can't find field \"label\"",
        ),
    ],
)
def test_answer_shipping_query_checks_the_options(
    api: RawApi, sandbox: SandboxClient, played: PlayedBot, options: Any, description: str
) -> None:
    api("sendInvoice", **DELIVERY)
    with paying(sandbox) as start:
        outcome = start(1001, order_info=ORDER_INFO)
        shipping = played.next("shipping_query")
        params = {"shipping_query_id": shipping["id"], "ok": True}
        if options is not None:
            params["shipping_options"] = options
        assert api("answerShippingQuery", **params)["description"] == f"Bad Request: {description}"
        # The query is still open: a good answer goes through.
        api("answerShippingQuery", **{**params, "shipping_options": SHIPPING_OPTIONS[:1]})
        query = played.next("pre_checkout_query")
        api("answerPreCheckoutQuery", pre_checkout_query_id=query["id"], ok=True)
        assert outcome.result(timeout=15)["status"] == "paid"


def test_no_pre_checkout_answer_in_time_fails_with_bot_precheckout_timeout(
    api: RawApi, sandbox: SandboxClient, played: PlayedBot
) -> None:
    sandbox.configure(precheckout_timeout=0.5)  # Telegram's 10 s, shortened for the test
    invoice = api("sendInvoice", **PICKUP)["result"]
    since = sandbox.info()["seq"]
    with paying(sandbox) as start:
        outcome = start(1001, order_info=ORDER_INFO)
        query = played.next("pre_checkout_query")
        result = outcome.result(timeout=15)
    assert result == {
        "status": "failed",
        "stage": "pre_checkout",
        "error": "BOT_PRECHECKOUT_TIMEOUT",
        "pre_checkout_query_id": query["id"],
    }
    late = api("answerPreCheckoutQuery", pre_checkout_query_id=query["id"], ok=True)
    assert late["description"] == QUERY_TOO_OLD
    # The user sees it where they paid (the web chat follows these events).
    events = sandbox.wait_events(since=since, chat_id=1001, timeout=5)["events"]
    shown = [event for event in events if event["type"] == "payment"]
    assert shown[-1]["error"] == "BOT_PRECHECKOUT_TIMEOUT"
    assert shown[-1]["invoice_message_id"] == invoice["message_id"]
    assert sandbox.payments() == []
    played.updates()
    assert "message" not in played.kinds()


def test_pre_checkout_refused_and_answers_checked(
    api: RawApi, sandbox: SandboxClient, played: PlayedBot
) -> None:
    api("sendInvoice", **PICKUP)
    with paying(sandbox) as start:
        outcome = start(1001, order_info=ORDER_INFO)
        query = played.next("pre_checkout_query")
        missing = api("answerPreCheckoutQuery", pre_checkout_query_id=query["id"], ok=False)
        assert missing["description"] == 'Bad Request: Parameter "error_message" is required'
        unknown = api("answerPreCheckoutQuery", pre_checkout_query_id="123", ok=True)
        assert unknown["description"] == QUERY_TOO_OLD
        error = "Se agotó la pizza margarita"
        assert api(
            "answerPreCheckoutQuery",
            pre_checkout_query_id=query["id"],
            ok=False,
            error_message=error,
        )["ok"]
        again = api("answerPreCheckoutQuery", pre_checkout_query_id=query["id"], ok=True)
        assert again["description"] == QUERY_TOO_OLD
        result = outcome.result(timeout=15)
    assert result["status"] == "failed" and result["error"] == error
    assert sandbox.payments() == []


def test_a_declined_card_fails_after_the_bot_said_yes(
    api: RawApi, sandbox: SandboxClient, played: PlayedBot
) -> None:
    api("sendInvoice", **PICKUP)
    with paying(sandbox) as start:
        outcome = start(1001, order_info=ORDER_INFO, decline=True)
        query = played.next("pre_checkout_query")
        api("answerPreCheckoutQuery", pre_checkout_query_id=query["id"], ok=True)
        result = outcome.result(timeout=15)
    assert result["status"] == "failed" and result["stage"] == "provider"
    assert result["error"] == "CARD_DECLINED"
    assert sandbox.payments() == []
    assert not sandbox.invoices(chat_id=1001)[0]["paid"]


def test_a_tampered_pre_checkout_query(
    api: RawApi, sandbox: SandboxClient, played: PlayedBot
) -> None:
    api("sendInvoice", **PICKUP)
    with paying(sandbox) as start:
        outcome = start(1001, order_info=ORDER_INFO, total_amount=1, invoice_payload="P-OTRO.sig")
        query = played.next("pre_checkout_query")
        assert query["total_amount"] == 1 and query["invoice_payload"] == "P-OTRO.sig"
        api(
            "answerPreCheckoutQuery",
            pre_checkout_query_id=query["id"],
            ok=False,
            error_message="El importe no coincide con el pedido",
        )
        assert outcome.result(timeout=15)["error"] == "El importe no coincide con el pedido"


def test_repeated_successful_payment_has_the_same_charge_ids(
    api: RawApi, sandbox: SandboxClient, played: PlayedBot
) -> None:
    api("sendInvoice", **PICKUP)
    with paying(sandbox) as start:
        outcome = start(1001, order_info=ORDER_INFO)
        query = played.next("pre_checkout_query")
        api("answerPreCheckoutQuery", pre_checkout_query_id=query["id"], ok=True)
        first = outcome.result(timeout=15)["successful_payment"]
    played.next("message")
    again = sandbox.repeat_successful_payment(first["telegram_payment_charge_id"])
    assert again.successful_payment == first
    second = played.next("message")
    assert second["successful_payment"] == first
    assert second["message_id"] == again.message_id
    assert len(sandbox.payments()) == 1
    with pytest.raises(SandboxError) as paid_twice:
        sandbox.private_chat(user_id=1001, first_name="Ana").pay(
            message_id=sandbox.invoices(chat_id=1001)[0]["message_id"], order_info=ORDER_INFO
        )
    assert paid_twice.value.status == 409


def test_the_payer_fills_in_what_the_invoice_asks(sandbox: SandboxClient, api: RawApi) -> None:
    sandbox.private_chat(user_id=1001, first_name="Ana")
    api("sendInvoice", **DELIVERY)
    chat = sandbox.private_chat(user_id=1001, first_name="Ana")
    with pytest.raises(SandboxError, match=r"order_info\.phone_number"):
        chat.pay(order_info={"name": "Ana", "shipping_address": ADDRESS})
    with pytest.raises(SandboxError, match="post_code"):
        chat.pay(order_info={**ORDER_INFO, "shipping_address": {**ADDRESS, "post_code": ""}})


def test_stars_payment_refund_and_transactions(
    api: RawApi, sandbox: SandboxClient, played: PlayedBot
) -> None:
    api("sendInvoice", **STARS)
    with paying(sandbox) as start:
        outcome = start(1001)
        query = played.next("pre_checkout_query")
        assert query["currency"] == "XTR" and query["total_amount"] == 50
        assert "order_info" not in query  # Stars invoices ask for nothing
        api("answerPreCheckoutQuery", pre_checkout_query_id=query["id"], ok=True)
        paid = outcome.result(timeout=15)["successful_payment"]
    assert paid["provider_payment_charge_id"] == ""
    charge_id = paid["telegram_payment_charge_id"]
    played.next("message")
    assert sandbox.stars()["balance"] == 50

    assert api("refundStarPayment", user_id=1001, telegram_payment_charge_id=charge_id) == {
        "ok": True,
        "result": True,
    }
    refunded = played.next("message")["refunded_payment"]
    assert refunded == {
        "currency": "XTR",
        "total_amount": 50,
        "invoice_payload": "P-7K2Q4F.sig",
        "telegram_payment_charge_id": charge_id,
    }
    twice = api("refundStarPayment", user_id=1001, telegram_payment_charge_id=charge_id)
    assert (twice["error_code"], twice["description"]) == (
        400,
        "Bad Request: CHARGE_ALREADY_REFUNDED",
    )
    other = api("refundStarPayment", user_id=1001, telegram_payment_charge_id="stxnada")
    assert other["description"] == "Bad Request: CHARGE_NOT_FOUND"
    no_user = api("refundStarPayment", telegram_payment_charge_id=charge_id)
    assert no_user["description"] == "Bad Request: Invalid user_id specified"
    transactions = api("getStarTransactions")["result"]["transactions"]
    assert [("receiver" in t, "source" in t, t["id"], t["amount"]) for t in transactions] == [
        (True, False, charge_id, 50),
        (False, True, charge_id, 50),
    ]
    assert transactions[1]["source"]["user"]["id"] == 1001
    assert transactions[1]["source"]["transaction_type"] == "invoice_payment"
    assert api("getStarTransactions", offset=1, limit=1)["result"]["transactions"] == [
        transactions[1]
    ]
    assert sandbox.stars()["balance"] == 0
    assert sandbox.payments()[0]["refunded"]


def test_stars_subscription_link_paid_by_a_user(
    api: RawApi, sandbox: SandboxClient, played: PlayedBot
) -> None:
    link = api("createInvoiceLink", **{**STARS, "subscription_period": 2592000})["result"]
    client = SandboxClient(sandbox.url)
    with ThreadPoolExecutor(1) as pool:
        outcome = pool.submit(client.pay_invoice_link, link, {"id": 2002, "first_name": "Luis"})
        query = played.next("pre_checkout_query")
        assert query["from"]["id"] == 2002
        api("answerPreCheckoutQuery", pre_checkout_query_id=query["id"], ok=True)
        result = outcome.result(timeout=15)
    client.close()
    paid = result["successful_payment"]
    assert paid["is_recurring"] and paid["is_first_recurring"]
    message = played.next("message")
    assert message["chat"]["id"] == 2002
    assert paid["subscription_expiration_date"] == message["date"] + 2592000


@pytest.mark.parametrize(
    ("allowed", "delivered"),
    [
        (["message"], False),
        (["message", "pre_checkout_query"], True),
        ([], True),  # an empty list means the default: every update but chat_member & reactions
    ],
)
def test_allowed_updates_decide_whether_the_bot_sees_the_query(
    api: RawApi,
    sandbox: SandboxClient,
    played: PlayedBot,
    allowed: list[str],
    delivered: bool,
) -> None:
    sandbox.configure(precheckout_timeout=1.0)
    api("getUpdates", allowed_updates=allowed)
    api("sendInvoice", **PICKUP)
    with paying(sandbox) as start:
        outcome = start(1001, order_info=ORDER_INFO)
        result = outcome.result(timeout=15)
    played.updates()
    assert ("pre_checkout_query" in played.kinds()) is delivered
    assert result["error"] == "BOT_PRECHECKOUT_TIMEOUT"


def test_webhook_allowed_updates_include_the_payment_queries(
    api: RawApi, sandbox: SandboxClient
) -> None:
    sandbox.private_chat(user_id=1001, first_name="Ana")
    sandbox.configure(precheckout_timeout=0.5)
    api("sendInvoice", **DELIVERY)
    # Nothing listens there: the queued updates show what the webhook gets.
    api("setWebhook", url="https://127.0.0.1:8443/hook", allowed_updates=["shipping_query"])
    assert sandbox.webhook_info()["allowed_updates"] == ["shipping_query"]
    sandbox.configure(shipping_timeout=0.5)
    result = sandbox.private_chat(user_id=1001, first_name="Ana").pay(order_info=ORDER_INFO)
    assert result["stage"] == "shipping" and result["error"] == "BOT_RESPONSE_TIMEOUT"
    kinds = [next(k for k in u if k != "update_id") for u in sandbox.pending_updates()]
    assert "shipping_query" in kinds and "message" not in kinds


def test_order_info_validated_first_then_paid_without_a_second_shipping_query(
    api: RawApi, sandbox: SandboxClient, played: PlayedBot
) -> None:
    # The payment form's two steps (TDLib's validateOrderInfo, then the payment), as the web
    # chat and Telegram's apps do them.
    api("sendInvoice", **DELIVERY)
    client = SandboxClient(sandbox.url)
    chat = client.private_chat(user_id=1001, first_name="Ana")
    with ThreadPoolExecutor(1) as pool:
        validating = pool.submit(chat.validate_order_info, ORDER_INFO)
        shipping = played.next("shipping_query")
        api(
            "answerShippingQuery",
            shipping_query_id=shipping["id"],
            ok=True,
            shipping_options=SHIPPING_OPTIONS,
        )
        validated = validating.result(timeout=15)
        assert validated["status"] == "validated"
        assert [o["id"] for o in validated["shipping_options"]] == ["centro", "express"]
        paying_ = pool.submit(
            chat.pay, order_info_id=validated["order_info_id"], shipping_option_id="centro"
        )
        query = played.next("pre_checkout_query")
        assert query["total_amount"] == 1800 + 250 and query["shipping_option_id"] == "centro"
        api("answerPreCheckoutQuery", pre_checkout_query_id=query["id"], ok=True)
        assert paying_.result(timeout=15)["status"] == "paid"
    client.close()
    assert played.kinds().count("shipping_query") == 1
    api("sendInvoice", **DELIVERY)  # an order info is validated for one invoice only
    with pytest.raises(SandboxError, match="no validated order info"):
        sandbox.private_chat(user_id=1001, first_name="Ana").pay(order_info_id="nada")


def test_a_waiting_payment_blocks_nothing_else(
    api: RawApi, sandbox: SandboxClient, played: PlayedBot
) -> None:
    # Ana's payment waits for a pre-checkout answer that never comes; meanwhile Luis pays the
    # same shop and the bot keeps sending: the sandbox serves them all while Ana's waits.
    sandbox.configure(precheckout_timeout=3.0)
    sandbox.private_chat(user_id=2002, first_name="Luis")
    api("sendInvoice", **PICKUP)
    api("sendInvoice", **{**PICKUP, "chat_id": 2002})
    with paying(sandbox) as start:
        ana = start(1001, order_info=ORDER_INFO)
        first = played.next("pre_checkout_query")
        assert first["from"]["id"] == 1001
        luis = start(2002, first_name="Luis", order_info=ORDER_INFO)
        second = played.next("pre_checkout_query")
        assert second["from"]["id"] == 2002
        assert api("sendMessage", chat_id=1001, text="Un momento…")["ok"]
        api("answerPreCheckoutQuery", pre_checkout_query_id=second["id"], ok=True)
        assert luis.result(timeout=10)["status"] == "paid"
        assert not ana.done()
        assert ana.result(timeout=10)["error"] == "BOT_PRECHECKOUT_TIMEOUT"
