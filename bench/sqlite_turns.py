"""SQLite writers taking turns (core.db.sqlite_turns) ÷ SQLite's busy handler alone.

    python -m bench.sqlite_turns [processes] [transactions]

Several processes each commit small write transactions (one INSERT, `synchronous=FULL`,
half a millisecond of other work between them) to one database through `Database`, once with
writers taking turns (the product) and once with the plain sqlite3 connection (the busy
handler's 1, 2, 5, 10, … ms sleeps), in alternating rounds on the same machine. Prints the
wall time of each round, the ratio, and each transaction's time (begin to commit) p50 / p99 /
max over all processes.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROUNDS = 3

WRITER = """
import json, sys, time
from sqlalchemy import text
from core.db.engine import Database
url, turns, count = sys.argv[1], sys.argv[2] == "turns", int(sys.argv[3])
# Without turns: the plain sqlite3 connection (connect_args given, so no factory is added).
db = Database(url) if turns else Database(url, connect_args={"check_same_thread": False})
times = []
for n in range(count):
    started = time.perf_counter()
    with db.transaction() as session:
        session.execute(text("INSERT INTO notes (body) VALUES (:b)"), {"b": str(n)})
    times.append(time.perf_counter() - started)
    busy = time.perf_counter() + 0.0005  # the process's other work between transactions
    while time.perf_counter() < busy:
        pass
print(json.dumps(times))
"""


def run_round(url: str, turns: bool, processes: int, count: int) -> tuple[float, list[float]]:
    started = time.perf_counter()
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, url, "turns" if turns else "plain", str(count)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(processes)
    ]
    times: list[float] = []
    for writer in writers:
        out, _ = writer.communicate(timeout=600)
        assert writer.returncode == 0
        times += json.loads(out)
    return time.perf_counter() - started, times


def main() -> None:
    from sqlalchemy import text

    from core.db.engine import Database

    processes = int(sys.argv[1]) if len(sys.argv) > 1 else 4
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 400
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'turns.db'}"
        db = Database(url)
        with db.transaction() as session:
            session.execute(text("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)"))
        db.dispose()
        walls: dict[bool, list[float]] = {True: [], False: []}
        each: dict[bool, list[float]] = {True: [], False: []}
        for number in range(ROUNDS):
            for turns in (number % 2 == 0, number % 2 != 0):  # alternate who goes first
                wall, times = run_round(url, turns, processes, count)
                walls[turns].append(wall)
                each[turns] += times
                print(f"round {number + 1}: {'turns' if turns else 'plain'} {wall:6.2f} s")
    print(f"{processes} processes × {count} transactions, median of {ROUNDS} rounds:")
    for turns in (False, True):
        ms = sorted(t * 1000 for t in each[turns])
        print(
            f"  {'turns' if turns else 'busy handler':12} {statistics.median(walls[turns]):6.2f} s"
            f"  transaction p50 {ms[len(ms) // 2]:.2f} ms, p99 {ms[int(len(ms) * 0.99)]:.2f} ms,"
            f" max {ms[-1]:.1f} ms"
        )
    ratio = statistics.median(walls[True]) / statistics.median(walls[False])
    print(f"wall time, turns ÷ busy handler: {ratio:.2f}")


if __name__ == "__main__":
    main()
