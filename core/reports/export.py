"""`/exportar desde hasta`: the orders of a period as two CSV files (one row per order line,
one per order), written to disk a page at a time with a live progress bar, then sent as
documents to the staff chat that asked.

Memory holds one page of orders whatever the range (core.reports.export_rows); the files
grow on disk. A file over what Telegram takes from a bot goes zipped (CSV shrinks several
times); one still too big is not sent, and the staff are told to export a shorter range.
Every message of an export is sent under its key: a task run again (a worker died, a retry)
writes the files again and sends only what the chat has not got.
"""

from __future__ import annotations

import logging
import tempfile
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Protocol

from core import csvsafe, texts
from core.db.engine import Database
from core.importer.run import ImportCourier
from core.progress import percent_of, render_progress
from core.reports.export_csv import ExportWriter
from core.reports.export_rows import PAGE, count_orders, pages
from core.reports.period import Period, PeriodError
from core.settings import Settings
from core.telegram.client import TooManyRequests

log = logging.getLogger(__name__)

# Telegram takes documents of up to 50 MB from a bot (a local Bot API server, 2 GB); the rest
# of the request needs a little room.
SEND_LIMIT = 49_000_000
PROGRESS_EVERY = 2.0
# How long the end of an export waits for the chat's slot to send a file, rather than write
# the whole export again on a retry.
SEND_FILE_PATIENCE = 60.0
# The longest range one export covers (a year and a day: any calendar year, leap or not).
MAX_DAYS = 366


def shop_zone(settings: Settings) -> str:
    """The zone an export's days and times are in: SHOP_TIMEZONE, else REPORT_TIMEZONE."""
    return settings.shop_timezone or settings.report_timezone


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise PeriodError("bad_date", value=value) from None


def parse_range(words: list[str], zone: str) -> Period:
    """`desde [hasta]` (YYYY-MM-DD; one date: that day) as the days to export, or
    PeriodError: `usage` (no date), `bad_date`, `bad_order` (reversed), `too_long`."""
    if not words:
        raise PeriodError("usage")
    first = _day(words[0])
    last = _day(words[1]) if len(words) > 1 else first
    if first > last:
        raise PeriodError("bad_order", start=first.isoformat(), end=last.isoformat())
    if (last - first).days + 1 > MAX_DAYS:
        raise PeriodError("too_long", max=MAX_DAYS)
    return Period(first, last, zone)


class ExportCourier(ImportCourier, Protocol):
    """core.telegram.courier.Courier: sends and edits, and what a key already delivered."""

    def already_sent(self, key: str) -> int | None: ...


@dataclass(frozen=True)
class ExportRequest:
    chat_id: int
    # The bot's "preparing…" message, edited with the progress; 0 when the bot could not post
    # it (the worker's first word then becomes it).
    status_message_id: int
    period: Period
    language: str
    # Names the export's messages (`export:{chat}:{command message}`): sent once each.
    key: str


@dataclass
class Exported:
    orders: int = 0
    line_rows: int = 0
    # The names of the documents sent; a file too big to send is named in `too_big`.
    sent: list[str] = field(default_factory=list)
    too_big: list[str] = field(default_factory=list)


def file_names(period: Period) -> tuple[str, str]:
    """The lines file's name and the orders file's: `pedidos-lineas-2026-11-01-2026-11-30.csv`."""
    span = f"{period.first.isoformat()}-{period.last.isoformat()}"
    return f"pedidos-lineas-{span}.csv", f"pedidos-{span}.csv"


def zipped(path: Path) -> Path:
    """`path` deflated into `path.zip` beside it, read and written as streams."""
    target = path.with_name(path.name + ".zip")
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        zf.write(path, arcname=path.name)
    return target


@dataclass
class Exporter:
    db: Database
    courier: ExportCourier
    page: int = PAGE
    progress_every: float = PROGRESS_EVERY
    send_limit: int = SEND_LIMIT
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    workdir: str | None = None
    _shown_at: float = field(default=float("-inf"), init=False)
    _status: int = field(default=0, init=False)

    def run(self, request: ExportRequest) -> Exported:
        """Write the period's two files and send them; the status message follows along."""
        self._status = request.status_message_id
        self._shown_at = float("-inf")
        if self._delivered(request):
            return Exported()  # a run again after the chat got everything: nothing to redo
        start, end = request.period.bounds()
        total = count_orders(self.db, start, end)
        if total == 0:
            self._show(request, self._words(request, "export.empty"), final=True)
            return Exported()
        with tempfile.TemporaryDirectory(prefix="export-", dir=self.workdir) as tmp:
            lines_path, orders_path = (Path(tmp) / name for name in file_names(request.period))
            done = self._write(request, total, lines_path, orders_path)
            words = self._words(request, "export.done", orders=done.orders, rows=done.line_rows)
            self._show(request, words, final=True)
            for path, kind, rows in (
                (lines_path, "lines", done.line_rows),
                (orders_path, "orders", done.orders),
            ):
                self._send(request, path, kind, rows, done)
        log.info(
            "export chat=%s %s orders=%s line_rows=%s too_big=%s",
            request.chat_id,
            request.key,
            done.orders,
            done.line_rows,
            done.too_big,
        )
        return done

    def _delivered(self, request: ExportRequest) -> bool:
        """Whether both files (or the words that one was too big) reached the chat."""
        sent = self.courier.already_sent
        return all(
            sent(f"{request.key}:{kind}") or sent(f"{request.key}:{kind}:too_big")
            for kind in ("lines", "orders")
        )

    def _write(self, request: ExportRequest, total: int, lines: Path, orders: Path) -> Exported:
        start, end = request.period.bounds()
        with (
            lines.open("w", newline="", encoding=csvsafe.ENCODING) as lines_out,
            orders.open("w", newline="", encoding=csvsafe.ENCODING) as orders_out,
        ):
            writer = ExportWriter(lines_out, orders_out, request.period.zone, request.language)
            self._show(request, self._progress(request, writer, total), force=True)
            for page in pages(self.db, start, end, self.page):
                writer.add(page)
                self._show(request, self._progress(request, writer, total))
        return Exported(orders=writer.orders, line_rows=writer.line_rows)

    def _send(
        self, request: ExportRequest, path: Path, kind: str, rows: int, done: Exported
    ) -> None:
        lang, sendable, mime = request.language, path, "text/csv"
        if path.stat().st_size > self.send_limit:
            sendable, mime = zipped(path), "application/zip"
        if sendable.stat().st_size > self.send_limit:
            done.too_big.append(path.name)
            words = texts.text(lang, "export.too_big", name=path.name)
            self.courier.send(request.chat_id, words, key=f"{request.key}:{kind}:too_big")
            return
        caption = self._words(request, f"export.{kind}_caption", rows=rows)
        deadline = self.clock() + SEND_FILE_PATIENCE
        while True:
            try:
                self.courier.send_file(
                    request.chat_id,
                    "sendDocument",
                    sendable,
                    key=f"{request.key}:{kind}",
                    caption=caption,
                    file_name=sendable.name,
                    mime_type=mime,
                )
                break
            except TooManyRequests as exc:
                # The files exist only here: wait for the chat's next slot in place rather
                # than export all over again.
                if self.clock() + exc.retry_after > deadline:
                    raise
                self.sleep(exc.retry_after)
        done.sent.append(sendable.name)

    def _words(self, request: ExportRequest, key: str, **values: object) -> str:
        period = request.period
        return texts.text(
            request.language,
            key,
            start=period.first.isoformat(),
            end=period.last.isoformat(),
            zone=period.zone,
            **values,
        )

    def _progress(self, request: ExportRequest, writer: ExportWriter, total: int) -> str:
        return self._words(
            request,
            "export.progress",
            bar=render_progress(percent_of(writer.orders, total)),
            done=writer.orders,
            total=total,
            rows=writer.line_rows,
        )

    def _show(
        self, request: ExportRequest, text: str, force: bool = False, final: bool = False
    ) -> None:
        """Edit the status message, at most once per `progress_every` (plus the first and
        the last); coalesced by the courier, so a busy chat sees the newest text."""
        now = self.clock()
        if not (force or final) and now - self._shown_at < self.progress_every:
            return
        self._shown_at = now
        key = f"{request.key}:status:final" if final else None
        if self._status:
            self.courier.edit(request.chat_id, self._status, text, key=key)
            return
        # The bot could not post its status message: the worker's first word becomes it.
        sent = self.courier.send(request.chat_id, text, key=f"{request.key}:status")
        self._status = sent or 0
