"""The demo catalogue's products, shared with the catalogue tests."""

from tests.core.catalogue.conftest import demo_products

__all__ = ["demo_products"]
