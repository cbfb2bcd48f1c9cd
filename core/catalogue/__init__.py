"""The shop's catalogue: products, the catalogue CSV, staff quick edits and order text matching.

Pure domain: the database keeps the products, the handlers show them; what a product is and
how text, files and commands become products lives here.
"""

from core.catalogue.csvfile import (
    CatalogueFileError,
    CatalogueRejected,
    parse_catalogue,
    write_catalogue,
)
from core.catalogue.edits import (
    EditError,
    PriceEdit,
    StockEdit,
    parse_price_edit,
    parse_sold_out,
    parse_stock_edit,
)
from core.catalogue.matching import (
    MAX_LINES,
    MAX_QUANTITY,
    CatalogueIndex,
    MatchedLine,
    MatchResult,
    NaiveScan,
    Unmatched,
)
from core.catalogue.product import Fulfilment, Product, ProductError
from core.catalogue.rows import RowError

__all__ = [
    "MAX_LINES",
    "MAX_QUANTITY",
    "CatalogueFileError",
    "CatalogueIndex",
    "CatalogueRejected",
    "EditError",
    "Fulfilment",
    "MatchResult",
    "MatchedLine",
    "NaiveScan",
    "PriceEdit",
    "Product",
    "ProductError",
    "RowError",
    "StockEdit",
    "Unmatched",
    "parse_catalogue",
    "parse_price_edit",
    "parse_sold_out",
    "parse_stock_edit",
    "write_catalogue",
]
