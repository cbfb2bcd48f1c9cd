"""The report as a PDF (reportlab): title with the shop and the period, money by day with its
chart, orders by state, top products, refunds, time in each staff state and missed deadlines.

It carries no customer's text, name or contact: it goes to admin chats, where it is kept.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table

from core import texts
from core.db.engine import Database
from core.orders.states import OrderState
from core.reports.breaches import breaches
from core.reports.figures import Figures, Product, read_figures
from core.reports.pdf_chart import revenue_chart
from core.reports.pdf_style import (
    FONT,
    MUTED,
    amount,
    day_label,
    duration,
    long_date,
    moment,
    printable,
    styles,
    table_style,
    word,
)
from core.reports.period import Period
from core.reports.staff_times import StateTime, staff_times

MARGIN = 18 * mm


@dataclass(frozen=True)
class Setup:
    """Who the report is for: the shop's name and currency, the reader's language, the
    deadlines breaches are counted against, and the time it is made."""

    shop: str
    currency: str
    language: str
    limits: Mapping[OrderState, float]
    now: float


@dataclass(frozen=True)
class Report:
    """What a written report says, for the message that carries it."""

    figures: Figures
    times: dict[OrderState, StateTime]
    missed: dict[OrderState, int]


def write_report(db: Database, period: Period, setup: Setup, path: Path) -> Report:
    """Read the period's figures and write them to `path` as a PDF."""
    report = Report(
        read_figures(db, period, setup.currency, setup.language),
        staff_times(db, period),
        breaches(db, period),
    )
    title = word(setup.language, "title", shop=setup.shop) if setup.shop else None
    title = title or word(setup.language, "title_plain")
    document = SimpleDocTemplate(
        str(path),
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN,
        title=title,
        author=printable(setup.shop),
        creator="pedidos-bot",
    )
    story = _heading(title, period, setup) + _money(report.figures, setup.language)
    story += _orders(report.figures, setup.language) + _products(report.figures, setup.language)
    story += _staff(report, setup)
    footer = _footer(setup.language)
    document.build(story, onFirstPage=footer, onLaterPages=footer)
    return report


def _heading(title: str, period: Period, setup: Setup) -> list[Flowable]:
    lang, style = setup.language, styles()
    span = word(
        lang,
        "period",
        start=long_date(period.first, lang),
        end=long_date(period.last, lang),
        zone=period.zone,
    )
    made = word(lang, "generated", at=moment(setup.now, period.zone, lang))
    return [
        Paragraph(_escape(title), style["title"]),
        Paragraph(_escape(span), style["subtitle"]),
        Paragraph(_escape(made), style["note"]),
        Spacer(1, 6),
    ]


def _money(figures: Figures, lang: str) -> list[Flowable]:
    cur, style = figures.currency, styles()
    summary = [
        [
            word(lang, "paid"),
            amount(figures.paid, cur, lang),
            word(lang, "payments", n=figures.payments),
        ],
        [
            word(lang, "refunded"),
            amount(figures.refunded, cur, lang),
            word(lang, "refunds_count", n=figures.refunds),
        ],
        [word(lang, "net"), amount(figures.net, cur, lang), ""],
    ]
    summary += [
        [word(lang, "other_currency", currency=code), amount(total, code, lang), ""]
        for code, total in sorted(figures.other_currencies.items())
    ]
    days = [[word(lang, "day"), word(lang, "paid"), word(lang, "refunded"), word(lang, "net")]]
    days += [
        [day_label(day, lang), *(amount(v, cur, lang) for v in (m.paid, m.refunded, m.net))]
        for day, m in figures.days.items()
    ]
    days.append(
        [word(lang, "total")]
        + [amount(v, cur, lang) for v in (figures.paid, figures.refunded, figures.net)]
    )
    return [
        Paragraph(_escape(word(lang, "summary")), style["heading"]),
        _table(summary, [55 * mm, 40 * mm, 60 * mm], header=False),
        Paragraph(_escape(word(lang, "revenue_by_day")), style["heading"]),
        revenue_chart(figures.days, cur, lang),
        _table(days, [45 * mm, 35 * mm, 35 * mm, 35 * mm], total=True),
    ]


def _orders(figures: Figures, lang: str) -> list[Flowable]:
    rows = [[word(lang, "state"), word(lang, "orders")]]
    rows += [
        [printable(texts.state_name(lang, state)) or state.value, str(figures.by_state[state])]
        for state in OrderState
        if figures.by_state.get(state)
    ]
    rows.append([word(lang, "total"), str(figures.orders)])
    refunds = word(
        lang,
        "refunds_line",
        count=figures.refunds,
        amount=amount(figures.refunded, figures.currency, lang),
        due=figures.refunds_due,
    )
    return [
        KeepTogether(
            [
                Paragraph(_escape(word(lang, "by_state")), styles()["heading"]),
                _table(rows, [80 * mm, 30 * mm], total=True),
            ]
        ),
        Paragraph(_escape(word(lang, "refunds")), styles()["heading"]),
        Paragraph(_escape(refunds), styles()["body"]),
    ]


def _products(figures: Figures, lang: str) -> list[Flowable]:
    story: list[Flowable] = []
    for key, products in (
        ("top_quantity", figures.by_quantity),
        ("top_revenue", figures.by_revenue),
    ):
        heading = Paragraph(_escape(word(lang, key)), styles()["heading"])
        if not products:
            story += [heading, Paragraph(_escape(word(lang, "no_products")), styles()["body"])]
            continue
        rows = [["#", word(lang, "product"), word(lang, "quantity"), word(lang, "revenue")]]
        rows += [_product_row(n, p, figures.currency, lang) for n, p in enumerate(products, 1)]
        widths = [8 * mm, 92 * mm, 25 * mm, 35 * mm]
        story.append(KeepTogether([heading, _table(rows, widths, left=2)]))
    return story


def _product_row(n: int, product: Product, currency: str, lang: str) -> list[Any]:
    name = Paragraph(_escape(printable(product.name)), styles()["cell"])
    return [str(n), name, str(product.quantity), amount(product.revenue, currency, lang)]


def _staff(report: Report, setup: Setup) -> list[Flowable]:
    lang, style = setup.language, styles()
    story: list[Flowable] = [Paragraph(_escape(word(lang, "staff_times")), style["heading"])]
    if not any(stay.stays for stay in report.times.values()):
        story.append(Paragraph(_escape(word(lang, "no_staff")), style["body"]))
    else:
        rows = [[word(lang, "state"), word(lang, "stays"), word(lang, "average")]]
        rows += [
            [
                printable(texts.state_name(lang, state)),
                str(t.stays),
                duration(t.average) if t.stays else "—",
            ]
            for state, t in report.times.items()
        ]
        story.append(_table(rows, [80 * mm, 25 * mm, 35 * mm]))
    rows = [[word(lang, "deadline"), word(lang, "missed")]]
    rows += [
        [word(lang, f"breach_{state.value}", limit=duration(setup.limits[state])), str(count)]
        for state, count in report.missed.items()
    ]
    story += [
        Paragraph(_escape(word(lang, "breaches")), style["heading"]),
        _table(rows, [80 * mm, 25 * mm]),
        Paragraph(_escape(word(lang, "breaches_note")), style["note"]),
    ]
    return [KeepTogether(story)]


def _table(
    rows: list[list[Any]],
    widths: list[float],
    header: bool = True,
    total: bool = False,
    left: int = 1,
) -> Table:
    table = Table(rows, colWidths=widths, hAlign="LEFT", repeatRows=1 if header else 0)
    table.setStyle(table_style(len(rows), header, total, left))
    return table


def _footer(lang: str) -> Any:
    def draw(canvas: Any, document: Any) -> None:
        canvas.saveState()
        canvas.setFont(FONT, 7.5)
        canvas.setFillColor(MUTED)
        canvas.drawRightString(A4[0] - MARGIN, 10 * mm, word(lang, "page", n=document.page))
        canvas.restoreState()

    return draw


def _escape(value: str) -> str:
    """Paragraphs read a little markup: a product name's `<` or `&` must stay text."""
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
