"""Sizes of photo renditions: fitting a box without upscaling, Telegram's aspect limit, and
the EXIF orientation that decides which side is the width."""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction

from PIL import ExifTags, Image

Size = tuple[int, int]
# Telegram sendPhoto refuses an aspect ratio over 20.
MAX_ASPECT = 20
# EXIF orientations 5-8 store the picture rotated by 90 degrees: width and height swap.
_SWAPS_AXES = frozenset({5, 6, 7, 8})


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


def aspect_ok(size: Size) -> bool:
    """Whether Telegram's sendPhoto accepts this aspect ratio."""
    return max(size) <= MAX_ASPECT * min(size)


def orientation_of(im: Image.Image) -> int:
    """EXIF orientation (1-8), or 1 when absent or unreadable."""
    try:
        value = im.getexif().get(ExifTags.Base.Orientation, 1)
    except Exception:  # broken EXIF must not cost the photo: treat it as upright
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def upright(size: Size, orientation: int) -> Size:
    """The size once the EXIF orientation is applied."""
    return (size[1], size[0]) if orientation in _SWAPS_AXES else size
