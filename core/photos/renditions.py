"""Photo renditions: decode once, downscale in a chain, write content-addressed JPEGs.

Pure image code (no network, no Celery): the `procesar_imagen` task downloads the user's
file and calls `make_renditions`. `ImageRejected` means the input can never succeed, so the
task must not retry it; any other exception (disk full, ...) is worth a retry, and a retry
is cheap and safe because file names depend only on the input bytes and the rendition spec.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import os
import re
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, BinaryIO

from PIL import ExifTags, Image, ImageFile, ImageOps, UnidentifiedImageError

from core.photos.safety import (
    MAX_PIXELS,
    ImageRejected,
    RejectReason,
    allowed_formats,
    open_untrusted,
    pillow_guard,
)

try:
    from PIL import ImageCms
except ImportError:  # Pillow built without LittleCMS: profiles are then embedded, not applied
    ImageCms = None  # type: ignore[assignment]

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
MAX_ASPECT = 20
RESAMPLE = Image.Resampling.LANCZOS
# Pillow's thumbnail() default: a box pre-reduction by an integer factor, then LANCZOS over
# at least this ratio. Measured on a 12 MP photo it stays above 50 dB PSNR from a full
# LANCZOS pass (JPEG q85 itself lands at 33-38 dB) and makes the 800 -> 150 step 2.5x faster.
REDUCING_GAP = 2.0
BACKGROUND = (255, 255, 255)
# Part of every file name: bump it when the same input should produce different bytes.
PIPELINE_VERSION = 1

_NAME = re.compile(r"^[a-z0-9_]+$")
# EXIF orientations 5-8 store the picture rotated by 90 degrees: width and height swap.
_SWAPS_AXES = frozenset({5, 6, 7, 8})
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
Size = tuple[int, int]


def _round_side(numerator: int, denominator: int, closeness: Callable[[int], Fraction]) -> int:
    """Floor or ceil of numerator/denominator, whichever keeps the aspect closer; at least 1."""
    low = numerator // denominator
    high = -(-numerator // denominator)
    if low == 0:
        return 1
    # Ties go to the floor, as in Pillow's thumbnail(), so sizes match what it would pick.
    return min(low, high, key=closeness)


def fit_size(width: int, height: int, box_w: int, box_h: int) -> Size:
    """Largest size of width x height's aspect that fits the box, never upscaled, sides >= 1."""
    if min(width, height, box_w, box_h) < 1:
        raise ValueError(f"sizes must be positive: {width}x{height} in {box_w}x{box_h}")
    if width <= box_w and height <= box_h:
        return width, height
    aspect = Fraction(width, height)
    if box_w * height >= width * box_h:
        # The box is relatively wider than the image: height is the binding side.
        new_w = _round_side(box_h * width, height, lambda n: abs(Fraction(n, box_h) - aspect))
        return new_w, box_h
    new_h = _round_side(box_w * height, width, lambda n: abs(Fraction(box_w, n) - aspect))
    return box_w, new_h


def _aspect_ok(size: Size) -> bool:
    """Whether Telegram's sendPhoto accepts this aspect ratio."""
    return max(size) <= MAX_ASPECT * min(size)


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


def _orientation(im: Image.Image) -> int:
    """EXIF orientation (1-8), or 1 when absent or unreadable."""
    try:
        value = im.getexif().get(ExifTags.Base.Orientation, 1)
    except Exception:  # broken EXIF must not cost the photo: treat it as upright
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _upright(size: Size, orientation: int) -> Size:
    """The size once the EXIF orientation is applied."""
    return (size[1], size[0]) if orientation in _SWAPS_AXES else size


def _target_sizes(upright: Size, renditions: Sequence[Rendition]) -> dict[Rendition, Size]:
    """Each rendition's output size, all derived from the full-resolution upright size."""
    sizes = {r: fit_size(upright[0], upright[1], r.box_w, r.box_h) for r in renditions}
    for rendition, size in sizes.items():
        if not _aspect_ok(size):
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
            orientation = _orientation(im)
            sizes = _target_sizes(_upright(im.size, orientation), renditions)
            need: Size = (max(w for w, _ in sizes.values()), max(h for _, h in sizes.values()))
            # draft() sees the stored (unturned) pixels, so for 5-8 the box is swapped; an
            # unswapped box under-shrinks (2400x3600 stored for 1620x1080: 1/2 vs none).
            # The returned sub-pixel crop box is ignored: it moves the scale by < 0.1%.
            im.draft("RGB", _upright(need, orientation))
            im.load()
        else:
            # PNG may keep its eXIf chunk after the pixel data, so decode first.
            im.load()
            orientation = _orientation(im)
            sizes = _target_sizes(_upright(im.size, orientation), renditions)
    if orientation in _TRANSPOSED:
        # After load(): draft() changed the size, and transposing pixels needs them decoded.
        ImageOps.exif_transpose(im, in_place=True)
    return _normalise_mode(im), sizes


def _normalise_mode(im: Image.Image) -> Image.Image:
    """RGB, L, CMYK or RGBA: modes that LANCZOS resizes correctly and that flatten to JPEG."""
    if im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in im.info:
        # Pillow resizes RGBA premultiplied, so edges stay clean until we flatten.
        return im.convert("RGBA")
    if im.mode in ("RGB", "L", "CMYK"):
        return im
    if im.mode.startswith("I"):
        # 16-bit greyscale PNG: a plain convert() would clip everything above 255 to white.
        return im.convert("I").point(lambda v: v / 256).convert("L")
    if im.mode == "1":
        return im.convert("L")
    return im.convert("RGB")


def _icc_space(icc: bytes) -> bytes:
    """The colour space signature of an ICC profile (bytes 16-19 of its header)."""
    return icc[16:20] if len(icc) >= 20 else b""


@functools.lru_cache(maxsize=8)
def _srgb_transform(icc: bytes, mode: str) -> ImageCms.ImageCmsTransform:
    """A cached transform from an embedded profile to sRGB (building one costs milliseconds)."""
    source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
    return ImageCms.buildTransform(
        source, srgb, mode, "RGB", renderingIntent=ImageCms.Intent.PERCEPTUAL
    )


def _to_output_space(im: Image.Image, icc: bytes | None) -> tuple[Image.Image, bytes | None]:
    """Flatten alpha on white and move to sRGB; also the profile still to embed, if any."""
    if im.mode == "RGBA":
        flat = Image.new("RGB", im.size, BACKGROUND)
        flat.paste(im, (0, 0), im)
        im = flat
    if icc and ImageCms is not None:
        try:
            converted = ImageCms.applyTransform(im, _srgb_transform(icc, im.mode))
        except (ImageCms.PyCMSError, OSError, ValueError):
            pass  # unusable or mismatched profile: fall through and treat it as absent
        else:
            # Untagged JPEG means sRGB to every viewer; no need to ship the profile.
            assert converted is not None
            return converted, None
    if im.mode == "CMYK":
        # A CMYK profile cannot describe the RGB output, so it is dropped with the channel.
        return im.convert("RGB"), None
    expected = {"RGB": b"RGB ", "L": b"GRAY"}.get(im.mode)
    if icc and _icc_space(icc) == expected:
        return im, icc
    return im, None


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
            image, out_icc = _to_output_space(_resize(base, (width, height)), icc)
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
    if not _aspect_ok(im.size):
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
    done: dict[Rendition, RenditionFile] = {}
    with _source_stream(source) as fp:
        digest = _digest(fp)
        paths = {r: out_dir / _file_name(digest, r) for r in renditions}
        for rendition, path in paths.items():
            found = _existing(rendition, path)
            if found is not None:
                # Used again: the retention sweep (core.retention) keeps files by last use.
                with contextlib.suppress(FileNotFoundError):
                    os.utime(path)
                done[rendition] = found
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


def _encode_checked(rendition: Rendition, im: Image.Image, icc: bytes | None) -> bytes:
    """The rendition's JPEG bytes, refusing what Telegram's sendPhoto would refuse."""
    data = _encode(im, icc)
    if len(data) > MAX_OUTPUT_BYTES:
        raise ImageRejected(
            "too_large_output", f"{rendition.name} is {len(data)} bytes > {MAX_OUTPUT_BYTES}"
        )
    return data
