"""core.photos.renditions: renditions of real photos and of hostile, odd or broken inputs."""

from __future__ import annotations

import io
import math
import os
import pickle
import statistics
import struct
import subprocess
import sys
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import ExifTags, Image, ImageChops, ImageCms, ImageFile, ImageStat

from core.photos import color
from core.photos import renditions as images
from core.photos import safety as imagesafety
from core.photos.renditions import (
    JPEG_QUALITY,
    RENDITIONS,
    ImageRejected,
    Rendition,
    RenditionFile,
    make_renditions,
)

LANDSCAPE_SIZES = {"miniatura": (150, 100), "mediana": (800, 533), "grande": (1620, 1080)}
PORTRAIT_SIZES = {"miniatura": (100, 150), "mediana": (400, 600), "grande": (720, 1080)}
# Measured: a correctly turned photo differs from orientation 1 by RMS 3-13 (JPEG noise of
# separately encoded files); a mirrored or upside-down one by 50-105.
UPRIGHT_RMS = 20.0
REPO = Path(__file__).resolve().parents[3]


# ---- helpers -------------------------------------------------------------------------


def rms(a: Image.Image, b: Image.Image) -> float:
    """Root mean square pixel difference of two same-size images, compared as RGB."""
    stat = ImageStat.Stat(ImageChops.difference(a.convert("RGB"), b.convert("RGB")))
    return math.sqrt(statistics.fmean(value**2 for value in stat.rms))


def encoded(im: Image.Image, fmt: str, **params: object) -> io.BytesIO:
    """An in-memory file of im saved as fmt."""
    buffer = io.BytesIO()
    im.save(buffer, fmt, **params)
    buffer.seek(0)
    return buffer


def opened(rendition: RenditionFile) -> Image.Image:
    """The decoded rendition."""
    with Image.open(rendition.path) as im:
        im.load()
        return im


def by_name(files: list[RenditionFile]) -> dict[str, RenditionFile]:
    """Renditions keyed by name."""
    return {f.name: f for f in files}


def centre_pixel(rendition: RenditionFile) -> tuple[int, ...]:
    """The RGB value at the middle of a rendition."""
    im = opened(rendition).convert("RGB")
    pixel = im.getpixel((im.width // 2, im.height // 2))
    assert isinstance(pixel, tuple)
    return pixel


def close_to(actual: tuple[int, ...], expected: tuple[int, ...], tolerance: int = 12) -> bool:
    """Whether two colours match within JPEG's error."""
    return all(abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=True))


def png_header_only(width: int, height: int) -> bytes:
    """A tiny PNG whose header declares width x height: a decompression bomb's opening."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        body = tag + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b""))
        + chunk(b"IEND", b"")
    )


def swapped_primaries_profile() -> bytes:
    """sRGB with its red and green primaries exchanged: converting it turns red into green."""
    data = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    (count,) = struct.unpack(">I", data[128:132])
    offsets = {bytes(data[132 + 12 * i : 136 + 12 * i]): 132 + 12 * i for i in range(count)}
    red, green = offsets[b"rXYZ"], offsets[b"gXYZ"]
    data[red : red + 4], data[green : green + 4] = b"gXYZ", b"rXYZ"
    return bytes(data)


def rejected(source: io.BytesIO | Path, out_dir: Path) -> str:
    """The reason make_renditions rejects source with; fails if it does not."""
    with pytest.raises(ImageRejected) as info:
        make_renditions(source, out_dir)
    return info.value.reason


@pytest.fixture(scope="module")
def upright_reference(
    photos_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, dict[str, Image.Image]]:
    """Renditions of the orientation-1 photos, which need no turning."""
    reference = {}
    for kind in ("Landscape", "Portrait"):
        out = tmp_path_factory.mktemp(f"reference-{kind}")
        files = make_renditions(photos_dir / f"{kind}_1.jpg", out)
        reference[kind] = {f.name: opened(f) for f in files}
    return reference


# ---- real photos, every EXIF orientation -------------------------------------------


@pytest.mark.parametrize("orientation", range(9))
@pytest.mark.parametrize("kind", ["Landscape", "Portrait"])
def test_every_orientation_comes_out_upright_and_sized(
    kind: str,
    orientation: int,
    photos_dir: Path,
    tmp_path: Path,
    upright_reference: dict[str, dict[str, Image.Image]],
) -> None:
    files = make_renditions(photos_dir / f"{kind}_{orientation}.jpg", tmp_path)

    expected = LANDSCAPE_SIZES if kind == "Landscape" else PORTRAIT_SIZES
    assert [f.name for f in files] == [r.name for r in RENDITIONS]
    for rendition in files:
        im = opened(rendition)
        assert (rendition.width, rendition.height) == im.size == expected[rendition.name]
        assert rendition.size_bytes == rendition.path.stat().st_size
        assert rms(im, upright_reference[kind][rendition.name]) < UPRIGHT_RMS


def test_upright_check_catches_a_wrongly_turned_image(
    upright_reference: dict[str, dict[str, Image.Image]],
) -> None:
    # The threshold above must be able to fail: mirrored or rotated content is far away.
    mediana = upright_reference["Landscape"]["mediana"]
    for method in (Image.Transpose.FLIP_LEFT_RIGHT, Image.Transpose.ROTATE_180):
        assert rms(mediana, mediana.transpose(method)) > 2 * UPRIGHT_RMS


def sideways_big_jpeg(photos_dir: Path) -> io.BytesIO:
    """Landscape_6 (stored portrait, EXIF 6) enlarged to 2400x3600 stored, EXIF kept."""
    with Image.open(photos_dir / "Landscape_6.jpg") as im:
        exif = im.getexif()
        assert exif.get(ExifTags.Base.Orientation) == 6
        big = im.resize((2400, 3600), Image.Resampling.LANCZOS)
    return encoded(big, "JPEG", quality=90, exif=exif.tobytes())


def test_draft_box_is_turned_for_sideways_photos(photos_dir: Path) -> None:
    # Upright 3600x2400 needs 1620x1080, i.e. 1080x1620 of the stored pixels: a 1/2 DCT
    # scale. An unturned box (1620x1080 against 2400 wide) would allow no scaling at all.
    with Image.open(sideways_big_jpeg(photos_dir)) as im:
        base, sizes = images._decode(im, RENDITIONS)
    assert base.size == (1800, 1200)
    assert sizes[RENDITIONS[-1]] == (1620, 1080)


def test_sideways_draft_decoded_photo_is_upright(
    photos_dir: Path, tmp_path: Path, upright_reference: dict[str, dict[str, Image.Image]]
) -> None:
    files = by_name(make_renditions(sideways_big_jpeg(photos_dir), tmp_path))
    for name, reference in upright_reference["Landscape"].items():
        im = opened(files[name])
        assert im.size == reference.size
        assert rms(im, reference) < UPRIGHT_RMS


def test_exif_orientation_of_a_png_is_applied(tmp_path: Path) -> None:
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    im = Image.new("RGB", (40, 20), "red")
    im.paste((0, 0, 255), (0, 0, 20, 20))  # left half blue; EXIF 6 puts it on top
    files = by_name(make_renditions(encoded(im, "PNG", exif=exif), tmp_path))
    top = opened(files["grande"]).convert("RGB")
    assert top.size == (20, 40)
    assert close_to(top.getpixel((10, 5)), (0, 0, 255))  # type: ignore[arg-type]
    assert close_to(top.getpixel((10, 35)), (255, 0, 0))  # type: ignore[arg-type]


# ---- output encoding ------------------------------------------------------------------


def test_outputs_are_baseline_jpeg_at_quality_85(photos_dir: Path, tmp_path: Path) -> None:
    for rendition in make_renditions(photos_dir / "Landscape_1.jpg", tmp_path):
        with Image.open(rendition.path) as im:
            assert im.format == "JPEG"
            assert not im.info.get("progressive") and not im.info.get("progression")
            # Same quality means the same quantization tables as a reference q85 encode.
            reference = Image.open(encoded(im.convert("RGB"), "JPEG", quality=JPEG_QUALITY))
            assert getattr(im, "quantization", None) == getattr(reference, "quantization", 0)
            assert "exif" not in im.info  # GPS and camera data stay private


def test_progressive_check_would_notice_a_progressive_file() -> None:
    im = Image.open(encoded(Image.new("RGB", (32, 32)), "JPEG", progressive=True))
    assert im.info.get("progressive") or im.info.get("progression")


def test_same_input_gives_same_names_and_bytes(photos_dir: Path, tmp_path: Path) -> None:
    first = make_renditions(photos_dir / "Portrait_6.jpg", tmp_path / "a")
    second = make_renditions(photos_dir / "Portrait_6.jpg", tmp_path / "b")
    assert [f.path.name for f in first] == [f.path.name for f in second]
    for a, b in zip(first, second, strict=True):
        assert a.path.read_bytes() == b.path.read_bytes()
        assert a.path.name.startswith(f"{a.name}-") and a.path.suffix == ".jpg"


def test_different_inputs_give_different_names(photos_dir: Path, tmp_path: Path) -> None:
    one = make_renditions(photos_dir / "Landscape_1.jpg", tmp_path)
    two = make_renditions(photos_dir / "Landscape_2.jpg", tmp_path)
    assert not {f.path for f in one} & {f.path for f in two}
    assert len(list(tmp_path.iterdir())) == 6


def test_a_retry_reuses_the_files_without_decoding(photos_dir: Path, tmp_path: Path) -> None:
    first = make_renditions(photos_dir / "Landscape_3.jpg", tmp_path)
    # Pretend they were made a week ago: reuse must mark them used for the retention sweep.
    for f in first:
        os.utime(f.path, (0, 1_000_000))
    inodes = [f.path.stat().st_ino for f in first]
    events: list[str] = []
    again = make_renditions(photos_dir / "Landscape_3.jpg", tmp_path, events.append)
    assert again == first
    # Not rewritten (a rewrite renames a new file into place), but touched.
    assert [f.path.stat().st_ino for f in again] == inodes
    assert all(f.path.stat().st_mtime > 1_000_000 for f in again)
    assert "decode" not in events
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f.path.name for f in first)


def test_a_half_written_file_is_replaced(photos_dir: Path, tmp_path: Path) -> None:
    first = by_name(make_renditions(photos_dir / "Landscape_1.jpg", tmp_path))
    good = first["mediana"].path.read_bytes()
    first["mediana"].path.write_bytes(good[: len(good) // 2])  # as after a power cut
    again = by_name(make_renditions(photos_dir / "Landscape_1.jpg", tmp_path))
    assert again["mediana"].path.read_bytes() == good
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp files


def test_progress_reports_decode_then_each_rendition_in_order(
    photos_dir: Path, tmp_path: Path
) -> None:
    # core.photos.processing maps these names to a rising percentage: small to large, never
    # backwards.
    events: list[str] = []
    make_renditions(photos_dir / "Landscape_1.jpg", tmp_path, events.append)
    assert events == ["decode", "miniatura", "mediana", "grande"]
    events.clear()
    make_renditions(photos_dir / "Landscape_1.jpg", tmp_path, events.append)
    assert events == ["miniatura", "mediana", "grande"]


def test_streams_work_as_sources(photos_dir: Path, tmp_path: Path) -> None:
    data = (photos_dir / "Landscape_1.jpg").read_bytes()
    from_path = make_renditions(photos_dir / "Landscape_1.jpg", tmp_path / "path")
    from_bytes = make_renditions(io.BytesIO(data), tmp_path / "bytes")

    class OneWayStream(io.BytesIO):
        """A download that cannot seek."""

        def seekable(self) -> bool:
            return False

    from_stream = make_renditions(OneWayStream(data), tmp_path / "stream")
    names = [f.path.name for f in from_path]
    assert [f.path.name for f in from_bytes] == names == [f.path.name for f in from_stream]


# ---- colour, transparency, other formats --------------------------------------------


def test_transparent_png_is_flattened_on_white(tmp_path: Path) -> None:
    im = Image.new("RGBA", (300, 200), (255, 0, 0, 0))  # invisible red must not show
    im.paste((0, 0, 255, 255), (150, 0, 300, 100))
    im.paste((0, 0, 0, 128), (150, 100, 300, 200))
    files = by_name(make_renditions(encoded(im, "PNG"), tmp_path))
    out = opened(files["mediana"]).convert("RGB")
    assert out.mode == "RGB" and out.size == (300, 200)
    assert close_to(out.getpixel((60, 100)), (255, 255, 255))  # type: ignore[arg-type]
    assert close_to(out.getpixel((225, 50)), (0, 0, 255))  # type: ignore[arg-type]
    assert close_to(out.getpixel((225, 150)), (127, 127, 127))  # type: ignore[arg-type]


def test_palette_png(tmp_path: Path) -> None:
    im = Image.new("RGB", (200, 100), (0, 160, 0)).quantize(colors=4)
    assert im.mode == "P"
    files = make_renditions(encoded(im, "PNG"), tmp_path)
    assert all(close_to(centre_pixel(f), (0, 160, 0)) for f in files)


def test_palette_png_with_transparent_index(tmp_path: Path) -> None:
    im = Image.new("P", (200, 100), 1)
    im.putpalette([255, 0, 0, 0, 0, 255])
    im.paste(0, (0, 0, 100, 100))
    files = by_name(make_renditions(encoded(im, "PNG", transparency=0), tmp_path))
    out = opened(files["grande"]).convert("RGB")
    assert close_to(out.getpixel((50, 50)), (255, 255, 255))  # type: ignore[arg-type]
    assert close_to(out.getpixel((150, 50)), (0, 0, 255))  # type: ignore[arg-type]


def test_gif_uses_the_first_frame(tmp_path: Path) -> None:
    frames = [Image.new("RGB", (120, 80), colour) for colour in ("red", "lime", "blue")]
    gif = encoded(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100)
    assert getattr(Image.open(gif), "n_frames", 1) == 3
    gif.seek(0)
    files = make_renditions(gif, tmp_path)
    assert all(close_to(centre_pixel(f), (255, 0, 0)) for f in files)
    assert by_name(files)["miniatura"].width == 120  # never upscaled


def test_webp(tmp_path: Path) -> None:
    im = Image.new("RGB", (1000, 500), (200, 100, 50))
    files = by_name(make_renditions(encoded(im, "WEBP", quality=95), tmp_path))
    assert (files["mediana"].width, files["mediana"].height) == (800, 400)
    assert close_to(centre_pixel(files["mediana"]), (200, 100, 50))


def test_multi_picture_jpeg_is_a_jpeg(tmp_path: Path) -> None:
    # Phones write MPO (a JPEG with extra frames); Pillow opens it through the JPEG plugin.
    mpo = encoded(
        Image.new("RGB", (64, 64), "red"),
        "MPO",
        save_all=True,
        append_images=[Image.new("RGB", (64, 64), "blue")],
    )
    assert Image.open(mpo).format == "MPO"
    mpo.seek(0)
    assert all(close_to(centre_pixel(f), (255, 0, 0)) for f in make_renditions(mpo, tmp_path))


def test_cmyk_jpeg_becomes_rgb(tmp_path: Path) -> None:
    cmyk = encoded(Image.new("CMYK", (64, 64), (0, 255, 255, 0)), "JPEG", quality=95)
    files = make_renditions(cmyk, tmp_path)
    assert opened(files[0]).mode == "RGB"
    assert close_to(centre_pixel(files[0]), (255, 0, 0), tolerance=20)


def test_greyscale_jpeg_stays_greyscale(tmp_path: Path) -> None:
    grey = encoded(Image.new("L", (3000, 2000), 90), "JPEG", quality=95)
    files = by_name(make_renditions(grey, tmp_path))
    large = opened(files["grande"])
    assert (large.mode, large.size) == ("L", (1620, 1080))
    assert close_to(centre_pixel(files["grande"]), (90, 90, 90), tolerance=3)


def test_sixteen_bit_grey_png_is_scaled_not_clipped(tmp_path: Path) -> None:
    files = make_renditions(encoded(Image.new("I;16", (64, 64), 32768), "PNG"), tmp_path)
    assert close_to(centre_pixel(files[0]), (128, 128, 128), tolerance=3)


def test_icc_profile_is_converted_to_srgb(tmp_path: Path) -> None:
    red = encoded(Image.new("RGB", (64, 64), (255, 0, 0)), "PNG", icc_profile=swapped_primaries())
    files = make_renditions(red, tmp_path)
    r, g, b = centre_pixel(files[0])
    assert g > 150 and r < 100, (r, g, b)  # the profile said "this red is green"
    assert "icc_profile" not in opened(files[0]).info  # untagged means sRGB


def swapped_primaries() -> bytes:
    """The swapped-primaries profile, checked to be one LittleCMS accepts."""
    profile = swapped_primaries_profile()
    ImageCms.ImageCmsProfile(io.BytesIO(profile))
    return profile


def test_without_littlecms_the_profile_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(color, "ImageCms", None)
    profile = swapped_primaries()
    red = encoded(Image.new("RGB", (64, 64), (255, 0, 0)), "PNG", icc_profile=profile)
    files = make_renditions(red, tmp_path)
    assert opened(files[0]).info.get("icc_profile") == profile
    assert close_to(centre_pixel(files[0]), (255, 0, 0))


# ---- rejections -------------------------------------------------------------------------


def test_truncated_jpeg(photos_dir: Path, tmp_path: Path) -> None:
    data = (photos_dir / "Landscape_1.jpg").read_bytes()
    assert rejected(io.BytesIO(data[: len(data) // 2]), tmp_path) == "truncated"
    assert rejected(io.BytesIO(data[:300]), tmp_path) == "truncated"  # cut inside the header
    assert list(tmp_path.iterdir()) == []


def test_truncated_png(tmp_path: Path) -> None:
    data = encoded(Image.effect_noise((200, 200), 60), "PNG").getvalue()
    assert rejected(io.BytesIO(data[: len(data) // 2]), tmp_path) == "truncated"


def test_not_an_image(tmp_path: Path) -> None:
    assert rejected(io.BytesIO(b"name,qty\nempanada,12\n" * 50), tmp_path) == "not_image"
    assert rejected(io.BytesIO(b""), tmp_path) == "not_image"


@pytest.mark.parametrize("fmt", ["BMP", "TIFF"])
def test_formats_outside_the_allow_list(fmt: str, tmp_path: Path) -> None:
    assert rejected(encoded(Image.new("RGB", (32, 32)), fmt), tmp_path) == "format"


@pytest.mark.parametrize("side", [8000, 20000])  # over the limit; over twice the limit
def test_decompression_bomb(side: int, tmp_path: Path) -> None:
    bomb = io.BytesIO(png_header_only(side, side))
    assert len(bomb.getvalue()) < 100
    assert rejected(bomb, tmp_path) == "too_many_pixels"


def test_pixel_limit_holds_even_if_pillows_limit_is_lifted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)
    assert rejected(io.BytesIO(png_header_only(8000, 8000)), tmp_path) == "too_many_pixels"


def test_pillows_bomb_warning_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # With our own check out of the way, Pillow's DecompressionBombWarning must still stop it.
    monkeypatch.setattr(imagesafety, "MAX_PIXELS", 10**12)
    assert rejected(io.BytesIO(png_header_only(8000, 8000)), tmp_path) == "too_many_pixels"


def test_image_at_the_limit_opens() -> None:
    assert Image.MAX_IMAGE_PIXELS == images.MAX_PIXELS >= 24_000_000
    with images.open_untrusted(io.BytesIO(png_header_only(7000, 7000))) as im:
        assert im.size == (7000, 7000)


def test_extreme_aspect_is_rejected(tmp_path: Path) -> None:
    assert rejected(encoded(Image.new("RGB", (2100, 100)), "PNG"), tmp_path) == "aspect"
    assert rejected(encoded(Image.new("RGB", (50, 1010)), "PNG"), tmp_path) == "aspect"
    files = by_name(make_renditions(encoded(Image.new("RGB", (2000, 100)), "PNG"), tmp_path))
    assert (files["miniatura"].width, files["miniatura"].height) == (150, 8)


def test_output_over_telegrams_limit(
    photos_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(images, "MAX_OUTPUT_BYTES", 50_000)
    assert rejected(photos_dir / "Landscape_1.jpg", tmp_path) == "too_large_output"
    assert list(tmp_path.iterdir()) == []


def test_truncated_loading_must_stay_off(
    photos_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    with pytest.raises(RuntimeError, match="LOAD_TRUNCATED_IMAGES"):
        make_renditions(photos_dir / "Landscape_1.jpg", tmp_path)


def test_rejection_survives_pickling() -> None:
    error = pickle.loads(pickle.dumps(ImageRejected("format", "BMP")))
    assert isinstance(error, ImageRejected)
    assert (error.reason, error.detail, str(error)) == ("format", "BMP", "format: BMP")


def test_missing_source_file_is_not_a_rejection(tmp_path: Path) -> None:
    # Infrastructure trouble must stay retryable, unlike ImageRejected.
    with pytest.raises(FileNotFoundError):
        make_renditions(tmp_path / "nope.jpg", tmp_path / "out")


# ---- API edges --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        lambda: Rendition("Grande!", 10, 10),
        lambda: Rendition("cero", 0, 10),
        lambda: Rendition("enorme", 6000, 5000),
    ],
)
def test_invalid_renditions(make: Callable[[], Rendition]) -> None:
    with pytest.raises(ValueError):
        make()


def test_custom_renditions(photos_dir: Path, tmp_path: Path) -> None:
    files = make_renditions(
        photos_dir / "Portrait_1.jpg", tmp_path, renditions=(Rendition("cuadrado", 64, 64),)
    )
    assert [(f.name, f.width, f.height) for f in files] == [("cuadrado", 43, 64)]


def test_heif_is_allowed_only_when_a_plugin_reads_it() -> None:
    formats = images.allowed_formats()
    assert formats[:4] == ("JPEG", "PNG", "WEBP", "GIF")
    assert ("HEIF" in formats) == ("HEIF" in Image.ID)


def test_core_images_imports_neither_telegram_nor_celery() -> None:
    code = (
        "import sys, core.photos.renditions;"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('telegram', 'celery')];"
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True)
