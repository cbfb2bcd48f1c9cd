"""The demo catalogue `make run` ships, as the catalogue tests' shop."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.catalogue.csvfile import parse_catalogue
from core.catalogue.product import Product

DEMO = Path(__file__).resolve().parents[3] / "demo"


@pytest.fixture(scope="session")
def demo_products() -> list[Product]:
    return parse_catalogue((DEMO / "catalogue.csv").read_bytes(), default_currency="EUR")
