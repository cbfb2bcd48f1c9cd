"""IMAGE_DECODE_SLOTS across processes: never more decodes at once than slots, a slot held by
a killed process is free again, and 0 caps nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from core.photos.slots import DecodeSlots
from tests.support.processes import wait_until

# A pool process's decode: hold a slot and note when; take the next entry number (a file
# created exclusively, so two holders never share one) and stay until the holder `together - 1`
# entries later has taken its slot (or the last holder has: `everyone`), or for good when
# `together` is 0 (killed by the test); then let go. Conditions that only ever become true, not
# timed holds: with a cap of two, holder n stays until n + 1 holds too, so each pair overlaps
# and a third can only enter once one of them has gone; uncapped, all three wait for the third.
_HOLDER = """
import os, sys, time
from itertools import count
from pathlib import Path
from core.photos.slots import DecodeSlots
slots = DecodeSlots(int(sys.argv[1]), Path(sys.argv[2]))
together, everyone = int(sys.argv[3]), int(sys.argv[4])
entered = Path(sys.argv[2]) / "entered"
entered.mkdir(parents=True, exist_ok=True)
with slots.held():
    start = time.time()
    for number in count(1):
        try:
            os.close(os.open(entered / str(number), os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            break
        except FileExistsError:
            continue
    awaited = entered / str(min(number + together - 1, everyone)) if together else None
    deadline = time.monotonic() + 60
    while awaited is None or not awaited.exists():
        if time.monotonic() > deadline:
            sys.exit("never held together")
        time.sleep(0.01)  # the poll of the condition above
    end = time.time()
print(start, end)
"""


def holders(slots: int, folder: Path, processes: int, together: int) -> list[tuple[float, float]]:
    running = [
        subprocess.Popen(
            [sys.executable, "-c", _HOLDER, str(slots), str(folder), str(together), str(processes)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(processes)
    ]
    spans = []
    for process in running:
        out, _ = process.communicate(timeout=90)
        assert process.returncode == 0, out
        start, end = out.split()
        spans.append((float(start), float(end)))
    return spans


def most_at_once(spans: list[tuple[float, float]]) -> int:
    edges = sorted([(start, 1) for start, _ in spans] + [(end, -1) for _, end in spans])
    now = peak = 0
    for _, step in edges:
        now += step
        peak = max(peak, now)
    return peak


def held(slots: DecodeSlots) -> bool:
    """Whether every slot is held by someone else (a slot this takes is let go at once)."""
    fd = slots._take()
    if fd is None:
        return True
    os.close(fd)
    return False


def test_never_more_decodes_at_once_than_slots(tmp_path: Path) -> None:
    assert most_at_once(holders(2, tmp_path, processes=4, together=2)) == 2
    assert most_at_once(holders(1, tmp_path / "one", processes=3, together=1)) == 1


def test_a_killed_holder_frees_its_slot(tmp_path: Path) -> None:
    slots = DecodeSlots(1, tmp_path)
    stuck = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, "1", str(tmp_path), "0", "1"], stdout=subprocess.PIPE
    )
    try:
        wait_until(lambda: held(slots), 30, "the slot to be taken")
    finally:
        os.kill(stuck.pid, signal.SIGKILL)
        stuck.wait(timeout=30)
    started = time.monotonic()
    with slots.held():
        # Not after some timeout: the kernel let go of the dead process's lock.
        assert time.monotonic() - started < 1
        assert held(slots)
    assert not held(slots)


def test_no_cap_when_off(tmp_path: Path) -> None:
    assert most_at_once(holders(0, tmp_path, processes=3, together=3)) == 3
    assert not any(p for p in tmp_path.iterdir() if p.name != "entered")
