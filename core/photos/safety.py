"""Opening untrusted image bytes: format allow-list, pixel limit, truncation and error codes."""

from __future__ import annotations

import struct
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import BinaryIO, Literal

from PIL import Image, ImageFile, UnidentifiedImageError

# 50 MP covers full-resolution files from 48 MP phone sensors (8064x6048 = 48.8 MP) sent as
# documents (photos sent as photos arrive recompressed by Telegram, a few MP at most), while
# bounding the worst decode: a 50 MP PNG or WebP is ~200 MB of RGBA in one worker. JPEGs
# cost far less because they are decoded downscaled.
MAX_PIXELS = 50_000_000
# Pillow warns above MAX_IMAGE_PIXELS and only errors above twice that; the warning is made
# an error around open/load below, so this is the effective limit for every Pillow call.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS

RejectReason = Literal[
    "not_image", "truncated", "format", "too_many_pixels", "too_large_output", "aspect"
]

# The formats a Telegram user plausibly sends, each with a hardened, widely fuzzed decoder;
# the long tail Pillow can parse (EPS, PSD, TIFF, ...) is attack surface we do not need.
BASE_FORMATS = ("JPEG", "PNG", "WEBP", "GIF")


class ImageRejected(Exception):
    """The input can never become renditions; retrying the task will not help."""

    def __init__(self, reason: RejectReason, detail: str = "") -> None:
        # Both values go to Exception.args so the exception pickles (Celery ships it back).
        super().__init__(reason, detail)
        self.reason: RejectReason = reason
        self.detail = detail

    def __str__(self) -> str:
        return f"{self.reason}: {self.detail}" if self.detail else self.reason


def allowed_formats() -> tuple[str, ...]:
    """The Pillow format ids we open: the base four, plus HEIF when a plugin provides it."""
    Image.init()
    # Checked per call rather than at import: pillow_heif registers itself at runtime.
    return BASE_FORMATS + (("HEIF",) if "HEIF" in Image.ID else ())


def _claims(accept: Callable[[bytes], bool | str], prefix: bytes) -> bool:
    """Whether a plugin's accept() recognises these leading bytes."""
    try:
        result = accept(prefix)
    except Exception:  # an accept() that chokes on junk simply does not claim it
        return False
    # Pillow's accept() may return a warning string, which means "not this format".
    return bool(result) and not isinstance(result, str)


def _classify_unopenable(prefix: bytes) -> RejectReason:
    """Why Pillow could not open a file: a broken allowed one, another format, or no image."""
    allowed = set(allowed_formats())
    allowed_accepts = [Image.OPEN[fid][1] for fid in allowed if fid in Image.OPEN]
    if any(accept is not None and _claims(accept, prefix) for accept in allowed_accepts):
        # The signature is ours but the header did not parse: cut off or corrupt.
        return "truncated"
    for format_id, (_factory, accept) in Image.OPEN.items():
        # MPO shares JPEG's accept(); formats sharing an allowed accept are not "other".
        if format_id in allowed or accept is None or accept in allowed_accepts:
            continue
        if _claims(accept, prefix):
            return "format"
    return "not_image"


@contextmanager
def pillow_guard(stage: Literal["open", "decode"]) -> Iterator[None]:
    """Map what Pillow raises on hostile input to ImageRejected; bomb warnings become errors."""
    if ImageFile.LOAD_TRUNCATED_IMAGES:
        # Someone in this process enabled it; a truncated upload would silently become a
        # half-grey rendition, so refuse loudly instead of quietly flipping the global back.
        raise RuntimeError("PIL.ImageFile.LOAD_TRUNCATED_IMAGES must stay False")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            yield
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageRejected("too_many_pixels", str(exc)) from exc
    except UnidentifiedImageError as exc:
        raise ImageRejected("not_image", str(exc)) from exc
    except (OSError, ValueError, EOFError, SyntaxError, struct.error) as exc:
        # Past identification every decoder failure means broken or cut-off data.
        raise ImageRejected("truncated", f"{stage}: {exc}") from exc


def open_untrusted(fp: BinaryIO) -> ImageFile.ImageFile:
    """Identify an image from a seekable stream, enforcing the allow-list and pixel limit."""
    fp.seek(0)
    prefix = fp.read(16)
    fp.seek(0)
    try:
        with pillow_guard("open"):
            im = Image.open(fp, formats=list(allowed_formats()))
    except ImageRejected as exc:
        if exc.reason != "not_image":
            raise
        reason = _classify_unopenable(prefix)
        raise ImageRejected(reason, "" if reason == "not_image" else str(exc)) from exc
    width, height = im.size
    # Pillow's own check depends on a global anyone may change; this one does not.
    if width * height > MAX_PIXELS:
        im.close()
        raise ImageRejected("too_many_pixels", f"{width}x{height} exceeds {MAX_PIXELS} pixels")
    if width < 1 or height < 1:
        im.close()
        raise ImageRejected("not_image", f"empty image {width}x{height}")
    return im
