"""Pixels into what a JPEG for Telegram can hold: a mode that resizes correctly, alpha
flattened on white, colours moved to sRGB (an untagged JPEG is sRGB to every viewer)."""

from __future__ import annotations

import functools
import io

from PIL import Image

try:
    from PIL import ImageCms
except ImportError:  # Pillow built without LittleCMS: profiles are then embedded, not applied
    ImageCms = None  # type: ignore[assignment]

BACKGROUND = (255, 255, 255)


def normalise_mode(im: Image.Image) -> Image.Image:
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


def icc_space(icc: bytes) -> bytes:
    """The colour space signature of an ICC profile (bytes 16-19 of its header)."""
    return icc[16:20] if len(icc) >= 20 else b""


@functools.lru_cache(maxsize=8)
def srgb_transform(icc: bytes, mode: str) -> ImageCms.ImageCmsTransform:
    """A cached transform from an embedded profile to sRGB (building one costs milliseconds)."""
    source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
    return ImageCms.buildTransform(
        source, srgb, mode, "RGB", renderingIntent=ImageCms.Intent.PERCEPTUAL
    )


def to_output_space(im: Image.Image, icc: bytes | None) -> tuple[Image.Image, bytes | None]:
    """Flatten alpha on white and move to sRGB; also the profile still to embed, if any."""
    if im.mode == "RGBA":
        flat = Image.new("RGB", im.size, BACKGROUND)
        flat.paste(im, (0, 0), im)
        im = flat
    if icc and ImageCms is not None:
        try:
            converted = ImageCms.applyTransform(im, srgb_transform(icc, im.mode))
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
    if icc and icc_space(icc) == expected:
        return im, icc
    return im, None
