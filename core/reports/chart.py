"""The chart of a report: orders per day, stacked by state, as a PNG (matplotlib, Agg)."""

from __future__ import annotations

from pathlib import Path

from core import texts
from core.orders.states import OrderState
from core.reports.data import Tally
from core.reports.period import Period

# One colour per state, the same in every chart.
COLOURS = {
    OrderState.POR_CONFIRMAR: "#eceff1",
    OrderState.AWAITING_PAYMENT: "#cfd8dc",
    OrderState.PENDIENTE: "#9e9e9e",
    OrderState.VALIDANDO_PAGO: "#ffb300",
    OrderState.PREPARANDO_ENVIO: "#fb8c00",
    OrderState.NOTIFICANDO: "#8e24aa",
    OrderState.COMPLETADO: "#43a047",
    OrderState.FALLIDO: "#e53935",
    OrderState.CANCELADO: "#546e7a",
}
WIDTH, HEIGHT, DPI = 10.0, 5.0, 120  # 1200 × 600 px


def draw(tally: Tally, period: Period, language: str, path: Path) -> Path:
    """Stacked bars, one per day of the period, a legend of the states present."""
    # Loaded on the first chart, not with the module: matplotlib takes ~0.4 s to import and
    # tens of MB, and the bot imports the report tasks only to queue them.
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    days = period.days
    labels = [day.strftime("%d/%m") for day in days]
    fig = Figure(figsize=(WIDTH, HEIGHT), dpi=DPI)
    ax = fig.subplots()
    bottom = [0] * len(days)
    for state in OrderState:
        counts = [tally.per_day[day][state] if day in tally.per_day else 0 for day in days]
        if not any(counts):
            continue
        ax.bar(
            range(len(days)),
            counts,
            bottom=bottom,
            color=COLOURS[state],
            label=texts.state_name(language, state),
        )
        bottom = [b + c for b, c in zip(bottom, counts, strict=True)]
    step = max(1, len(days) // 15)  # at most ~15 labels on the axis
    ax.set_xticks(range(0, len(days), step), labels[::step], rotation=45, ha="right")
    ax.set_title(
        f"{texts.raw(language, 'report.chart_title')} · "
        f"{period.first.isoformat()} – {period.last.isoformat()} ({period.zone})"
    )
    ax.set_xlabel(texts.raw(language, "report.chart_day"))
    ax.set_ylabel(texts.raw(language, "report.chart_orders"))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    if tally.total:
        ax.legend(loc="upper left", fontsize="small")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, format="png")
    return path
