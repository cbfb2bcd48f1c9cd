"""Draws the demo catalogue's product photos: `python -m scripts.demo_photos`.

One small JPEG per product in demo/photos/<SKU>.jpg: a tile in its category's colour with a
drawn shape (a pizza, a glass, a cake slice…) and the product's initial. Drawn rather than
photographed so the repository carries no third-party images; the output is committed and
the same on every run.
"""

from __future__ import annotations

import io
import math
import zlib
from collections.abc import Callable
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from core.catalogue.csvfile import parse_catalogue
from core.catalogue.product import Product
from core.catalogue.words import STOPWORDS

ROOT = Path(__file__).resolve().parents[1]
CATALOGUE = ROOT / "demo" / "catalogue.csv"
PHOTOS = ROOT / "demo" / "photos"
SIZE = 320
QUALITY = 82
CREAM = (253, 242, 224)
INK = (255, 255, 255)
# Toppings, cherries and straws differ from product to product within a category.
ACCENTS = ((200, 30, 60), (46, 139, 87), (241, 196, 15), (230, 126, 34), (142, 68, 173))

Draw = Callable[[ImageDraw.ImageDraw, tuple[int, int, int]], None]


def _pizza(draw: ImageDraw.ImageDraw, accent: tuple[int, int, int]) -> None:
    draw.ellipse((70, 50, 250, 230), fill=(244, 196, 120), outline=(214, 150, 80), width=12)
    for angle in range(0, 360, 60):
        x = 160 + 84 * math.cos(math.radians(angle))
        y = 140 + 84 * math.sin(math.radians(angle))
        draw.line((160, 140, x, y), fill=(214, 150, 80), width=3)
    for dx, dy in ((-40, -30), (30, -45), (45, 20), (-20, 40), (-50, 15), (10, 0)):
        draw.ellipse((150 + dx, 130 + dy, 172 + dx, 152 + dy), fill=accent)


def _empanada(draw: ImageDraw.ImageDraw, accent: tuple[int, int, int]) -> None:
    draw.chord((60, 60, 260, 260), 180, 360, fill=(236, 180, 100), outline=(200, 130, 60), width=8)
    for x in range(78, 250, 22):
        draw.line((x, 160, x + 8, 150), fill=(200, 130, 60), width=5)


def _glass(draw: ImageDraw.ImageDraw, accent: tuple[int, int, int]) -> None:
    draw.polygon(((105, 60), (215, 60), (198, 230), (122, 230)), fill=CREAM)
    draw.polygon(((112, 110), (208, 110), (198, 222), (122, 222)), fill=(120, 70, 40))
    draw.line((180, 30, 165, 150), fill=accent, width=8)


def _cake(draw: ImageDraw.ImageDraw, accent: tuple[int, int, int]) -> None:
    draw.polygon(((70, 210), (250, 210), (250, 120), (110, 90)), fill=CREAM)
    draw.polygon(((70, 210), (250, 210), (250, 165), (90, 160)), fill=(150, 90, 60))
    draw.ellipse((205, 70, 245, 110), fill=accent)


def _star(draw: ImageDraw.ImageDraw, accent: tuple[int, int, int]) -> None:
    points = []
    for i in range(10):
        radius = 95 if i % 2 == 0 else 40
        angle = math.radians(-90 + 36 * i)
        points.append((160 + radius * math.cos(angle), 140 + radius * math.sin(angle)))
    draw.polygon(points, fill=(255, 214, 70))


# Category → (tile colour, shape); anything else gets the star on grey.
STYLES: dict[str, tuple[tuple[int, int, int], Draw]] = {
    "Pizzas": ((192, 57, 43), _pizza),
    "Entrantes": ((202, 111, 30), _empanada),
    "Bebidas": ((40, 116, 166), _glass),
    "Postres": ((142, 68, 173), _cake),
    "Digital": ((22, 160, 133), _star),
}
DEFAULT_STYLE: tuple[tuple[int, int, int], Draw] = ((99, 110, 114), _star)


def initials(name: str) -> str:
    """`Pizza Cuatro Quesos` → `PC`: what tells products of one category apart at a glance."""
    words = [w for w in name.replace("-", " ").split() if w.lower() not in STOPWORDS]
    return "".join(w[0].upper() for w in words[:2] if w[0].isalnum())


def photo(product: Product) -> bytes:
    """The product's photo as JPEG bytes."""
    colour, shape = STYLES.get(product.category, DEFAULT_STYLE)
    image = Image.new("RGB", (SIZE, SIZE), colour)
    draw = ImageDraw.Draw(image)
    # An accent that stands out from the tile.
    accents = [a for a in ACCENTS if sum(abs(x - y) for x, y in zip(a, colour, strict=True)) > 150]
    shape(draw, accents[zlib.crc32(product.sku.encode()) % len(accents)])
    font = ImageFont.load_default(size=44)
    draw.text((SIZE // 2, 282), initials(product.name_es), fill=INK, font=font, anchor="mm")
    out = io.BytesIO()
    image.save(out, "JPEG", quality=QUALITY, optimize=True)
    return out.getvalue()


def main(catalogue: Path = CATALOGUE, photos: Path = PHOTOS) -> list[Path]:
    """Writes one photo per product of the catalogue file; the paths written."""
    products = parse_catalogue(catalogue.read_bytes(), default_currency="EUR")
    photos.mkdir(parents=True, exist_ok=True)
    written = []
    for product in products:
        path = photos / f"{product.sku}.jpg"
        path.write_bytes(photo(product))
        written.append(path)
    return written


if __name__ == "__main__":
    for path in main():
        print(f"{path.relative_to(ROOT)} ({path.stat().st_size} bytes)")
