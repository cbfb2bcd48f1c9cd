"""Photo renditions: decode once, downscale in a chain, write content-addressed JPEGs.

Pure image code (no network, no Celery): the `procesar_imagen` task downloads the user's
file and calls `make_renditions`. `ImageRejected` means the input can never succeed, so the
task must not retry it; any other exception (disk full, ...) is worth a retry, and a retry
is cheap and safe because file names depend only on the input bytes and the rendition spec.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from core.photos.color import normalise_mode, to_output_space
from core.photos.geometry import MAX_ASPECT, Size, aspect_ok, fit_size, orientation_of, upright
from core.photos.safety import (
    MAX_PIXELS,
    ImageRejected,
    RejectReason,
    allowed_formats,
    open_untrusted,
    pillow_guard,
)

__all__ = [
    "JPEG_QUALITY",
    "MAX_ASPECT",
    "MAX_OUTPUT_BYTES",
    "MAX_PIXELS",
    "RENDITIONS",
    "ImageRejected",
    "RejectReason",
    "Rendition",
    "RenditionFile",
    "allowed_formats",
    "fit_size",
    "make_renditions",
]

JPEG_QUALITY = 85
# Telegram sendPhoto: at most 10 MB (decimal, the stricter reading), width + height at most
# 10000 and an aspect ratio of at most 20.
MAX_OUTPUT_BYTES = 10_000_000
MAX_SIDE_SUM = 10_000
RESAMPLE = Image.Resampling.LANCZOS
# Pillow's thumbnail() default: a box pre-reduction by an integer factor, then LANCZOS over
# at least this ratio. Measured on a 12 MP photo it stays above 50 dB PSNR from a full
# LANCZOS pass (JPEG q85 itself lands at 33-38 dB) and makes the 800 -> 150 step 2.5x faster.
REDUCING_GAP = 2.0
# Part of every file name: bump it when the same input should produce different bytes.
PIPELINE_VERSION = 1

_NAME = re.compile(r"^[a-z0-9_]+$")
_TRANSPOSED = frozenset({2, 3, 4, 5, 6, 7, 8})
# Formats whose decoder can scale down while decoding (libjpeg's DCT scaling).
_DRAFTABLE = frozenset({"JPEG", "MPO"})
_SOI = b"\xff\xd8"
_EOI = b"\xff\xd9"


@dataclass(frozen=True)
class Rendition:
    """One output size: the image is fitted inside box_w x box_h, never enlarged."""

    name: str
    box_w: int
    box_h: int

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ValueError(f"rendition name must match {_NAME.pattern}: {self.name!r}")
        if self.box_w < 1 or self.box_h < 1:
            raise ValueError(f"rendition box must be positive: {self.box_w}x{self.box_h}")
        if self.box_w + self.box_h > MAX_SIDE_SUM:
            # Outputs never exceed the box, so checking the box enforces Telegram's rule.
            raise ValueError(f"width + height of {self.name} exceeds {MAX_SIDE_SUM}")


@dataclass(frozen=True)
class RenditionFile:
    """A rendition on disk."""

    name: str
    path: Path
    width: int
    height: int
    size_bytes: int


RENDITIONS = (
    Rendition("miniatura", 150, 150),
    Rendition("mediana", 800, 600),
    Rendition("grande", 1920, 1080),
)

Progress = Callable[[str], None]


def _file_name(source_digest: str, rendition: Rendition) -> str:
    """Content-addressed file name: same input bytes and spec, same name, on every retry."""
    spec = (
        f"v{PIPELINE_VERSION}:{source_digest}:{rendition.name}:"
        f"{rendition.box_w}x{rendition.box_h}:q{JPEG_QUALITY}"
    )
    return f"{rendition.name}-{hashlib.sha256(spec.encode()).hexdigest()[:32]}.jpg"


@contextlib.contextmanager
def _source_stream(source: BinaryIO | Path) -> Iterator[BinaryIO]:
    """A seekable binary stream over the source; files we open are closed afterwards."""
    if isinstance(source, (str, os.PathLike)):
        with Path(source).open("rb") as fp:
            yield fp
    elif source.seekable():
        yield source
    else:
        # Downloads are bounded by Telegram's 20 MB getFile limit, so buffering is fine.
        yield io.BytesIO(source.read())


def _digest(fp: BinaryIO) -> str:
    """SHA-256 of the whole stream, read in chunks so the hash costs no extra memory."""
    fp.seek(0)
    sha = hashlib.sha256()
    for chunk in iter(lambda: fp.read(1 << 20), b""):
        sha.update(chunk)
    fp.seek(0)
    return sha.hexdigest()


def _existing(rendition: Rendition, path: Path) -> RenditionFile | None:
    """The rendition if a previous run finished writing it, else None."""
    try:
        size_bytes = path.stat().st_size
        with path.open("rb") as fp:
            head = fp.read(2)
            fp.seek(-2, os.SEEK_END)
            tail = fp.read(2)
            if head != _SOI or tail != _EOI:
                # Renames are atomic but not fsynced: after a power cut a name may point at
                # a short file. A complete JPEG ends with EOI, so redo anything else.
                return None
            fp.seek(0)
            with Image.open(fp, formats=["JPEG"]) as im:
                width, height = im.size
    except (OSError, UnidentifiedImageError):
        return None
    return RenditionFile(rendition.name, path, width, height, size_bytes)


def _target_sizes(upright: Size, renditions: Sequence[Rendition]) -> dict[Rendition, Size]:
    """Each rendition's output size, all derived from the full-resolution upright size."""
    sizes = {r: fit_size(upright[0], upright[1], r.box_w, r.box_h) for r in renditions}
    for rendition, size in sizes.items():
        if not aspect_ok(size):
            # Rounding a thin side up to 1 px can push a borderline source over the limit.
            raise ImageRejected("aspect", f"{rendition.name} would be {size[0]}x{size[1]}")
    return sizes


def _decode(
    im: ImageFile.ImageFile, renditions: Sequence[Rendition]
) -> tuple[Image.Image, dict[Rendition, Size]]:
    """Decode once, as small as the largest rendition allows, upright; also the target sizes."""
    with pillow_guard("decode"):
        if im.format in _DRAFTABLE:
            # EXIF is in the JPEG header, so orientation is known before any pixel decodes.
            orientation = orientation_of(im)
            sizes = _target_sizes(upright(im.size, orientation), renditions)
            need: Size = (max(w for w, _ in sizes.values()), max(h for _, h in sizes.values()))
            # draft() sees the stored (unturned) pixels, so for 5-8 the box is swapped; an
            # unswapped box under-shrinks (2400x3600 stored for 1620x1080: 1/2 vs none).
            # The returned sub-pixel crop box is ignored: it moves the scale by < 0.1%.
            im.draft("RGB", upright(need, orientation))
            im.load()
        else:
            # PNG may keep its eXIf chunk after the pixel data, so decode first.
            im.load()
            orientation = orientation_of(im)
            sizes = _target_sizes(upright(im.size, orientation), renditions)
    if orientation in _TRANSPOSED:
        # After load(): draft() changed the size, and transposing pixels needs them decoded.
        ImageOps.exif_transpose(im, in_place=True)
    return normalise_mode(im), sizes


# Below this shrink factor BICUBIC and LANCZOS outputs differ by less than the JPEG noise of
# quality 85 (bench.images: the same 35.3 dB against an ideal reference for the medium), and
# BICUBIC's smaller kernel is a third cheaper. The large (about 1.3×) and the medium (about
# 2×, from the large) fall under it; the thumbnail's big step keeps LANCZOS.
MILD_SHRINK = 2.5


def _resize(im: Image.Image, size: Size) -> Image.Image:
    """Resize with a filter fit for the step; integer pre-reduction for big steps."""
    if im.size == size:
        return im
    mild = im.width < size[0] * MILD_SHRINK and im.height < size[1] * MILD_SHRINK
    resample = Image.Resampling.BICUBIC if mild else RESAMPLE
    return im.resize(size, resample, reducing_gap=REDUCING_GAP)


def _chain(
    base: Image.Image, sizes: dict[Rendition, Size], icc: bytes | None
) -> Iterator[tuple[Rendition, Image.Image, bytes | None]]:
    """Each rendition, largest first, resized from the smallest finished image that covers it."""
    made: list[tuple[Image.Image, bytes | None]] = []
    for rendition in sorted(sizes, key=lambda r: sizes[r][0] * sizes[r][1], reverse=True):
        width, height = sizes[rendition]
        covering = [m for m in made if m[0].width >= width and m[0].height >= height]
        if covering:
            parent, out_icc = min(covering, key=lambda m: m[0].width * m[0].height)
            image = _resize(parent, (width, height))
        else:
            image, out_icc = to_output_space(_resize(base, (width, height)), icc)
        made.append((image, out_icc))
        yield rendition, image, out_icc


def _encode(im: Image.Image, icc: bytes | None) -> bytes:
    """Baseline optimized JPEG at JPEG_QUALITY; EXIF (GPS, camera) is deliberately dropped."""
    params: dict[str, Any] = {"quality": JPEG_QUALITY, "optimize": True, "progressive": False}
    if icc:
        params["icc_profile"] = icc
    buffer = io.BytesIO()
    im.save(buffer, "JPEG", **params)
    return buffer.getvalue()


def _write_atomic(path: Path, data: bytes) -> None:
    """Write via a temporary file in the same directory, then rename: readers never see half."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            os.fchmod(out.fileno(), 0o644)  # mkstemp's 0600 would hide files from the bot
            out.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _check_source(im: ImageFile.ImageFile) -> None:
    """Reject what can never become a sendPhoto before paying for the decode."""
    if not aspect_ok(im.size):
        raise ImageRejected(
            "aspect", f"{im.width}x{im.height} exceeds Telegram's aspect ratio of {MAX_ASPECT}"
        )


def make_renditions(
    source: BinaryIO | Path,
    out_dir: Path,
    progress: Progress | None = None,
    *,
    renditions: Sequence[Rendition] = RENDITIONS,
) -> list[RenditionFile]:
    """Write every rendition of source into out_dir (reusing finished ones), in given order.

    progress, if given, receives "decode" before the pixels are decoded and then each
    rendition's name, in the order of `renditions`, once its file exists. Raises
    ImageRejected for inputs to give up on; anything else (OSError, ...) may be retried.
    """
    report: Progress = progress or (lambda _stage: None)
    out_dir.mkdir(parents=True, exist_ok=True)
    with _source_stream(source) as fp:
        digest = _digest(fp)
        paths = {r: out_dir / _file_name(digest, r) for r in renditions}
        done = _reuse_existing(paths)
        if len(done) == len(paths):
            # A retry after everything was written: no decode at all.
            for rendition in renditions:
                report(rendition.name)
            return [done[r] for r in renditions]
        with open_untrusted(fp) as im:
            _check_source(im)
            icc = im.info.get("icc_profile") or None
            report("decode")
            base, sizes = _decode(im, renditions)
            encoded = {
                r: (_encode_checked(r, image, out_icc), image.size)
                for r, image, out_icc in _chain(base, sizes, icc)
                if r not in done
            }
        # Everything is encoded (and size-checked) before the first write, so a rejection
        # leaves no files; writing and reporting follow the caller's order, so a progress
        # bar keyed on RENDITIONS (small to large) only ever moves forward.
        for rendition in renditions:
            if rendition in encoded:
                data, (width, height) = encoded[rendition]
                _write_atomic(paths[rendition], data)
                done[rendition] = RenditionFile(
                    rendition.name, paths[rendition], width, height, len(data)
                )
            report(rendition.name)
    return [done[r] for r in renditions]


def _reuse_existing(paths: dict[Rendition, Path]) -> dict[Rendition, RenditionFile]:
    """The renditions a previous try already wrote, marked used again."""
    done = {}
    for rendition, path in paths.items():
        found = _existing(rendition, path)
        if found is not None:
            # Used again: the retention sweep (core.retention) keeps files by last use.
            with contextlib.suppress(FileNotFoundError):
                os.utime(path)
            done[rendition] = found
    return done


def _encode_checked(rendition: Rendition, im: Image.Image, icc: bytes | None) -> bytes:
    """The rendition's JPEG bytes, refusing what Telegram's sendPhoto would refuse."""
    data = _encode(im, icc)
    if len(data) > MAX_OUTPUT_BYTES:
        raise ImageRejected(
            "too_large_output", f"{rendition.name} is {len(data)} bytes > {MAX_OUTPUT_BYTES}"
        )
    return data
