"""Keeping an attached photo's original: downloaded by file id (getFile) into the order's
folder under MEDIA_DIR. Safe to run twice: a photo already kept is left as it is, and the
file appears whole or not at all (written aside, then renamed)."""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

from core.photos.processing import MAX_DOWNLOAD_BYTES
from core.relay.photos import OrderPhotos, file_name, order_folder
from core.telegram.client import BotApi

log = logging.getLogger(__name__)


def keep_original(photos: OrderPhotos, api: BotApi, media_dir: Path, photo_id: int) -> str:
    """Download the photo's original into its order's folder; its path relative to
    MEDIA_DIR ("" when the photo or its order is gone)."""
    photo = photos.get(photo_id)
    if photo is None:
        return ""
    if photo.path and (media_dir / photo.path).is_file():
        return photo.path
    folder = order_folder(media_dir, photo.order_id)
    folder.mkdir(parents=True, exist_ok=True)
    found = api.call("getFile", {"file_id": photo.file_id})
    target = folder / file_name(photo)
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=".", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            size = api.download(str(found["file_path"]), out, MAX_DOWNLOAD_BYTES)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    relative = str(target.relative_to(media_dir))
    photos.saved(photo.id, relative, size)
    log.info("order=%s photo=%s kept (%s bytes)", photo.order_id, photo.id, size)
    return relative
