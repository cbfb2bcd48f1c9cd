"""A scripted payment service on a free loopback port (the real one is outside our reach)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class PaymentService:
    """Answers each POST with the next scripted status, then with `default` forever."""

    def __init__(self) -> None:
        self.script: list[tuple[int, dict[str, str]]] = []
        self.default: tuple[int, dict[str, str]] = (200, {"status": "approved"})
        self.calls: list[dict[str, object]] = []
        self.lock = threading.Lock()
        self.url = ""

    def answer(self, status: int, body: dict[str, str] | None = None, times: int = 1) -> None:
        with self.lock:
            self.script.extend([(status, body or {})] * times)

    def next_answer(self, request: dict[str, object]) -> tuple[int, dict[str, str]]:
        with self.lock:
            self.calls.append(request)
            return self.script.pop(0) if self.script else self.default


@contextmanager
def payment_service() -> Iterator[PaymentService]:
    service = PaymentService()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            request = json.loads(self.rfile.read(length) or b"{}")
            request["idempotency_key"] = self.headers.get("Idempotency-Key", "")
            request["authorization"] = self.headers.get("Authorization", "")
            status, body = service.next_answer(request)
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    service.url = f"http://127.0.0.1:{server.server_address[1]}/authorize"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield service
    finally:
        server.shutdown()
        server.server_close()
