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

# A pool process's decode: hold a slot, note when it held it, sleep, let go.
_HOLDER = """
import sys, time
from pathlib import Path
from core.photos.slots import DecodeSlots
slots = DecodeSlots(int(sys.argv[1]), Path(sys.argv[2]))
with slots.held():
    start = time.time()
    time.sleep(float(sys.argv[3]))
    end = time.time()
print(start, end)
"""


def holders(slots: int, folder: Path, processes: int, hold: float) -> list[tuple[float, float]]:
    running = [
        subprocess.Popen(
            [sys.executable, "-c", _HOLDER, str(slots), str(folder), str(hold)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(processes)
    ]
    spans = []
    for process in running:
        out, _ = process.communicate(timeout=60)
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
    assert most_at_once(holders(2, tmp_path, processes=4, hold=1.0)) == 2
    assert most_at_once(holders(1, tmp_path, processes=3, hold=0.3)) == 1


def test_a_killed_holder_frees_its_slot(tmp_path: Path) -> None:
    slots = DecodeSlots(1, tmp_path)
    stuck = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, "1", str(tmp_path), "600"], stdout=subprocess.PIPE
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
    assert most_at_once(holders(0, tmp_path, processes=3, hold=3.0)) == 3
    assert not any(tmp_path.iterdir())
