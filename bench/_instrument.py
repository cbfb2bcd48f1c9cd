"""Run a module (the bot, a celery worker) with its SQL statements and Redis round trips counted,
and optionally under cProfile, for bench.orders and bench.profile_orders.

    python -m bench._instrument --counts DIR [--profile FILE [--clock C]] -- MODULE ARGS...

(C: cpu, the default, wall or sample.)

Counts: every statement SQLAlchemy sends to the driver (`before_cursor_execute`, on every
engine), every commit, and every request redis-py writes to a connection (one
`send_packed_command` is one round trip: a pipeline is one). Each process (a prefork worker's
child too) writes its counts into a small memory-mapped file `DIR/<pid>.counts` as it goes, so
nothing is lost when Celery ends a child with `os._exit`. `read_counts(DIR)` sums them.

With `--clock sample` the profile is a sampling one instead (the main thread's stack every 2 ms,
as JSON: where a worker slot's wall time goes, at a few per cent of overhead). The cProfile
profile (every thread, CPU time by default) is written when the module
returns or a SIGTERM ends it; with Celery use `--pool solo`, so the tasks run in that process.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import runpy
import signal
import struct
import sys
import time
from pathlib import Path
from typing import Any

FIELDS = ("sql", "commits", "redis")
_FORMAT = "<" + "q" * len(FIELDS)


class _Counts:
    """This process's counters, in a memory-mapped file of its own (re-made after a fork)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.values = [0] * len(FIELDS)
        self.map: mmap.mmap | None = None
        self.pid = 0

    def _open(self) -> mmap.mmap:
        self.pid = os.getpid()
        self.values = [0] * len(FIELDS)
        path = self.directory / f"{self.pid}.counts"
        with path.open("wb+") as file:
            file.write(b"\0" * struct.calcsize(_FORMAT))
            file.flush()
            self.map = mmap.mmap(file.fileno(), 0)
        return self.map

    def add(self, index: int) -> None:
        if self.map is None or self.pid != os.getpid():
            self._open()
        self.values[index] += 1
        assert self.map is not None
        struct.pack_into(_FORMAT, self.map, 0, *self.values)


def read_counts(directory: Path) -> dict[str, int]:
    """The counts of every process that ran with `--counts directory`, summed."""
    total = dict.fromkeys(FIELDS, 0)
    for path in directory.glob("*.counts"):
        data = path.read_bytes()
        if len(data) < struct.calcsize(_FORMAT):
            continue
        for name, value in zip(FIELDS, struct.unpack_from(_FORMAT, data), strict=True):
            total[name] += value
    return total


def _count_sql(counts: _Counts, log_path: str) -> None:
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    log = Path(log_path).open("a") if log_path else None  # noqa: SIM115 (open till exit)

    def statement(_conn: Any, _cursor: Any, sql: str, *_: Any, **__: Any) -> None:
        counts.add(0)
        if log is not None:
            log.write(f"{os.getpid()} {' '.join(sql.split())[:160]}\n")
            log.flush()

    def commit(*_: Any, **__: Any) -> None:
        counts.add(1)

    event.listen(Engine, "before_cursor_execute", statement)
    event.listen(Engine, "commit", commit)


def _count_redis(counts: _Counts) -> None:
    import redis.asyncio.connection as async_connection
    import redis.connection as sync_connection

    sync_send = sync_connection.AbstractConnection.send_packed_command

    def send(self: Any, command: Any, check_health: bool = True) -> None:
        counts.add(2)
        sync_send(self, command, check_health)

    sync_connection.AbstractConnection.send_packed_command = send  # type: ignore[method-assign]

    async_send = async_connection.AbstractConnection.send_packed_command

    async def send_async(self: Any, command: Any, check_health: bool = True) -> None:
        counts.add(2)
        await async_send(self, command, check_health)

    async_connection.AbstractConnection.send_packed_command = send_async  # type: ignore[method-assign]


def _sample(path: str, every: float = 0.002) -> None:
    """Every `every` seconds, where the main thread is (wall time: waiting for the disk, the
    network or the CPU counts too, which is what a single worker slot spends): each function
    on its stack counts one sample (inclusive), each innermost one a sample of its own; the
    counts are written to `path` (JSON) at exit."""
    import atexit
    import json
    import threading

    main = threading.main_thread().ident or 0
    inclusive: dict[str, int] = {}
    own: dict[str, int] = {}
    total = [0]

    def where(code: Any) -> str:
        return f"{code.co_filename.rsplit('site-packages/', 1)[-1]}:{code.co_name}"

    def loop() -> None:
        while True:
            time.sleep(every)
            frame = sys._current_frames().get(main)
            if frame is None:
                continue
            total[0] += 1
            own[where(frame.f_code)] = own.get(where(frame.f_code), 0) + 1
            seen = set()
            while frame is not None:
                name = where(frame.f_code)
                if name not in seen:
                    seen.add(name)
                    inclusive[name] = inclusive.get(name, 0) + 1
                frame = frame.f_back

    def dump() -> None:
        data = {"total": total[0], "every": every, "inclusive": inclusive, "own": own}
        Path(path).write_text(json.dumps(data))

    threading.Thread(target=loop, name="sampler", daemon=True).start()
    atexit.register(dump)


def _run(module: str, args: list[str], profile_path: str, clock: str) -> None:
    sys.argv = [module, *args]
    if clock == "sample":
        _sample(profile_path)
        with contextlib.suppress(SystemExit, KeyboardInterrupt):
            runpy.run_module(module, run_name="__main__", alter_sys=True)
        return
    if not profile_path:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
        return
    import cProfile
    import pstats
    import threading

    # CPU time of each thread (waits for the disk, the network and the other processes on
    # the shared cores left out), or wall time.
    timer = time.thread_time if clock == "cpu" else time.perf_counter
    profiler = cProfile.Profile(timer)
    # Every other thread (the bot's store calls run in a pool) gets a profiler of its own.
    others: list[cProfile.Profile] = []

    def profile_thread(*_: Any) -> None:
        other = cProfile.Profile(timer)
        others.append(other)
        other.enable()  # replaces this hook in that thread

    def stop(*_: Any) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    threading.setprofile(profile_thread)
    profiler.enable()
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    except (SystemExit, KeyboardInterrupt):
        pass
    finally:
        profiler.disable()
        stats = pstats.Stats(profiler)
        for other in others:
            stats.add(_Snapshot(other))  # type: ignore[arg-type]
        stats.dump_stats(profile_path)


class _Snapshot:
    """Another thread's profiler as pstats reads it, without disabling it from this thread."""

    def __init__(self, profiler: Any) -> None:
        self.profiler = profiler
        self.stats: dict[Any, Any] = {}

    def create_stats(self) -> None:
        self.profiler.snapshot_stats()
        self.stats = self.profiler.stats


def main() -> None:
    argv = sys.argv[1:]
    split = argv.index("--")
    options, (module, *args) = argv[:split], argv[split + 1 :]
    counts_dir = profile_path = ""
    clock = "cpu"
    sql_log = ""
    for flag, value in zip(options[::2], options[1::2], strict=True):
        if flag == "--counts":
            counts_dir = value
        elif flag == "--profile":
            profile_path = value
        elif flag == "--sql-log":  # every statement, one a line (slow: for reading)
            sql_log = value
        elif flag == "--clock":
            clock = value
    if counts_dir:
        Path(counts_dir).mkdir(parents=True, exist_ok=True)
        counts = _Counts(Path(counts_dir))
        _count_sql(counts, sql_log)
        _count_redis(counts)
    _run(module, args, profile_path, clock)


if __name__ == "__main__":
    main()
