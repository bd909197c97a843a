"""The office's figures in the staff group: `/stats` and the weekly report. Both are outbox
rows (`tickets.notices.StatisticsReport`) that the notifier hands to `Reporter`, which computes
the figures, draws the charts (in a worker thread) and posts the text and an album of charts."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.statistics.charts import ChartLabels, Charts, render_charts_async
from bot.statistics.export import period
from bot.statistics.text import statistics_text
from bot.telegram.transport import Transport, send_reply
from conversations.events import FileRef, Reply
from conversations.notices import category_name
from locales import gettext_for
from storage.db import Database
from storage.models import utcnow
from tickets.notices import StatisticsReport
from tickets.policy import CATEGORY_LABELS
from tickets.statistics import compute
from tickets.trends import compute_trends


def chart_labels(lang: str) -> ChartLabels:
    _ = gettext_for(lang)
    return ChartLabels(
        no_data=_("No data for this period"),
        volume_title=_("Tickets by category"), volume_axis=_("Tickets"),
        other_categories=_("Other"),
        resolve_title=_("Time to resolve"), resolve_axis=_("Resolved tickets"),
        resolve_ranges=(_("< 4 h"), _("4–24 h"), _("1–3 days"), _("3–7 days"), _("> 7 days")),
        satisfaction_title=_("Satisfaction"), average_rating=_("Average rating (1–5)"),
        satisfied_share=_("Satisfied (4–5 stars)"), target=_("Target %(share)s"),
        hotspots_title=_("Where complaints come from"), hotspots_axis=_("Tickets"),
        hotspot=_("%(building)s, floor %(floor)s"),
        unlocated=_("Without a known unit: %(count)d"),
        categories={code: category_name(_, code) for code in CATEGORY_LABELS},
        lang=lang,
    )


class Reporter:
    def __init__(self, db: Database, lang: str, timezone: ZoneInfo,
                 chart_font: Path | None = None) -> None:
        self.db, self.lang, self.timezone, self.chart_font = db, lang, timezone, chart_font

    async def build(self, first: date, last: date) -> tuple[str, list[FileRef]]:
        """The report's text and its charts (PNG uploads) for the days first..last."""
        start, end = period(first, last, self.timezone)

        async def drawn() -> Charts:
            trends = await compute_trends(self.db, start, end, self.timezone)
            charts = await render_charts_async(trends, chart_labels(self.lang),
                                               font_path=self.chart_font)
            if charts.missing_glyphs:  # no Chinese font here: English charts beat boxes
                charts = await render_charts_async(trends, chart_labels("en"))
            return charts

        stats, charts = await asyncio.gather(compute(self.db, start, end, utcnow()), drawn())
        text = statistics_text(stats, first, last, self.timezone, self.lang)
        return text, [FileRef("photo", "", data=png, name=f"{name}.png")
                      for name, png in charts.images]

    async def send(self, transport: Transport, chat_id: int, report: StatisticsReport
                   ) -> list[int]:
        text, charts = await self.build(report.first, report.last)
        ids = await send_reply(transport, chat_id, Reply("📊 " + text))
        return ids + await send_reply(transport, chat_id, Reply("", album=tuple(charts)))


def weekly_due(now: datetime, weekday: int, hour: int, timezone: ZoneInfo) -> date | None:
    """The day of the weekly report due at `now` (its weekday and hour came within the last
    day), or None. The report covers the seven days before that day."""
    local = now.astimezone(timezone)
    day = local.date() - timedelta(days=(local.weekday() - weekday) % 7)
    moment = datetime.combine(day, time(hour), timezone)
    if timedelta(0) <= local - moment < timedelta(days=1):
        return day
    return None
