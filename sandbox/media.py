"""Files as Telegram keeps them: ids, on-disk storage, and photos re-encoded into sizes."""

from __future__ import annotations

import base64
import io
import mimetypes
import secrets
import shutil
import tempfile
import weakref
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps

from sandbox.model import Photo, StoredFile

# Largest side of each PhotoSize Telegram makes (s, m, x, y); never upscaled. A photo a user
# sends from an app keeps a 2560 px size (w) too; what a bot uploads stops at 1280.
PHOTO_SIDES = (90, 320, 800, 1280)
USER_PHOTO_SIDES = (*PHOTO_SIDES, 2560)
MAX_PHOTO_BYTES = 10 * 1024 * 1024
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024
MAX_BOT_UPLOAD_BYTES = 50 * 1024 * 1024


class MediaError(ValueError):
    """A file Telegram refuses; str() is the description after 'Bad Request: '."""


@dataclass
class Upload:
    """Bytes received in a multipart part."""

    data: bytes
    filename: str | None = None
    content_type: str | None = None


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def new_file_id(kind: str) -> str:
    """A file_id shaped like Telegram's (type-tagged, base64url, ~70 chars)."""
    prefix = {"photo": "AgACAgIAAxkBAAI", "document": "BQACAgIAAxkBAAI"}.get(kind, "CAACAgIAAxkB")
    return prefix + _b64(secrets.token_bytes(42))


def new_unique_id() -> str:
    """A file_unique_id shaped like Telegram's."""
    return "AQAD" + _b64(secrets.token_bytes(9))


class FileStore:
    """Every file of the sandbox, in one temp dir removed on close."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="tg-sandbox-"))
        # Also removed at interpreter exit when nobody called close() (a daemon-thread sandbox).
        self._finalizer = weakref.finalize(self, shutil.rmtree, self.root, True)
        self.files: dict[str, StoredFile] = {}
        self.paths: dict[str, StoredFile] = {}
        self._counter = 0

    def close(self) -> None:
        """Remove every stored file."""
        self._finalizer()

    def clear(self) -> None:
        """Forget and delete every file (reset)."""
        self.files.clear()
        self.paths.clear()
        shutil.rmtree(self.root, ignore_errors=True)
        self.root.mkdir(parents=True, exist_ok=True)

    def get(self, file_id: str) -> StoredFile | None:
        """The file with this file_id."""
        return self.files.get(file_id)

    def _write(self, data: bytes, suffix: str) -> Path:
        self._counter += 1
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.root / f"f{self._counter}{suffix}"
        path.write_bytes(data)
        return path

    def assign_path(self, stored: StoredFile) -> str:
        """The file_path getFile gives, made on first request as Telegram does."""
        if stored.file_path is None:
            self._counter += 1
            folder = "photos" if stored.kind == "photo" else "documents"
            suffix = Path(stored.file_name or "").suffix or (
                ".jpg" if stored.kind == "photo" else ""
            )
            stored.file_path = f"{folder}/file_{self._counter}{suffix}"
            self.paths[stored.file_path] = stored
        return stored.file_path

    def by_path(self, file_path: str) -> StoredFile | None:
        """The file getFile gave this file_path."""
        return self.paths.get(file_path)

    def add_document(self, upload: Upload, mime_type: str | None = None) -> StoredFile:
        """Store a document as sent (name and MIME type kept, bytes untouched)."""
        if not upload.data:
            raise MediaError("file must be non-empty")
        name = Path(upload.filename or "file").name or "file"
        mime = mime_type or _guess_mime(name, upload.content_type)
        stored = StoredFile(
            file_id=new_file_id("document"),
            file_unique_id=new_unique_id(),
            path=self._write(upload.data, Path(name).suffix),
            size=len(upload.data),
            kind="document",
            mime_type=mime,
            file_name=name,
        )
        if mime and mime.startswith("image/"):
            # Telegram reports no size for image documents; the transcript wants it anyway.
            try:
                with Image.open(io.BytesIO(upload.data)) as image:
                    stored.width, stored.height = image.size
            except Exception:  # a non-image named .jpg is still a valid document
                pass
        self.files[stored.file_id] = stored
        return stored

    def add_photo(self, data: bytes, sides: tuple[int, ...] = PHOTO_SIDES) -> Photo:
        """Re-encode an uploaded photo into Telegram's sizes; raises MediaError as Telegram."""
        if not data:
            raise MediaError("file must be non-empty")
        if len(data) > MAX_PHOTO_BYTES:
            raise MediaError(
                f"file of size {len(data)} bytes is too big for a photo; "
                f"the maximum size is {MAX_PHOTO_BYTES} bytes"
            )
        renditions, width, height = render_photo_sizes(data, sides)
        sizes = []
        for blob, (w, h) in renditions:
            stored = StoredFile(
                file_id=new_file_id("photo"),
                file_unique_id=new_unique_id(),
                path=self._write(blob, ".jpg"),
                size=len(blob),
                kind="photo",
                mime_type="image/jpeg",
                width=w,
                height=h,
            )
            self.files[stored.file_id] = stored
            sizes.append(stored)
        return Photo(sizes, width, height, len(data))


def _guess_mime(name: str, content_type: str | None) -> str:
    guessed, _ = mimetypes.guess_type(name)
    if guessed:
        return guessed
    if content_type and content_type not in ("application/octet-stream", ""):
        return content_type.split(";")[0].strip()
    return "application/octet-stream"


def render_photo_sizes(
    data: bytes, photo_sides: tuple[int, ...] = PHOTO_SIDES
) -> tuple[list[tuple[bytes, tuple[int, int]]], int, int]:
    """JPEG renditions at Telegram's photo sides (never upscaled), and the source size."""
    try:
        with Image.open(io.BytesIO(data)) as source:
            source.load()
            image = ImageOps.exif_transpose(source) or source
            width, height = image.size
            if width + height > 10000 or max(width, height) > 20 * min(width, height):
                raise MediaError("PHOTO_INVALID_DIMENSIONS")
            rgb = image.convert("RGB")
    except MediaError:
        raise
    except Exception as exc:  # whatever Pillow cannot decode, Telegram cannot either
        raise MediaError("IMAGE_PROCESS_FAILED") from exc
    longest = max(width, height)
    sides = [side for side in photo_sides if side < longest]
    if min(longest, photo_sides[-1]) not in sides:
        sides.append(min(longest, photo_sides[-1]))
    out = []
    for side in sides:
        scale = side / longest
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        resized = rgb if size == rgb.size else rgb.resize(size, Image.Resampling.LANCZOS)
        buffer = io.BytesIO()
        resized.save(buffer, "JPEG", quality=87, optimize=True)
        out.append((buffer.getvalue(), size))
    return out, width, height
