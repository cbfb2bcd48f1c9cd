"""`importar_datos`: one import job, from the Telegram file to orders waiting for customers.

The file is downloaded to a temp file and read twice as a stream (count, then import), so
memory stays flat whatever its size. Each good row is placed through the chat's own order
action (core.importer.placing: one call per row, authored by the staff member, in
`por_confirmar` or, paid in cash, `pendiente`), under its row's identity as the source: a row
imported before, in this file or another, creates nothing. A re-run of the same job (a worker
died) walks the file again: rows it created the first time are recognised by the job and row
number kept on their orders, counted as created, and announced again — the announcement's
sends are once per key, so the customer hears of each order once.

Every `batch` rows the new orders are handed to `announce` (tasks.importer: one task each on
the `bulk` queue, which tells the customer and, for a cash order, starts its chain there).

One status message shows the progress bar, edited at most once per PROGRESS_EVERY.
"""

from __future__ import annotations

import logging
import secrets
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from core import csvsafe, texts
from core.importer.csvfile import Layout, MissingColumn, NotUtf8, count_rows, layout_of, read_rows
from core.importer.jobs import ImportJob, ImportJobs, ImportState
from core.importer.placing import Shop, place_row
from core.importer.rows import BadRow, GoodRow, check
from core.orders.store import OrderStore
from core.progress import percent_of, render_progress
from core.telegram.client import BadRequest, FileTooBig, TooManyRequests

log = logging.getLogger(__name__)

# New orders handed to `announce` at a time (one broker connection for each batch).
BATCH = 500
PROGRESS_EVERY = 1.0
# One run of a job at a time: a run holds the job's lease and renews it as it goes, so a
# message delivered twice (a broker redelivery while the first run still works) waits.
LEASE_MS = 30_000
# How long the end of an import waits for Telegram to take the rejected rows' file.
SEND_FILE_PATIENCE = 60.0


class ImportBusy(Exception):
    """Another run holds this job's lease: try again when it may have expired."""

    retry_after = LEASE_MS / 1000


class ImportCourier(Protocol):
    """core.telegram.courier.Courier."""

    def send(self, chat_id: int, text: str, *, key: str) -> int | None: ...

    def edit(
        self,
        chat_id: int,
        message_id: int,
        text: str,
        *,
        reply_markup: dict[str, Any] | None = None,
        key: str | None = None,
    ) -> int | None: ...

    def send_file(
        self,
        chat_id: int,
        method: str,
        path: Path,
        *,
        key: str,
        caption: str = "",
        file_name: str | None = None,
        mime_type: str = "application/octet-stream",
    ) -> int | None: ...


@dataclass
class Counts:
    total: int
    done: int = 0
    created: int = 0
    duplicates: int = 0
    rejected: int = 0

    def fields(self) -> dict[str, int]:
        return {
            "total": self.total,
            "done": self.done,
            "created": self.created,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
        }


def format_size(size: int) -> str:
    if size >= 1024**2:
        return f"{size / 1024**2:.1f} MB"
    return f"{max(1, size // 1024)} KB"


@dataclass
class Importer:
    jobs: ImportJobs
    store: OrderStore
    courier: ImportCourier
    # Download a Telegram file into a path, refusing it past a size (core.telegram.client).
    fetch: Callable[[str, Path, int], None]
    # Tell the customers of new orders (and start the cash ones): tasks.importer.
    announce: Callable[[list[str]], None]
    # The shop as it is now: catalogue, payment methods (read once per run).
    shop: Callable[[], Shop]
    max_rows: int
    max_bytes: int
    batch: int = BATCH
    progress_every: float = PROGRESS_EVERY
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    workdir: str | None = None
    _shown_at: float = field(default=float("-inf"), init=False)
    _lease: str = field(default="", init=False)

    def run(self, job_id: str) -> ImportJob | None:
        """Import the job's file (nothing when it already finished)."""
        job = self.jobs.get(job_id)
        if job is None or job.state in (ImportState.DONE, ImportState.REFUSED):
            return job
        self._lease = secrets.token_hex(8)
        if not self.jobs.take_lease(job.id, self._lease, LEASE_MS):
            raise ImportBusy(job.id)
        try:
            self.jobs.update(job.id, state=ImportState.RUNNING.value)
            with tempfile.TemporaryDirectory(prefix="import-", dir=self.workdir) as tmp:
                counts = self._import(job, Path(tmp))
        finally:
            self.jobs.release_lease(job.id, self._lease)
        if counts is None:
            return self.jobs.get(job.id)
        self.jobs.update(
            job.id, state=ImportState.DONE.value, finished_at=time.time(), **counts.fields()
        )
        return self.jobs.get(job.id)

    # --- the steps -------------------------------------------------------------------

    def _import(self, job: ImportJob, tmp: Path) -> Counts | None:
        source = tmp / "source.csv"
        if job.file_size > self.max_bytes:
            self._refuse(job, "too_big")
            return None
        try:
            self.fetch(job.file_id, source, self.max_bytes)
        except FileTooBig:
            self._refuse(job, "too_big")
            return None
        except BadRequest as exc:
            log.warning("import=%s download failed: %s", job.id, exc)
            self._refuse(job, "download_failed")
            return None
        try:
            layout = layout_of(source)
            if layout is None:
                self._refuse(job, "empty")
                return None
            total = count_rows(source, layout)
        except NotUtf8:
            self._refuse(job, "not_utf8")
            return None
        except MissingColumn as exc:
            self._refuse(job, "bad_header", missing=exc.column)
            return None
        if total == 0:
            self._refuse(job, "empty")
            return None
        if total > self.max_rows:
            self._refuse(job, "too_many_rows", rows=total)
            return None
        counts = Counts(total)
        self._show(job, counts, force=True)
        rejected = tmp / "rejected.csv"
        # Back to staff as a spreadsheet: every cell a customer wrote is neutralised.
        with rejected.open("w", newline="", encoding=csvsafe.ENCODING) as out:
            writer = csvsafe.writer(out)
            writer.writerow(
                [*texts.raw(job.language, "import.rejected_header").split(","), *layout.header]
            )
            try:
                self._rows(job, source, layout, counts, writer)
            except NotUtf8:
                self._refuse(job, "not_utf8")
                return None
        self._finish(job, counts, rejected)
        return counts

    def _rows(
        self, job: ImportJob, source: Path, layout: Layout, counts: Counts, writer: Any
    ) -> None:
        shop = self.shop()
        fresh: list[str] = []
        for raw in read_rows(source, layout):
            verdict = check(raw)
            bad = verdict if isinstance(verdict, BadRow) else None
            if isinstance(verdict, GoodRow):
                bad = self._place(job, shop, verdict, counts, fresh)
            if bad is not None:
                self._reject(job, bad, counts, writer)
            if len(fresh) >= self.batch:
                self.announce(fresh)
                fresh = []
            self._show(job, counts)
        if fresh:
            self.announce(fresh)

    def _reject(self, job: ImportJob, row: BadRow, counts: Counts, writer: Any) -> None:
        writer.writerow([row.number, row.reason_text(job.language), *row.original])
        counts.rejected += 1
        counts.done += 1

    def _place(
        self, job: ImportJob, shop: Shop, row: GoodRow, counts: Counts, fresh: list[str]
    ) -> BadRow | None:
        """Place one row (one order action); a repeat is told apart from an earlier attempt."""
        placed = place_row(self.store, shop, job, row)
        if isinstance(placed, BadRow):
            return placed
        first_job, first_row = placed.first_import() if not placed.created else (job.id, 0)
        if placed.created or (first_job == job.id and first_row == row.number):
            # New, or this job created it on an earlier attempt: (again) told to its customer.
            counts.created += 1
            counts.done += 1
            fresh.append(placed.order.id)
        elif first_job != job.id:
            counts.duplicates += 1
            counts.done += 1
        else:
            return BadRow(row.number, "duplicate", list(row.original), (("row", first_row),))
        return None

    def _show(self, job: ImportJob, counts: Counts, force: bool = False) -> None:
        """Edit the progress bar, at most once per `progress_every` (plus the first)."""
        now = self.clock()
        if not force and now - self._shown_at < self.progress_every:
            return
        self._shown_at = now
        self.jobs.renew_lease(job.id, self._lease, LEASE_MS)
        self._edit(job, self._progress_text(job, counts))
        self.jobs.update(job.id, **counts.fields())

    def _progress_text(self, job: ImportJob, counts: Counts) -> str:
        return texts.text(
            job.language,
            "import.progress",
            id=job.id,
            name=job.file_name,
            bar=render_progress(percent_of(counts.done, counts.total)),
            **counts.fields(),
        )

    def _edit(self, job: ImportJob, text: str, key: str | None = None) -> None:
        if job.status_message_id:
            self.courier.edit(job.chat_id, job.status_message_id, text, key=key)
            return
        # The bot could not post the status message (the chat was busy): the worker's first
        # word becomes it, sent once, and later words edit it. A refusal must never be silent.
        sent = self.courier.send(job.chat_id, text, key=f"import:{job.id}:status")
        if sent:
            job.status_message_id = sent
            self.jobs.update(job.id, status_message_id=sent)

    def _finish(self, job: ImportJob, counts: Counts, rejected: Path) -> None:
        lang = job.language
        self._edit(job, self._progress_text(job, counts), key=f"import:{job.id}:progress:done")
        self.courier.send(
            job.chat_id,
            texts.text(lang, "import.done", id=job.id, name=job.file_name, **counts.fields()),
            key=f"import:{job.id}:done",
        )
        if counts.rejected:
            stem = Path(job.file_name).stem or "import"
            # The file exists only here, and the summary and the last edit just took the
            # chat's slots: wait for the next one in place rather than import all over again.
            deadline = self.clock() + SEND_FILE_PATIENCE
            while True:
                try:
                    self.courier.send_file(
                        job.chat_id,
                        "sendDocument",
                        rejected,
                        key=f"import:{job.id}:rejected",
                        caption=texts.text(lang, "import.rejected_caption", name=job.file_name),
                        file_name=f"{stem}-{texts.raw(lang, 'import.rejected_suffix')}.csv",
                        mime_type="text/csv",
                    )
                    break
                except TooManyRequests as exc:
                    if self.clock() + exc.retry_after > deadline:
                        raise
                    self.sleep(exc.retry_after)
        log.info("import=%s done %s", job.id, counts.fields())

    def _refuse(self, job: ImportJob, reason: str, **values: object) -> None:
        text = texts.text(
            job.language,
            f"import.{reason}",
            name=job.file_name,
            size=format_size(job.file_size),
            max=format_size(self.max_bytes) if reason == "too_big" else self.max_rows,
            **values,
        )
        self._edit(job, text, key=f"import:{job.id}:refused")
        self.jobs.update(job.id, state=ImportState.REFUSED.value, finished_at=time.time())
        log.info("import=%s refused: %s", job.id, reason)
