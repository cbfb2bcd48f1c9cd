"""Properties of core.photos.renditions.fit_size for arbitrary sizes and boxes."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from core.photos.renditions import fit_size

sides = st.integers(min_value=1, max_value=200_000)
boxes = st.integers(min_value=1, max_value=5_000)


def rounded_from(exact: Fraction, side: int) -> bool:
    """Whether side is exact rounded down or up (or 1, when exact is below 1)."""
    floor = exact.numerator // exact.denominator
    ceil = -(-exact.numerator // exact.denominator)
    return side in (floor, ceil) or (side == 1 and exact < 1)


@given(sides, sides, boxes, boxes)
def test_fits_never_upscales_and_keeps_at_least_one_pixel(
    width: int, height: int, box_w: int, box_h: int
) -> None:
    new_w, new_h = fit_size(width, height, box_w, box_h)
    assert 1 <= new_w <= min(width, box_w)
    assert 1 <= new_h <= min(height, box_h)


@given(sides, sides, boxes, boxes)
def test_aspect_is_kept_within_rounding(width: int, height: int, box_w: int, box_h: int) -> None:
    new_w, new_h = fit_size(width, height, box_w, box_h)
    if (new_w, new_h) == (width, height):
        return
    # One side is bound by the box; the other is the exact proportional value, rounded.
    width_bound = new_w == box_w and rounded_from(Fraction(height * box_w, width), new_h)
    height_bound = new_h == box_h and rounded_from(Fraction(width * box_h, height), new_w)
    assert width_bound or height_bound


@given(sides, sides, boxes, boxes)
def test_uses_the_box_as_fully_as_the_aspect_allows(
    width: int, height: int, box_w: int, box_h: int
) -> None:
    new_w, new_h = fit_size(width, height, box_w, box_h)
    # Not pointlessly small: either unscaled, or one side touches the box.
    assert (new_w, new_h) == (width, height) or new_w == box_w or new_h == box_h


@given(sides, sides, boxes, boxes)
def test_is_idempotent(width: int, height: int, box_w: int, box_h: int) -> None:
    fitted = fit_size(width, height, box_w, box_h)
    assert fit_size(*fitted, box_w, box_h) == fitted


@given(st.integers(1, 400), st.integers(1, 400), boxes, boxes)
def test_images_that_already_fit_are_untouched(
    width: int, height: int, box_w: int, box_h: int
) -> None:
    if width <= box_w and height <= box_h:
        assert fit_size(width, height, box_w, box_h) == (width, height)


@pytest.mark.parametrize(
    ("size", "box"),
    [
        ((1800, 1200), (1920, 1080)),
        ((1800, 1200), (800, 600)),
        ((1200, 1800), (150, 150)),
        ((6000, 4000), (800, 600)),
        ((4242, 2828), (800, 600)),
        ((3000, 7), (150, 150)),
        ((7, 3000), (800, 600)),
        ((1001, 999), (150, 150)),
    ],
)
def test_matches_pillows_thumbnail(size: tuple[int, int], box: tuple[int, int]) -> None:
    # Same sizes as Image.thumbnail, so our renditions line up with what people expect.
    im = Image.new("1", size)
    im.thumbnail(box)
    assert fit_size(*size, *box) == im.size


@pytest.mark.parametrize("args", [(0, 10, 10, 10), (10, -1, 10, 10), (10, 10, 0, 10)])
def test_rejects_non_positive_sizes(args: tuple[int, int, int, int]) -> None:
    with pytest.raises(ValueError):
        fit_size(*args)
