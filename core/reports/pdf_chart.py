"""The report's chart: net revenue by day (payments minus refunds), as vector bars
(reportlab.graphics), each labelled with its amount while the bars leave room for it."""

from __future__ import annotations

from datetime import date

from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.shapes import Drawing

from core.reports.figures import DayMoney
from core.reports.pdf_style import ACCENT, FONT, INK, MUTED, REFUND, amount, day_label

WIDTH, HEIGHT = 480.0, 210.0
# With more days than this, bar labels would overlap: the axis carries the amounts alone.
LABELLED_DAYS = 14
# At most this many day names under the axis.
MAX_DAY_NAMES = 16


def revenue_chart(days: dict[date, DayMoney], currency: str, language: str) -> Drawing:
    drawing = Drawing(WIDTH, HEIGHT)
    chart = VerticalBarChart()
    chart.x, chart.y, chart.width, chart.height = 70, 45, WIDTH - 85, HEIGHT - 70
    nets = [day.net for day in days.values()]
    chart.data = [nets]
    chart.bars[0].fillColor = ACCENT
    chart.bars[0].strokeColor = None
    for index, net in enumerate(nets):
        if net < 0:
            chart.bars[(0, index)].fillColor = REFUND
    step = max(1, -(-len(nets) // MAX_DAY_NAMES))
    names = [day_label(day, language) for day in days]
    chart.categoryAxis.categoryNames = [n if i % step == 0 else "" for i, n in enumerate(names)]
    chart.categoryAxis.labels.fontName = FONT
    chart.categoryAxis.labels.fontSize = 7.5
    chart.categoryAxis.labels.angle = 30 if len(nets) > 8 else 0
    chart.categoryAxis.labels.boxAnchor = "ne" if len(nets) > 8 else "n"
    chart.valueAxis.labels.fontName = FONT
    chart.valueAxis.labels.fontSize = 7.5
    chart.valueAxis.valueMin = min(0, *nets) if nets else 0
    if not any(nets):
        chart.valueAxis.valueMax = 100  # an empty period still draws a readable axis
    chart.valueAxis.labelTextFormat = lambda v: amount(round(v), currency, language)
    chart.valueAxis.strokeColor = MUTED
    chart.valueAxis.gridStrokeColor = MUTED
    chart.valueAxis.gridStrokeWidth = 0.2
    chart.valueAxis.visibleGrid = True
    chart.categoryAxis.strokeColor = MUTED
    if len(nets) <= LABELLED_DAYS:
        chart.barLabelFormat = lambda v: amount(round(v), currency, language) if v else ""
        chart.barLabels.fontName = FONT
        chart.barLabels.fontSize = 6.5
        chart.barLabels.fillColor = INK
        chart.barLabels.nudge = 6
    drawing.add(chart)
    return drawing
