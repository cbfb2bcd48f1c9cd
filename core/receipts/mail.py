"""A receipt by email: the message (its PDF attached, a Message-ID that is the receipt's own,
so a retried send is recognisably the same message) and its delivery over SMTP (stdlib).

SMTP_URL is `smtp://user:password@host:587` (the connection is upgraded with STARTTLS, which
the server must offer: a password never crosses in the clear) or `smtps://…@host:465` (TLS
from the first byte). The server's certificate is checked against the system's CAs
(SSL_CERT_FILE points elsewhere)."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formataddr, formatdate
from urllib.parse import unquote, urlsplit

from core import money, texts
from core.receipts.model import Receipt
from core.receipts.shop import Shop

STARTTLS_PORT, TLS_PORT = 587, 465


class MailSettingsError(ValueError):
    """SMTP_URL cannot be used; the message says why (never the password)."""


def message_id(receipt: Receipt, sender: str) -> str:
    """The same for every send of one receipt: `<factura-2026-000123@shop.example>`."""
    domain = sender.rpartition("@")[2] or "pedidos-bot.invalid"
    return f"<factura-{receipt.number}.{receipt.id}@{domain}>"


def receipt_message(receipt: Receipt, pdf: bytes, shop: Shop, sender: str) -> EmailMessage:
    lang = receipt.language
    total = money.format_amount(receipt.total, receipt.currency, lang)
    values = {"number": receipt.number, "shop": shop.name, "id": receipt.order_id}
    message = EmailMessage()
    message["Subject"] = texts.plain(lang, "receipt.email_subject", **values)
    message["From"] = formataddr((shop.name, sender))
    message["To"] = receipt.email
    message["Date"] = formatdate(receipt.issued_at, localtime=False)
    message["Message-ID"] = message_id(receipt, sender)
    message.set_content(texts.plain(lang, "receipt.email_body", total=total, **values))
    message.add_attachment(pdf, maintype="application", subtype="pdf", filename=receipt.file_name)
    return message


def send_mail(url: str, message: EmailMessage, timeout: float) -> None:
    """Hand `message` to the SMTP server of `url`; smtplib's errors (SMTPException, OSError)
    pass through for the caller to retry or give up."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise MailSettingsError("SMTP_URL must be smtp://user:password@host:587 or smtps://…")
    context = ssl.create_default_context()
    host = parts.hostname
    if parts.scheme == "smtps":
        client: smtplib.SMTP = smtplib.SMTP_SSL(
            host, parts.port or TLS_PORT, timeout=timeout, context=context
        )
    else:
        client = smtplib.SMTP(host, parts.port or STARTTLS_PORT, timeout=timeout)
    with client:
        if parts.scheme == "smtp":
            client.starttls(context=context)  # SMTPNotSupportedError when not offered
        if parts.username:
            client.login(unquote(parts.username), unquote(parts.password or ""))
        client.send_message(message)
