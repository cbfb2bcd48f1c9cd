"""`generar_reporte` and the daily summary: the report as a PDF (to the chat that asked, or to
the admin chats every week), the period's CSV and chart, the daily summary."""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from core import texts
from core.importer.run import ImportCourier
from core.money import format_amount
from core.orders.states import OrderState
from core.orders.store import OrderStore
from core.reports.breaches import DEADLINES
from core.reports.chart import draw
from core.reports.data import Tally, collect, percentile
from core.reports.period import Period, last_week, today_in
from core.telegram.dead_letters import DeadLetters
from core.watcher.watch import ADMIN_LANGUAGE

if TYPE_CHECKING:
    from core.reports.pdf import Report

log = logging.getLogger(__name__)

CHART_DAYS = 7
DAY = 24 * 3600.0


def format_seconds(seconds: float | None, language: str) -> str:
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds:.1f} s"
    return texts.format_age(seconds, language)


@dataclass
class Reporter:
    store: OrderStore
    courier: ImportCourier
    dead_letters: DeadLetters
    admin_chat_ids: tuple[int, ...]
    stale_after: float
    zone: str
    workdir: str | None = None
    # The PDF's title and money: SHOP_NAME when the settings have one, SHOP_CURRENCY.
    shop: str = ""
    currency: str = "EUR"
    # Seconds of each staff deadline (core.reports.breaches.limits).
    limits: Mapping[OrderState, float] = field(
        default_factory=lambda: {state: default for state, (_, default) in DEADLINES.items()}
    )

    def pdf(
        self,
        chat_ids: Iterable[int],
        period: Period,
        language: str,
        key: str,
        now: float,
        caption: str = "caption",
    ) -> Report:
        """The period's report as one PDF, sent as a document once to each chat (`key:chat`)."""
        # Loaded on the first report (reportlab), not by the bot that only queues them.
        from core.reports.pdf import Setup, write_report

        setup = Setup(self.shop, self.currency, language, self.limits, now)
        with tempfile.TemporaryDirectory(prefix="report-pdf-", dir=self.workdir) as tmp:
            name = f"informe-{period.first.isoformat()}-{period.last.isoformat()}.pdf"
            path = Path(tmp) / name
            report = write_report(self.store.db, period, setup, path)
            words = texts.text(
                language,
                f"report_pdf.{caption}",
                start=period.first.isoformat(),
                end=period.last.isoformat(),
                zone=period.zone,
                net=format_amount(report.figures.net, self.currency, language),
                orders=report.figures.orders,
            )
            for chat_id in chat_ids:
                self.courier.send_file(
                    chat_id,
                    "sendDocument",
                    path,
                    key=f"{key}:{chat_id}",
                    caption=words,
                    mime_type="application/pdf",
                )
        return report

    def weekly(self, now: float) -> Period | None:
        """Last week's report (Monday to Sunday) to every admin chat, once per week and chat
        whatever re-runs the task; None when there is no admin chat to send it to."""
        if not self.admin_chat_ids:
            return None
        period = last_week(today_in(self.zone, now), self.zone)
        key = f"weekly:{period.first.isoformat()}"
        self.pdf(self.admin_chat_ids, period, ADMIN_LANGUAGE, key, now, "weekly_caption")
        return period

    def report(
        self, chat_id: int, period: Period, language: str, key: str, texts_too: bool = False
    ) -> Tally:
        """The CSV of the period's orders and the chart of orders per day by state; the
        orders' texts only with `texts_too` (the CSV's `text` column is empty otherwise)."""
        with tempfile.TemporaryDirectory(prefix="report-", dir=self.workdir) as tmp:
            # (Not pedidos-…: that is the name of /exportar's orders file, sent beside it.)
            name = f"informe-{period.first.isoformat()}-{period.last.isoformat()}.csv"
            csv_path = Path(tmp) / name
            tally = collect(self.store, period, csv_path, texts_too)
            values = {
                "start": period.first.isoformat(),
                "end": period.last.isoformat(),
                "zone": period.zone,
                "total": tally.total,
            }
            if tally.total == 0:
                self.courier.send(chat_id, texts.text(language, "report.empty", **values), key=key)
                return tally
            chart = draw(tally, period, language, Path(tmp) / "chart.png")
            self.courier.send_file(
                chat_id,
                "sendPhoto",
                chart,
                key=f"{key}:chart",
                caption=texts.text(language, "report.caption", **values),
                mime_type="image/png",
            )
            self.courier.send_file(
                chat_id,
                "sendDocument",
                csv_path,
                key=f"{key}:csv",
                caption=texts.text(language, "report.csv_caption", **values),
                mime_type="text/csv",
            )
        return tally

    def daily(self, key: str, now: float) -> str:
        """The summary of the last 24 hours, with the last week's chart, to each admin chat."""
        lang = ADMIN_LANGUAGE
        start = now - DAY
        tally = Tally()
        for batch in self.store.created_between(start, now + 1):
            for order in batch:
                tally.add(order, today_in(self.zone, order.created_at))
        stale, _ = self.store.stale(now - self.stale_after, 1)
        text = self.summary(tally, stale, self.dead_letters.count(), now, lang)
        today = today_in(self.zone, now)
        week = Period(today - timedelta(days=CHART_DAYS - 1), today, self.zone)
        with tempfile.TemporaryDirectory(prefix="daily-", dir=self.workdir) as tmp:
            chart = draw(collect(self.store, week), week, lang, Path(tmp) / "chart.png")
            for chat_id in self.admin_chat_ids:
                self.courier.send_file(
                    chat_id,
                    "sendPhoto",
                    chart,
                    key=f"{key}:{chat_id}",
                    caption=text,
                    mime_type="image/png",
                )
        return text

    def summary(self, tally: Tally, stale: int, dead: int, now: float, lang: str) -> str:
        """The daily summary's words (a photo caption: well under 1024 characters)."""
        lines = [
            texts.text(
                lang, "report.daily_title", day=today_in(self.zone, now).isoformat(), zone=self.zone
            ),
            texts.text(lang, "report.daily_total", total=tally.total),
        ]
        lines += [
            texts.text(lang, "report.daily_state", state=texts.state_name(lang, state), count=count)
            for state in OrderState
            if (count := tally.by_state.get(state, 0))
        ]
        lines.append(texts.text(lang, "report.daily_stale", count=stale))
        lines.append(
            texts.text(lang, "report.daily_failed", count=tally.by_state.get(OrderState.FALLIDO, 0))
        )
        lines.append(texts.text(lang, "report.daily_dead", count=dead))
        if tally.to_complete:
            lines.append(
                texts.text(
                    lang,
                    "report.daily_times",
                    p50=format_seconds(percentile(tally.to_complete, 0.5), lang),
                    p95=format_seconds(percentile(tally.to_complete, 0.95), lang),
                )
            )
        else:
            lines.append(texts.text(lang, "report.daily_no_times"))
        return "\n".join(lines)
