"""sendInvoice and createInvoiceLink over HTTP: Telegram's limits and error descriptions, and
the invoice message a chat gets."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox.client import SandboxClient
from sandbox.payments import DEFAULT_PROVIDER_TOKEN
from tests.sandbox.conftest import RawApi

FIAT: dict[str, Any] = {
    "chat_id": 1001,
    "title": "Pedido P-7K2Q4F",
    "description": "2 pizzas margarita y una fanta",
    "payload": "P-7K2Q4F.sig",
    "provider_token": DEFAULT_PROVIDER_TOKEN,
    "currency": "EUR",
    "prices": [{"label": "2 pizzas", "amount": 1800}, {"label": "Envío", "amount": 250}],
}
STARS: dict[str, Any] = {
    **FIAT,
    "provider_token": "",
    "currency": "XTR",
    "prices": [{"label": "Receta en PDF", "amount": 50}],
}


@pytest.fixture
def ana(sandbox: SandboxClient) -> None:
    sandbox.private_chat(user_id=1001, first_name="Ana")


def refused(api: RawApi, method: str, **params: Any) -> str:
    answer = api(method, **params)
    assert answer["ok"] is False, answer
    assert answer["error_code"] == 400
    return str(answer["description"]).removeprefix("Bad Request: ")


@pytest.mark.usefixtures("ana")
def test_send_invoice_makes_an_invoice_message_with_a_pay_button(api: RawApi) -> None:
    answer = api("sendInvoice", **FIAT)
    assert answer["ok"], answer
    message = answer["result"]
    assert message["invoice"] == {
        "title": "Pedido P-7K2Q4F",
        "description": "2 pizzas margarita y una fanta",
        "start_parameter": "",
        "currency": "EUR",
        "total_amount": 2050,
    }
    assert message["reply_markup"] == {"inline_keyboard": [[{"text": "Pay 20,50 €", "pay": True}]]}
    assert "text" not in message


@pytest.mark.usefixtures("ana")
def test_stars_invoice_and_its_pay_button(api: RawApi, sandbox: SandboxClient) -> None:
    message = api("sendInvoice", **STARS)["result"]
    assert message["invoice"]["currency"] == "XTR"
    assert message["invoice"]["total_amount"] == 50
    assert message["reply_markup"]["inline_keyboard"][0][0] == {"text": "Pay ⭐️50", "pay": True}
    shown = sandbox.private_chat(user_id=1001, first_name="Ana").last_bot_message()
    assert shown is not None and shown.invoice == message["invoice"]


@pytest.mark.usefixtures("ana")
def test_own_keyboard_must_start_with_the_pay_button(api: RawApi) -> None:
    pay_first = {"inline_keyboard": [[{"text": "Pagar 20,50 €", "pay": True}], [
        {"text": "Cancelar", "callback_data": "c"}]]}  # fmt: skip
    assert api("sendInvoice", **FIAT, reply_markup=pay_first)["result"]["reply_markup"] == pay_first
    no_pay = {"inline_keyboard": [[{"text": "Cancelar", "callback_data": "c"}]]}
    assert refused(api, "sendInvoice", **FIAT, reply_markup=no_pay) == "REPLY_MARKUP_BUY_EMPTY"


def _prices(*amounts: int) -> list[dict[str, Any]]:
    return [{"label": f"línea {n}", "amount": amount} for n, amount in enumerate(amounts)]


BAD_INVOICES = [
    # telegram-bot-api's own checks (Client::get_input_message_invoice)
    ({"title": ""}, 'Parameter "title" is required'),
    ({"description": None}, 'Parameter "description" is required'),
    ({"payload": ""}, 'Parameter "payload" is required'),
    ({"currency": ""}, 'Parameter "currency" is required'),
    ({"prices": None}, 'Parameter "prices" is required'),
    ({"prices": "[{"}, "Can't parse prices JSON object"),
    ({"prices": {"label": "x", "amount": 1}}, "Expected an Array of labeled prices"),
    ({"prices": []}, "There must be at least one price"),
    ({"prices": [5]}, "Can't parse labeled price: LabeledPrice must be an Object"),
    ({"prices": [{"amount": 100}]}, "Can't parse labeled price: Can't find field \"label\""),
    (
        {"prices": [{"label": "", "amount": 100}]},
        "Can't parse labeled price: LabeledPrice label must be non-empty",
    ),
    ({"prices": [{"label": "x"}]}, "Can't parse labeled price: Can't find field \"amount\""),
    (
        {"prices": [{"label": "x", "amount": 12.5}]},
        'Can\'t parse labeled price: Field "amount" must be a valid Number',
    ),
    ({"max_tip_amount": "mucho"}, 'Can\'t parse "max_tip_amount" as Number'),
    (
        {"max_tip_amount": 500, "suggested_tip_amounts": "[1,"},
        "Can't parse suggested_tip_amounts JSON object",
    ),
    (
        {"max_tip_amount": 500, "suggested_tip_amounts": [[100]]},
        "Suggested tip amount must be of type Number or String",
    ),
    # TDLib's (process_input_message_invoice)
    ({"prices": _prices(100, -100)}, "Total price must be positive"),
    ({"prices": _prices(10**13)}, "Too big amount of the currency specified"),
    ({"max_tip_amount": -1}, "Invalid max_tip_amount of the currency specified"),
    (
        {"max_tip_amount": 500, "suggested_tip_amounts": [0]},
        "Suggested tip amount must be positive",
    ),
    (
        {"max_tip_amount": 500, "suggested_tip_amounts": [600]},
        "Suggested tip amount can't be bigger than max_tip_amount",
    ),
    (
        {"max_tip_amount": 500, "suggested_tip_amounts": [1, 2, 3, 4, 5]},
        "There can be at most 4 suggested tip amounts",
    ),
    # Telegram's
    ({"title": "x" * 33}, "TITLE_INVALID"),
    ({"description": "x" * 256}, "DESCRIPTION_INVALID"),
    ({"payload": "ñ" * 65}, "INVOICE_PAYLOAD_INVALID"),
    ({"currency": "EURO"}, "CURRENCY_INVALID"),
    ({"provider_token": ""}, "PAYMENT_PROVIDER_INVALID"),
    ({"provider_token": "123:LIVE:unknown"}, "PAYMENT_PROVIDER_INVALID"),
    ({"max_tip_amount": 500, "suggested_tip_amounts": [100, 100]}, "SUGGESTED_TIP_AMOUNTS_INVALID"),
    ({"max_tip_amount": 500, "suggested_tip_amounts": [200, 100]}, "SUGGESTED_TIP_AMOUNTS_INVALID"),
    ({"prices": _prices(50)}, "CURRENCY_TOTAL_AMOUNT_INVALID"),  # under EUR's ~1 US$
    ({"prices": _prices(1_000_000)}, "CURRENCY_TOTAL_AMOUNT_INVALID"),  # over ~10,000 US$
    ({"currency": "CLP", "prices": _prices(500)}, "CURRENCY_TOTAL_AMOUNT_INVALID"),  # no decimals
    ({"subscription_period": 2592000}, "SUBSCRIPTION_EXPORT_MISSING"),
]


@pytest.mark.usefixtures("ana")
@pytest.mark.parametrize(("change", "description"), BAD_INVOICES)
def test_send_invoice_refuses_what_telegram_refuses(
    api: RawApi, change: dict[str, Any], description: str
) -> None:
    params = {**FIAT, **change}
    params = {name: value for name, value in params.items() if value is not None}
    assert refused(api, "sendInvoice", **params) == description


BAD_STARS = [
    ({"provider_token": DEFAULT_PROVIDER_TOKEN}, "STARS_INVOICE_INVALID"),
    ({"prices": _prices(20, 30)}, "STARS_INVOICE_INVALID"),
    ({"max_tip_amount": 10}, "STARS_INVOICE_INVALID"),
    ({"max_tip_amount": 10, "suggested_tip_amounts": [5]}, "STARS_INVOICE_INVALID"),
    ({"prices": _prices(10_001)}, "CURRENCY_TOTAL_AMOUNT_INVALID"),
]


@pytest.mark.usefixtures("ana")
@pytest.mark.parametrize(("change", "description"), BAD_STARS)
def test_stars_invoices_take_no_token_one_price_and_no_tips(
    api: RawApi, change: dict[str, Any], description: str
) -> None:
    assert refused(api, "sendInvoice", **{**STARS, **change}) == description


@pytest.mark.usefixtures("ana")
def test_limits_are_inclusive(api: RawApi) -> None:
    edge = {
        "title": "x" * 32,
        "description": "y" * 255,
        "payload": "ñ" * 64,  # 128 bytes
        "max_tip_amount": 500,
        "suggested_tip_amounts": [100, 200, 300, "500"],
        "prices": _prices(93),  # EUR's smallest total
    }
    assert api("sendInvoice", **{**FIAT, **edge})["ok"]
    assert api("sendInvoice", **{**FIAT, "prices": _prices(930690)})["ok"]
    assert api("sendInvoice", **{**FIAT, "currency": "CLP", "prices": _prices(935)})["ok"]
    assert api("sendInvoice", **{**STARS, "prices": _prices(10_000)})["ok"]


@pytest.mark.usefixtures("ana")
def test_a_flexible_invoice_asks_for_the_shipping_address(
    api: RawApi, sandbox: SandboxClient
) -> None:
    # As TDLib does: is_flexible makes the invoice ask for an address, so a flexible invoice is
    # never without one.
    api("sendInvoice", **FIAT, is_flexible=True)
    [invoice] = sandbox.invoices(chat_id=1001)
    assert invoice["is_flexible"] and invoice["need_shipping_address"]


@pytest.mark.usefixtures("ana")
def test_provider_tokens_are_configurable(api: RawApi, sandbox: SandboxClient) -> None:
    live = "350862534:LIVE:shop"
    assert refused(api, "sendInvoice", **{**FIAT, "provider_token": live}) == (
        "PAYMENT_PROVIDER_INVALID"
    )
    sandbox.configure(provider_tokens=[live])
    assert api("sendInvoice", **{**FIAT, "provider_token": live})["ok"]
    assert refused(api, "sendInvoice", **FIAT) == "PAYMENT_PROVIDER_INVALID"
    sandbox.reset()
    sandbox.private_chat(user_id=1001, first_name="Ana")
    assert api("sendInvoice", **FIAT)["ok"]


def test_invoice_form_fields_as_strings(api: RawApi, sandbox: SandboxClient) -> None:
    # A form-encoded call carries prices and tips as JSON strings, as PTB and requests send them.
    sandbox.private_chat(user_id=1001, first_name="Ana")
    form = {
        **FIAT,
        "prices": '[{"label": "Pizza", "amount": "1800"}]',
        "max_tip_amount": "300",
        "suggested_tip_amounts": "[100, 200]",
    }
    answer = api.post("sendInvoice", data=form).json()
    assert answer["ok"], answer
    assert answer["result"]["invoice"]["total_amount"] == 1800


def test_create_invoice_link_rules(api: RawApi) -> None:
    link = api("createInvoiceLink", **{**FIAT, "chat_id": None})
    assert link["ok"] and link["result"].startswith("https://t.me/$")
    monthly = {**STARS, "subscription_period": 2592000}
    assert api("createInvoiceLink", **monthly)["ok"]
    for wrong in (
        {**monthly, "subscription_period": 86400},
        {**FIAT, "subscription_period": 2592000},
    ):
        assert refused(api, "createInvoiceLink", **wrong) == "SUBSCRIPTION_PERIOD_INVALID"
    assert refused(api, "createInvoiceLink", **{**monthly, "prices": _prices(10_001)}) == (
        "CURRENCY_TOTAL_AMOUNT_INVALID"
    )
    assert refused(api, "createInvoiceLink", **{**FIAT, "payload": "x" * 129}) == (
        "INVOICE_PAYLOAD_INVALID"
    )


def test_send_invoice_needs_a_known_chat(api: RawApi) -> None:
    assert refused(api, "sendInvoice", **{**FIAT, "chat_id": 4242}) == "chat not found"


def test_a_sandbox_started_with_the_shops_provider_token_keeps_it() -> None:
    # `python -m sandbox --provider-token …` (default: $PAYMENT_PROVIDER_TOKEN) does the same.
    from sandbox import run_in_thread

    live = "350862534:LIVE:shop"
    with run_in_thread(provider_tokens=(live,)) as server:
        server.client.private_chat(user_id=1001, first_name="Ana")
        api = RawApi(server.client)
        assert api("sendInvoice", **{**FIAT, "provider_token": live})["ok"]
        server.client.reset()
        server.client.private_chat(user_id=1001, first_name="Ana")
        assert api("sendInvoice", **{**FIAT, "provider_token": live})["ok"]
        assert api("sendInvoice", **FIAT)["ok"]
        api.session.close()
