"""The demo shop's product photos: one small JPEG per product, as the script draws them."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

from core.catalogue.product import Product
from scripts import demo_photos
from tests.core.catalogue.conftest import DEMO

MAX_BYTES = 20_000


def test_every_demo_product_has_a_small_jpeg(demo_products: list[Product]) -> None:
    for product in demo_products:
        path = DEMO / "photos" / f"{product.sku}.jpg"
        data = path.read_bytes()
        assert len(data) < MAX_BYTES, path
        with Image.open(io.BytesIO(data)) as image:
            assert (image.format, image.size) == ("JPEG", (demo_photos.SIZE, demo_photos.SIZE))
    assert len(list((DEMO / "photos").glob("*.jpg"))) == len(demo_products)


def test_the_committed_photos_are_what_the_script_draws(tmp_path: Path) -> None:
    written = demo_photos.main(DEMO / "catalogue.csv", tmp_path)
    for path in written:
        assert path.read_bytes() == (DEMO / "photos" / path.name).read_bytes(), path.name


def test_products_of_one_category_are_told_apart_by_their_initials() -> None:
    assert demo_photos.initials("Pizza Cuatro Quesos") == "PC"
    assert demo_photos.initials("Café con leche") == "CL"
    assert demo_photos.initials("Coca-Cola") == "CC"
