"""The importer's rejected-rows file is a CSV the staff open in a spreadsheet: what a customer
or a careless file wrote there is shown, never run; and a fixed file sent back reads as it was
written."""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path
from typing import Any

import redis

from core.db.engine import Database
from core.importer.jobs import ImportJobs
from core.importer.placing import Shop
from core.importer.run import Importer
from core.orders.store import OrderStore


class FakeCourier:
    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}

    def send(self, chat_id: int, text: str, *, key: str) -> int:
        return 1

    def edit(self, chat_id: int, message_id: int, text: str, **_: Any) -> int:
        return message_id

    def send_file(self, chat_id: int, method: str, path: Path, **options: Any) -> int:
        self.files[options["file_name"]] = path.read_bytes()
        return 2


def run_import(db: Database, redis_url: str, tmp: Path, content: str) -> FakeCourier:
    source = tmp / "pedidos.csv"
    source.write_text(content, encoding="utf-8")
    jobs = ImportJobs(redis.Redis.from_url(redis_url, decode_responses=True))
    job, _ = jobs.create(-100, 9, "file-1", "pedidos.csv", source.stat().st_size, 1, "es")
    courier = FakeCourier()

    def fetch(_file_id: str, dest: Path, _max_bytes: int) -> None:
        shutil.copyfile(source, dest)

    importer = Importer(
        jobs=jobs,
        store=OrderStore(db),
        courier=courier,
        fetch=fetch,
        announce=lambda _ids: None,
        shop=lambda: Shop(None, {}, (), 0, "EUR"),
        max_rows=100,
        max_bytes=10_000,
        workdir=str(tmp),
    )
    importer.run(job.id)
    return courier


def test_rejected_cells_are_neutralised_in_a_file_with_a_bom(
    sqlite_db: Database, redis_url: str, tmp_path: Path
) -> None:
    courier = run_import(
        sqlite_db,
        redis_url,
        tmp_path,
        'chat_id,texto\n=1+1,2 pizzas\nabc,"=HYPERLINK(""http://x"",""y"")"\n100,\n@SUM(A1),+1-2\n',
    )
    data = courier.files["pedidos-rechazadas.csv"]
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == ["fila", "motivo", "chat_id", "texto"]
    assert [row[2:] for row in rows[1:]] == [
        ["'=1+1", "2 pizzas"],
        ["abc", '\'=HYPERLINK("http://x","y")'],
        ["100", ""],
        ["'@SUM(A1)", "'+1-2"],
    ]


def test_a_neutralised_cell_sent_back_reads_as_written(
    sqlite_db: Database, redis_url: str, tmp_path: Path
) -> None:
    run_import(sqlite_db, redis_url, tmp_path, "chat_id,texto\n100,'-2 pizzas\n101,'hola\n")
    texts = {
        o.chat_id: o.text
        for o in OrderStore(sqlite_db).recent(100) + OrderStore(sqlite_db).recent(101)
    }
    # The quote csvsafe adds before a formula start is taken away; any other is the customer's.
    assert texts == {100: "-2 pizzas", 101: "'hola"}
