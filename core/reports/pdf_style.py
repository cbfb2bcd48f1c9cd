"""How the PDF report looks and writes: its embedded font, styles, and the words, dates and
amounts of a language (Babel)."""

from __future__ import annotations

import importlib.util
from datetime import date, datetime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from reportlab.lib import colors
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import TableStyle

from core import texts
from core.money import STAR_SIGN, format_amount

# DejaVu Sans has every letter of Spanish and English and the euro sign, which the PDF's
# built-in Helvetica cannot show outside Latin-1. Matplotlib (locked, for the PNG charts)
# ships it, so no system font package is needed: the same file on every machine and image.
FONT, BOLD = "DejaVuSans", "DejaVuSans-Bold"
INK = colors.HexColor("#263238")
MUTED = colors.HexColor("#607d8b")
ACCENT = colors.HexColor("#43a047")
REFUND = colors.HexColor("#e53935")
RULE = colors.HexColor("#cfd8dc")
STRIPE = colors.HexColor("#f5f7f8")


def font_dir() -> Path:
    spec = importlib.util.find_spec("matplotlib")
    if spec is None or spec.origin is None:
        raise RuntimeError("matplotlib (which ships the DejaVu fonts) is not installed")
    return Path(spec.origin).parent / "mpl-data" / "fonts" / "ttf"


@cache
def register_fonts() -> TTFont:
    """DejaVu Sans and its bold, embedded (as subsets) in every PDF that uses them."""
    regular = TTFont(FONT, str(font_dir() / "DejaVuSans.ttf"))
    pdfmetrics.registerFont(regular)
    pdfmetrics.registerFont(TTFont(BOLD, str(font_dir() / "DejaVuSans-Bold.ttf")))
    pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=BOLD, italic=FONT, boldItalic=BOLD)
    return regular


def printable(value: str) -> str:
    """`value` without the characters the font has no glyph for (the emoji of state names),
    which would print as empty boxes."""
    glyphs = register_fonts().face.charToGlyph
    return " ".join("".join(c for c in value if ord(c) in glyphs or c == " ").split())


@cache
def styles() -> dict[str, ParagraphStyle]:
    register_fonts()
    body = ParagraphStyle("body", fontName=FONT, fontSize=9.5, leading=13, textColor=INK)
    return {
        "title": ParagraphStyle("title", body, fontName=BOLD, fontSize=18, leading=23),
        "subtitle": ParagraphStyle("subtitle", body, fontSize=11, leading=15, textColor=MUTED),
        "heading": ParagraphStyle(
            "heading", body, fontName=BOLD, fontSize=12, leading=16, spaceBefore=10, spaceAfter=4
        ),
        "body": body,
        "note": ParagraphStyle("note", body, fontSize=8, leading=10, textColor=MUTED),
        "cell": ParagraphStyle("cell", body, fontSize=9, leading=11),
    }


def table_style(rows: int, header: bool = True, total: bool = False, left: int = 1) -> TableStyle:
    """Header row in bold over a rule, striped rows, the numbers (columns from `left` on)
    right-aligned; a total row last."""
    commands: list[tuple[object, ...]] = [
        ("FONT", (0, 0), (-1, -1), FONT, 9),
        ("TEXTCOLOR", (0, 0), (-1, -1), INK),
        ("ALIGN", (left, 0), (-1, -1), "RIGHT"),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
    ]
    if header:
        commands += [("FONT", (0, 0), (-1, 0), BOLD, 9), ("LINEBELOW", (0, 0), (-1, 0), 0.8, INK)]
    commands += [("BACKGROUND", (0, r), (-1, r), STRIPE) for r in range(2, rows, 2)]
    if total:
        commands += [("LINEABOVE", (0, -1), (-1, -1), 0.8, INK), ("FONT", (0, -1), (-1, -1), BOLD)]
    return TableStyle(commands)


def word(language: str, key: str, **values: object) -> str:
    """A text of the report (core/locales, `[report_pdf]`), plain: the PDF is not Telegram HTML."""
    return printable(texts.plain(language, f"report_pdf.{key}", **values))


def amount(minor: int, currency: str, language: str) -> str:
    """An amount as `format_amount` writes it; Stars by name (the font has no star)."""
    return format_amount(minor, currency, language).replace(STAR_SIGN, "Stars")


def day_label(day: date, language: str) -> str:
    """`lun 30 nov` / `Mon 30 Nov`: a day of the period, short."""
    return format_date(day, "EEE d MMM", locale=language)


def long_date(day: date, language: str) -> str:
    return format_date(day, "long", locale=language)


def moment(timestamp: float, zone: str, language: str) -> str:
    at = datetime.fromtimestamp(timestamp, ZoneInfo(zone))
    return format_datetime(at, "medium", tzinfo=ZoneInfo(zone), locale=language)


def duration(seconds: float) -> str:
    """`45 s`, `12 min 30 s`, `2 h 05 min`: a stay's length, to the second below an hour."""
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        minutes, rest = divmod(whole, 60)
        return f"{minutes} min {rest:02d} s" if rest else f"{minutes} min"
    hours, rest = divmod(whole, 3600)
    return f"{hours} h {rest // 60:02d} min"
