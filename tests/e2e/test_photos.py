"""Photos end to end: a photo or image document in, three renditions back as one album."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path
from typing import cast

import pytest
from PIL import Image, ImageChops, ImageStat

from sandbox.client import Chat, Message
from tests.support.system import System


def album_of(chat: Chat, timeout: float = 45) -> list[Message]:
    """The three messages of the renditions album, once all have arrived."""
    items = chat.wait_for_count(lambda m: bool(m.media_group_id), 3, timeout=timeout)
    assert len({m.media_group_id for m in items}) == 1
    return items


def rendition(system: System, message: Message) -> Image.Image:
    data = system.sandbox.download(message.media[0].file_id)
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def status_of(chat: Chat, stage: str, timeout: float = 45) -> Message:
    return chat.wait_for(
        lambda m: (m.text or "").startswith("🖼️") and stage in (m.text or ""), timeout=timeout
    )


def test_jpeg_photo_comes_back_as_three_upright_renditions(
    system: System, photos_dir: Path
) -> None:
    chat = system.private_chat()
    chat.send_photo(photos_dir / "Landscape_1.jpg")

    album = album_of(chat)
    images = [rendition(system, m) for m in album]
    # A user's 1800×1200 photo keeps its size on Telegram (sizes go up to 2560 px), so the
    # worker's large rendition fills the 1920×1080 box: 1620×1080 as uploaded, which Telegram
    # then shows at its own 1280 px for a bot's photo.
    made = [(m.media[0].original_width, m.media[0].original_height) for m in album]
    assert made == [(150, 100), (800, 533), (1620, 1080)]
    assert [im.size for im in images] == [(150, 100), (800, 533), (1280, 853)]
    assert all(im.format == "JPEG" for im in images)
    captions = [m.caption or "" for m in album]
    assert "Miniatura: 150×100 px" in captions[0] and "Grande: 1620×1080 px" in captions[2]
    done = status_of(chat, "listo")
    # Progress edits are coalesced under Telegram's 1 message/s per chat: fast stages may be
    # skipped, but the bar only moves forward and ends at 100%.
    percents = [int(text.split("%")[0].split()[-1]) for text in done.edits]
    assert percents == sorted(percents) and percents[-1] == 100, done.edits
    assert "Estado: listo" in done.edits[-1]


@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_exif_rotated_document_comes_back_upright(
    system: System, photos_dir: Path, orientation: int
) -> None:
    chat = system.private_chat()
    upright = Image.open(photos_dir / "Portrait_1.jpg").convert("RGB").resize((100, 150))
    chat.send_document(photos_dir / f"Portrait_{orientation}.jpg", mime_type="image/jpeg")

    album = album_of(chat)
    images = [rendition(system, m) for m in album]
    assert [im.size for im in images] == [(100, 150), (400, 600), (720, 1080)]
    thumb = images[0].convert("RGB")
    difference = sum(ImageStat.Stat(ImageChops.difference(thumb, upright)).mean) / 3
    assert difference < 20, f"rendition not upright (mean difference {difference:.1f})"


def test_png_with_transparency_is_flattened_on_white(system: System, tmp_path: Path) -> None:
    source = Image.new("RGBA", (600, 400), (255, 0, 0, 0))
    source.paste((0, 0, 255, 255), (200, 100, 400, 300))
    path = tmp_path / "logo.png"
    source.save(path)
    chat = system.private_chat()
    chat.send_document(path, mime_type="image/png")

    images = [rendition(system, m) for m in album_of(chat)]
    assert [im.size for im in images] == [(150, 100), (600, 400), (600, 400)]
    large = images[2].convert("RGB")
    corner = cast(tuple[int, int, int], large.getpixel((10, 10)))
    centre = cast(tuple[int, int, int], large.getpixel((300, 200)))
    assert all(channel > 245 for channel in corner), corner
    assert centre[2] > 200 and centre[0] < 60, centre


def test_album_of_two_photos_gets_two_jobs_each_answered_once(
    system: System, photos_dir: Path
) -> None:
    chat = system.private_chat()
    chat.send_album([photos_dir / "Landscape_0.jpg", photos_dir / "Portrait_0.jpg"])
    albums = chat.wait_for_count(lambda m: bool(m.media_group_id), 6, timeout=60)
    assert len({m.media_group_id for m in albums}) == 2
    statuses = chat.wait_for_count(
        lambda m: (m.text or "").startswith("🖼️") and "listo" in (m.text or ""), 2
    )
    assert len(statuses) == 2


def png_bomb() -> bytes:
    """A valid PNG header declaring 30000×30000 pixels (900 MP) with almost no data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 30000, 30000, 8, 0, 0, 0, 0)
    row = b"\x00" + b"\x00" * 30000
    data = zlib.compress(row * 64, 9)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")
    )


NOT_AN_IMAGE = b"hola, esto no es una imagen\n" * 10


def truncated_jpeg(photos_dir: Path) -> bytes:
    data = (photos_dir / "Landscape_1.jpg").read_bytes()
    return data[: len(data) // 2]


def bmp_image() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 64), (10, 200, 10)).save(out, format="BMP")
    return out.getvalue()


@pytest.mark.parametrize(
    ("name", "make", "mime", "sentence"),
    [
        (
            "notes.txt",
            lambda _: b"hola, esto no es una imagen\n" * 10,
            "text/plain",
            "no es una imagen",
        ),
        (
            "fake.jpg",
            lambda _: b"hola, esto no es una imagen\n" * 10,
            "image/jpeg",
            "no es una imagen válida",
        ),
        ("cut.jpg", truncated_jpeg, "image/jpeg", "incompleta o dañada"),
        ("bomb.png", lambda _: png_bomb(), "image/png", "demasiados píxeles"),
        ("old.bmp", lambda _: bmp_image(), "image/bmp", "ese formato no lo acepto"),
    ],
)
def test_bad_input_gets_its_own_sentence_and_no_album(
    system: System, photos_dir: Path, name: str, make: object, mime: str, sentence: str
) -> None:
    chat = system.private_chat()
    chat.send_document(make(photos_dir), mime_type=mime, file_name=name)  # type: ignore[operator]
    told = chat.wait_for(lambda m: sentence in (m.text or ""), timeout=30)
    assert told is not None
    assert not any(m.media_group_id for m in chat.bot_messages())
    failures = [m for m in chat.bot_messages() if "No pude procesar" in (m.text or "")]
    assert len(failures) <= 1


def test_file_over_20_mb_is_refused_without_download(system: System) -> None:
    chat = system.private_chat()
    chat.send_document(
        b"\xff\xd8\xff" + b"\x00" * (21 * 1024 * 1024), mime_type="image/jpeg", file_name="huge.jpg"
    )
    chat.wait_for(lambda m: "supera los 20 MB" in (m.text or ""), timeout=30)
    assert not any(m.media_group_id for m in chat.bot_messages())


def test_photo_job_shows_in_estado(system: System, photos_dir: Path) -> None:
    chat = system.private_chat()
    chat.send_photo(photos_dir / "Landscape_0.jpg")
    album_of(chat)
    job_id = (status_of(chat, "listo").text or "").split()[2]
    assert job_id.startswith("F-")
    chat.send(f"/estado {job_id}")
    chat.wait_for_count(lambda m: job_id in (m.text or "") and "listo" in (m.text or ""), 2)


def test_telegram_failing_every_download_ends_in_one_message(
    system: System, photos_dir: Path
) -> None:
    chat = system.private_chat()
    system.sandbox.fail(method="getFile", status=502, times=1000)
    try:
        chat.send_photo(photos_dir / "Landscape_0.jpg")
        # Retried with backoff until the retries run out, then the chat hears it once.
        told = chat.wait_for(lambda m: "No pude procesar tu foto" in (m.text or ""), timeout=90)
        assert "no pude descargarla de Telegram tras varios intentos" in (told.text or "")
    finally:
        system.sandbox.clear_faults()
    status = chat.wait_for(lambda m: (m.text or "").startswith("🖼️") and "fallido" in (m.text or ""))
    assert "Motivo:" in (status.text or "")
    assert not any(m.media_group_id for m in chat.bot_messages())
    assert sum("No pude procesar" in (m.text or "") for m in chat.bot_messages()) == 1
    calls = system.sandbox.counters()["calls"]["getFile"]
    assert calls >= 5, calls  # it did retry
