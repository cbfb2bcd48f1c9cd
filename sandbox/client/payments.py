"""Paying through the client: a chat's user pays its invoices, anyone pays an invoice link;
charges, Stars and invoices as the sandbox recorded them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.client.messages import Message

if TYPE_CHECKING:
    from sandbox.client.api import SandboxClient


def _payment_body(
    order_info: dict[str, Any] | None,
    shipping_option_id: str | None,
    tip_amount: int,
    decline: bool,
    tamper: dict[str, Any],
) -> dict[str, Any]:
    body: dict[str, Any] = {"tip_amount": tip_amount, "decline": decline}
    if order_info is not None:
        body["order_info"] = order_info
    if shipping_option_id is not None:
        body["shipping_option_id"] = shipping_option_id
    body.update({name: value for name, value in tamper.items() if value is not None})
    return body


class ChatPayments:
    """What a chat's user does with the bot's invoices."""

    client: SandboxClient
    chat_id: int
    user: dict[str, Any]

    def pay(
        self,
        message_id: int | None = None,
        order_info: dict[str, Any] | None = None,
        shipping_option_id: str | None = None,
        tip_amount: int = 0,
        decline: bool = False,
        total_amount: int | None = None,
        invoice_payload: str | None = None,
        currency: str | None = None,
        order_info_id: str | None = None,
    ) -> dict[str, Any]:
        """Pay the latest unpaid invoice (or `message_id`'s) and wait for the outcome.

        `order_info` is the Bot API's OrderInfo (name, phone_number, email, shipping_address);
        `decline` makes the card fail at the provider after the bot's pre-checkout answer;
        `total_amount`, `invoice_payload`, `currency` send a tampered pre-checkout query;
        `order_info_id` (from validate_order_info) pays with that info and its options.
        Returns {"status": "paid", "successful_payment", "message_id", …} or
        {"status": "failed", "stage", "error"} (e.g. "BOT_PRECHECKOUT_TIMEOUT").
        """
        body = _payment_body(
            order_info,
            shipping_option_id,
            tip_amount,
            decline,
            {
                "total_amount": total_amount,
                "invoice_payload": invoice_payload,
                "currency": currency,
            },
        )
        if order_info_id is not None:
            body["order_info_id"] = order_info_id
        return self._payment_call("pay", body, message_id)

    def validate_order_info(
        self, order_info: dict[str, Any] | None = None, message_id: int | None = None
    ) -> dict[str, Any]:
        """The payment form's first step: {"status": "validated", "order_info_id",
        "shipping_options"} (the bot's, for a flexible invoice) or the failed outcome."""
        body = {} if order_info is None else {"order_info": order_info}
        return self._payment_call("order_info", body, message_id)

    def _payment_call(
        self, step: str, body: dict[str, Any], message_id: int | None
    ) -> dict[str, Any]:
        body["from"] = self.user
        if message_id is not None:
            body["message_id"] = message_id
        result: dict[str, Any] = self.client._post(f"/chats/{self.chat_id}/{step}", json=body)
        return result

    def invoices(self) -> list[dict[str, Any]]:
        """The bot's invoices in this chat, oldest first."""
        return self.client.invoices(chat_id=self.chat_id)


class ClientPayments:
    """Payments as the whole sandbox sees them."""

    def _get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        raise NotImplementedError

    def _post(self, path: str, **kwargs: Any) -> Any:
        raise NotImplementedError

    def pay_invoice_link(
        self,
        link: str,
        user: dict[str, Any],
        order_info: dict[str, Any] | None = None,
        shipping_option_id: str | None = None,
        tip_amount: int = 0,
        decline: bool = False,
    ) -> dict[str, Any]:
        """`user` (a User spec with an id) pays a createInvoiceLink link; as Chat.pay."""
        slug = link.rsplit("/", 1)[-1].lstrip("$")
        body = _payment_body(order_info, shipping_option_id, tip_amount, decline, {})
        result: dict[str, Any] = self._post(
            f"/invoice_links/{slug}/pay", json={**body, "from": user}
        )
        return result

    def repeat_successful_payment(self, telegram_payment_charge_id: str) -> Message:
        """The successful_payment message of that charge once more, as a new update."""
        data = self._post(f"/payments/{telegram_payment_charge_id}/repeat")
        return Message.from_json(data)

    def payments(self) -> list[dict[str, Any]]:
        """Every charge: both charge ids, user, chat, amount, payload, refunded."""
        return list(self._get("/payments"))

    def invoices(self, chat_id: int | None = None) -> list[dict[str, Any]]:
        """The bot's invoices (messages and links), as sent."""
        params = {} if chat_id is None else {"chat_id": chat_id}
        return list(self._get("/invoices", params))

    def stars(self) -> dict[str, Any]:
        """The bot's Telegram Stars: {"balance", "transactions"} (oldest first)."""
        return dict(self._get("/stars"))
