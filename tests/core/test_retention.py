"""Retention deletes only the files the app wrote in MEDIA_DIR: a MEDIA_DIR set by mistake to
a folder holding other data (a home, a shared volume) loses none of it."""

from __future__ import annotations

import os
import time
from pathlib import Path

from core.db.engine import Database
from core.orders.store import OrderStore
from core.photos.jobs import PhotoJobStore
from core.photos.renditions import RENDITIONS
from core.retention import Retention

WEEK = 7 * 24 * 3600


def aged(path: Path, seconds: float, content: bytes = b"x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    when = time.time() - seconds
    os.utime(path, (when, when))
    return path


def test_only_old_renditions_and_their_stray_temporaries_are_deleted(
    tmp_path: Path, sqlite_db: Database
) -> None:
    media = tmp_path / "media"
    digest = "0123456789abcdef" * 2
    old = [aged(media / f"{r.name}-{digest}.jpg", WEEK + 60) for r in RENDITIONS]
    temporary = aged(media / f".grande-{digest}.jpg.k2x_9q.tmp", WEEK + 60)
    recent = aged(media / f"mediana-{'f' * 32}.jpg", WEEK - 60)
    # Everything else under MEDIA_DIR, however old: not the app's.
    outside = tmp_path / "elsewhere.jpg"
    foreign = [
        aged(media / "vacaciones.jpg", 10 * WEEK),
        aged(media / "notas.txt", 10 * WEEK),
        aged(media / ".bashrc", 10 * WEEK),
        aged(media / f"grande-{digest}.jpg.bak", 10 * WEEK),
        aged(media / f"grande-{digest[:31]}.jpg", 10 * WEEK),
        aged(media / "fotos" / f"grande-{digest}.jpg", 10 * WEEK),
        aged(outside, 10 * WEEK),
    ]
    link = media / f"miniatura-{'e' * 32}.jpg"
    link.symlink_to(outside)
    os.utime(link, (time.time() - 10 * WEEK,) * 2, follow_symlinks=False)

    retention = Retention(
        PhotoJobStore(sqlite_db),
        OrderStore(sqlite_db),
        90 * 24 * 3600,
        6 * 52 * WEEK,
        WEEK,
        media,
    )
    removed = retention.delete_old_files(time.time() - WEEK)

    assert removed == len(old) + 1
    assert not any(path.exists() for path in [*old, temporary])
    assert recent.exists()
    assert all(path.exists() for path in foreign), [p for p in foreign if not p.exists()]
    assert link.is_symlink()


def test_a_media_dir_that_does_not_exist_is_nothing_to_delete(
    tmp_path: Path, sqlite_db: Database
) -> None:
    retention = Retention(
        PhotoJobStore(sqlite_db), OrderStore(sqlite_db), 1, 1, 1, tmp_path / "missing"
    )
    assert retention.delete_old_files(time.time()) == 0
