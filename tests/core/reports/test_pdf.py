"""The report as a PDF from a seeded week, on both engines: what `pdftotext` reads in it is the
database's own sums to the cent and its best-selling product, every page renders, the font is
embedded, and no customer's words or name are in it."""

from __future__ import annotations

import os
import re
import subprocess
from datetime import date
from pathlib import Path
from typing import cast

import pytest
from PIL import Image

from core.db.engine import Database
from core.money import format_amount
from core.orders.states import OrderState
from core.reports.breaches import DEADLINES
from core.reports.pdf import Setup, write_report
from core.reports.period import Period
from tests.support.report_pdf import pdf_lines, spaced, sums
from tests.support.shop_week import CUSTOMER_NAME, CUSTOMER_TEXT, seed_week

# `UPDATE_DOCS=1 make test` refreshes the README's page of the report; a plain run leaves docs/
# alone.
UPDATE_DOCS = os.environ.get("UPDATE_DOCS") == "1"
DOCS_PAGE = Path(__file__).resolve().parents[3] / "docs" / "report-page"
WEEK = Period(date(2026, 11, 23), date(2026, 11, 29), "Europe/Madrid")
LIMITS = {state: default for state, (_, default) in DEADLINES.items()}
NOW = WEEK.bounds()[1] + 86400.0


@pytest.fixture
def db(database_url: str) -> Database:
    """A migrated database on each engine with a week of 400 orders, and some around it."""
    database = Database(database_url)
    start, end = WEEK.bounds()
    seed_week(database, start, 400)
    seed_week(database, start - 7 * 86400, 50, seed=1, first=10_000)  # the week before
    seed_week(database, end, 50, seed=2, first=20_000)  # and after: none of it counts
    return database


def test_the_pdf_holds_the_weeks_totals_to_the_cent_and_the_top_product(
    db: Database, tmp_path: Path
) -> None:
    path = tmp_path / "informe.pdf"
    report = write_report(db, WEEK, Setup("La Pizzería", "EUR", "es", LIMITS, NOW), path)
    lines = pdf_lines(path)

    paid, refunded, top = sums(db, *WEEK.bounds())
    assert (report.figures.paid, report.figures.refunded) == (paid, refunded)
    eur = [spaced(format_amount(v, "EUR", "es")) for v in (paid, refunded, paid - refunded)]
    assert f"Total {eur[0]} {eur[1]} {eur[2]}" in lines  # the days' table adds up
    assert any(line.startswith(f"Cobrado {eur[0]} ") for line in lines)
    assert f"Ingresos netos {eur[2]}" in lines
    assert lines[:2] == [
        "Informe de La Pizzería",
        "Del 23 de noviembre de 2026 al 29 de noviembre de 2026 (Europe/Madrid)",
    ]
    # The best seller by units heads its table.
    heading = lines.index("Productos más vendidos (unidades)")
    assert lines[heading + 2].startswith(f"1 {top} ")
    assert "Tiempo medio en cada estado del personal" in lines
    # Nothing a customer wrote or is called.
    words = "\n".join(lines)
    assert CUSTOMER_TEXT not in words and "Secreta" not in words and CUSTOMER_NAME not in words
    if UPDATE_DOCS and db.dialect == "sqlite":
        page = ["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", "-singlefile"]
        subprocess.run([*page, str(path), str(DOCS_PAGE)], check=True)


def test_every_page_renders_in_the_embedded_font(sqlite_db: Database, tmp_path: Path) -> None:
    seed_week(sqlite_db, WEEK.bounds()[0], 150)
    path = tmp_path / "informe.pdf"
    write_report(sqlite_db, WEEK, Setup("", "EUR", "en", LIMITS, NOW), path)

    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True)
    pages = int(re.search(r"Pages:\s+(\d+)", info.stdout).group(1))  # type: ignore[union-attr]
    subprocess.run(["pdftoppm", "-png", "-r", "40", str(path), str(tmp_path / "page")], check=True)
    rendered = sorted(tmp_path.glob("page-*.png"))
    assert pages >= 2 and len(rendered) == pages
    for png in rendered:
        darkest, lightest = cast(tuple[int, int], Image.open(png).convert("L").getextrema())
        assert darkest < 100 and lightest > 200, png  # ink on paper, not a blank page
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True)
    assert re.search(r"DejaVuSans\s+TrueType\s+\S+\s+yes", fonts.stdout)
    lines = pdf_lines(path)
    paid = spaced(format_amount(sums(sqlite_db, *WEEK.bounds())[0], "EUR", "en"))
    assert lines[0] == "Shop report" and any(line.startswith(f"Total {paid} ") for line in lines)
    assert any("Margherita pizza" in line for line in lines)


def test_an_empty_period_still_makes_a_readable_report(sqlite_db: Database, tmp_path: Path) -> None:
    path = tmp_path / "informe.pdf"
    report = write_report(sqlite_db, WEEK, Setup("Bar Ñu", "EUR", "es", LIMITS, NOW), path)
    lines = pdf_lines(path)
    assert report.figures.net == 0 and report.figures.orders == 0
    assert "Ingresos netos 0,00 €" in lines and "Ningún producto vendido en el periodo." in lines
    assert "Ningún pedido del periodo pasó por el personal." in lines
    assert all(count == 0 for count in report.missed.values())
    assert report.missed.keys() == {OrderState.ACEPTADO, OrderState.LISTO, OrderState.ENTREGADO}
