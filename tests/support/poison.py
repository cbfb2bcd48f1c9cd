"""A worker that loads this module (`celery worker --include=tests.support.poison`) has its
pool process killed by every photo it renders, as the kernel's OOM killer would do with an
image too big for the machine: SIGKILL, no exception, no cleanup."""

from __future__ import annotations

import os
import signal
from typing import Any

import core.photos.processing


def _killed_by_the_image(*args: Any, **kwargs: Any) -> Any:
    os.kill(os.getpid(), signal.SIGKILL)


core.photos.processing.make_renditions = _killed_by_the_image
