"""Every reason the catalogue and money code can give has words in Spanish and English."""

from __future__ import annotations

import tomllib

import pytest

from core import money, texts
from core.catalogue import csvfile, rows

KEYS = (
    [f"catalogue.reason.{code}" for code in rows.REASONS]
    + [f"catalogue.file.{code}" for code in csvfile.FILE_ERRORS]
    + [f"catalogue.usage.{command}" for command in ("precio", "stock", "agotado")]
    + [f"money.error.{code}" for code in money.ERRORS]
)


def flat(language: str) -> dict[str, str]:
    data = tomllib.loads((texts.LOCALES_DIR / f"{language}.toml").read_text(encoding="utf-8"))
    found: dict[str, str] = {}
    for section in ("catalogue", "money"):
        for group, entries in data[section].items():
            found.update({f"{section}.{group}.{key}": value for key, value in entries.items()})
    return found


@pytest.mark.parametrize("language", ["es", "en"])
def test_every_reason_has_a_text(language: str) -> None:
    missing = [key for key in KEYS if key not in flat(language)]
    assert not missing


def test_a_reason_reads_with_its_detail() -> None:
    assert texts.plain("es", "catalogue.reason.duplicate_sku", detail=3) == (
        "SKU repetido: ya está en la línea 3"
    )
    assert "line 3" in texts.plain("en", "catalogue.reason.duplicate_sku", detail=3)
