"""A local mail server for tests (aiosmtpd): STARTTLS with a self-signed certificate made for
the test, or TLS from the first byte (smtps), login required over TLS; it keeps every message
it accepts, as `email.message.EmailMessage`."""

from __future__ import annotations

import ssl
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.support.processes import free_port

USER, PASSWORD = "tienda", "s3creta-de-prueba"


def self_signed(folder: Path) -> tuple[Path, Path]:
    """(certificate, key) for 127.0.0.1 and localhost, made with openssl."""
    cert, key = folder / "smtp.crt", folder / "smtp.key"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


@dataclass
class Inbox:
    messages: list[EmailMessage] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        return "250 OK"

    def authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
            USER.encode(),
            PASSWORD.encode(),
        )
        if ok:
            encrypted = server.transport.get_extra_info("sslcontext") is not None
            self.logins.append(f"{mechanism}:{encrypted}")
        return AuthResult(success=ok)


class MailServer:
    """A server on 127.0.0.1: STARTTLS required (smtp://), or TLS at once (smtps://). It can
    be stopped and started again on the same port, with the same certificate and inbox."""

    def __init__(self, folder: Path, implicit_tls: bool = False) -> None:
        self.cert, key = self_signed(folder)
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.context.load_cert_chain(self.cert, key)
        self.implicit_tls = implicit_tls
        self.inbox, self.port = Inbox(), free_port()
        scheme = "smtps" if implicit_tls else "smtp"
        self.url = f"{scheme}://{USER}:{PASSWORD}@127.0.0.1:{self.port}"
        self.controller: Controller | None = None

    def start(self) -> MailServer:
        options: dict[str, Any] = {"authenticator": self.inbox.authenticate, "auth_required": True}
        if self.implicit_tls:
            # aiosmtpd's own TLS check only knows STARTTLS; the connection is TLS from the start.
            options.update(ssl_context=self.context, auth_require_tls=False)
        else:
            options.update(tls_context=self.context, require_starttls=True)
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port, **options)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@contextmanager
def mail_server(folder: Path, implicit_tls: bool = False) -> Iterator[MailServer]:
    server = MailServer(folder, implicit_tls).start()
    try:
        yield server
    finally:
        server.stop()
