"""A receipt as a one-page A4 PDF (reportlab): the seller, the number and date, the customer,
the lines, base + VAT = total, and how it was paid; texts and amounts in the customer's
language, the date in the shop's time zone. The font is the report's DejaVu Sans (á, ñ, €),
embedded."""

from __future__ import annotations

import io
from datetime import datetime
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from core import money, texts
from core.receipts.model import Receipt
from core.receipts.shop import Shop
from core.reports.pdf_style import BOLD, FONT, register_fonts


def fonts() -> tuple[str, str]:
    """(regular, bold): DejaVu Sans, the report's font (core.reports.pdf_style), embedded."""
    register_fonts()
    return FONT, BOLD


def _t(language: str, key: str, **values: object) -> str:
    return escape(texts.plain(language, f"receipt.{key}", **values))


def issued_on(receipt: Receipt, zone: str, language: str) -> str:
    when = datetime.fromtimestamp(receipt.issued_at, ZoneInfo(zone))
    return f"{format_datetime(when, 'medium', locale=language)} ({zone})"


def method_name(method: str, language: str) -> str:
    return texts.plain(language, f"receipt.method_{method}")


def _header(receipt: Receipt, shop: Shop, lang: str, style: dict[str, ParagraphStyle]) -> list:
    title = _t(lang, "title_corrective" if receipt.is_corrective else "title")
    seller = [f"<b>{escape(shop.name)}</b>", f"{_t(lang, 'tax_id')}: {escape(shop.tax_id)}"]
    if shop.address:
        seller.append(escape(shop.address))
    facts = [
        f"<b>{_t(lang, 'number', number=receipt.number)}</b>",
        f"{_t(lang, 'date')}: {escape(issued_on(receipt, shop.zone, lang))}",
        f"{_t(lang, 'order')}: {escape(receipt.order_id)}",
    ]
    if receipt.corrects:
        facts.append(f"<b>{_t(lang, 'corrects', number=receipt.corrects)}</b>")
    flow: list[Flowable] = [Paragraph(title, style["title"])]
    flow += [Paragraph("<br/>".join(seller), style["body"]), Spacer(1, 4 * mm)]
    flow += [Paragraph("<br/>".join(facts), style["body"]), Spacer(1, 4 * mm)]
    customer = [escape(part) for part in (receipt.customer_name, receipt.address, receipt.email)]
    if any(customer):
        heading = f"<b>{_t(lang, 'customer')}</b>"
        flow += [Paragraph("<br/>".join([heading, *filter(None, customer)]), style["body"])]
        flow.append(Spacer(1, 4 * mm))
    return flow


def _lines_table(receipt: Receipt, lang: str, regular: str, bold: str) -> Table:
    def amount(minor: int) -> str:
        return money.format_amount(minor, receipt.currency, lang)

    # A long product name wraps inside its column instead of running over the amounts.
    name_style = ParagraphStyle("item", fontName=regular, fontSize=10, leading=12)
    columns = ("col_item", "col_qty", "col_price", "col_amount")
    rows: list[list[str | Paragraph]] = [
        [texts.plain(lang, f"receipt.{column}") for column in columns]
    ]
    for line in receipt.lines:
        name = Paragraph(escape(line.name), name_style)
        rows.append([name, str(line.quantity), amount(line.unit_price), amount(line.total)])
    rows.append(["", "", texts.plain(lang, "receipt.base"), amount(receipt.base)])
    vat = texts.plain(lang, "receipt.vat", rate=receipt.vat_rate)
    rows.append(["", "", vat, amount(receipt.vat)])
    rows.append(["", "", texts.plain(lang, "receipt.total"), amount(receipt.total)])
    table = Table(rows, colWidths=[90 * mm, 18 * mm, 30 * mm, 32 * mm], repeatRows=1)
    last = len(rows) - 1
    table.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), regular, 10),
                ("FONT", (0, 0), (-1, 0), bold, 10),
                ("FONT", (2, last), (-1, last), bold, 11),
                ("ALIGN", (1, 0), (-1, -1), "RIGHT"),
                ("LINEBELOW", (0, 0), (-1, 0), 0.8, colors.black),
                ("LINEABOVE", (2, last - 2), (-1, last - 2), 0.5, colors.grey),
                ("LINEABOVE", (2, last), (-1, last), 0.8, colors.black),
            ]
        )
    )
    return table


def render(receipt: Receipt, shop: Shop) -> bytes:
    """The receipt's PDF, in the customer's language."""
    regular, bold = fonts()
    lang = receipt.language
    style = {
        "title": ParagraphStyle("title", fontName=bold, fontSize=16, leading=20, spaceAfter=8),
        "body": ParagraphStyle("body", fontName=regular, fontSize=10, leading=13),
    }
    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        topMargin=20 * mm,
        bottomMargin=20 * mm,
        title=f"{texts.plain(lang, 'receipt.title')} {receipt.number}",
        author=shop.name,
    )
    flow = _header(receipt, shop, lang, style)
    flow += [_lines_table(receipt, lang, regular, bold), Spacer(1, 6 * mm)]
    paid_by = f"{_t(lang, 'method')}: {escape(method_name(receipt.method, lang))}"
    note = _t(lang, "vat_included", rate=receipt.vat_rate)
    flow.append(Paragraph(f"{paid_by}<br/>{note}", style["body"]))
    doc.build(flow)
    return out.getvalue()
