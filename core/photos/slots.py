"""A cap on image decodes at once on one host (`IMAGE_DECODE_SLOTS`): a decode at the pixel cap
takes ~500 MB (README, Photos), so a worker node's memory is bounded by its slots, not by its
pool size. Each slot is a file under the temp dir held with flock(2): shared by every pool
process and worker node on the host (in compose, the container's own /tmp), and released by
the kernel when its holder exits, so a pool process killed mid-decode leaves no slot taken."""

from __future__ import annotations

import fcntl
import logging
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

# How often a decode waiting for a slot tries again; decodes take seconds.
RETRY_EVERY = 0.05


def _default_directory() -> Path:
    return Path(tempfile.gettempdir()) / f"pedidos-decode-slots-{os.getuid()}"


@dataclass(frozen=True)
class DecodeSlots:
    """`count` decodes at once on this host; 0: no cap (one per pool process)."""

    count: int = 0
    directory: Path = field(default_factory=_default_directory)

    @contextmanager
    def held(self) -> Iterator[None]:
        """Hold a slot while the block runs, waiting for one if all are taken."""
        if self.count < 1:
            yield
            return
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        started = time.monotonic()
        fd = self._take()
        while fd is None:
            time.sleep(RETRY_EVERY)
            fd = self._take()
        waited = time.monotonic() - started
        if waited > 1:
            log.info("decode waited %.1fs for one of %d slots", waited, self.count)
        try:
            yield
        finally:
            os.close(fd)  # closing the only descriptor releases the lock

    def _take(self) -> int | None:
        """A free slot's locked descriptor, or None when every slot is held."""
        for number in range(self.count):
            fd = os.open(self.directory / f"slot-{number}", os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            return fd
        return None
