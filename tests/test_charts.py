"""Trends on a known data set equal the values computed by hand, on SQLite and PostgreSQL,
bucketed by the office's local days; the charts render to valid PNG pictures for full data,
no data and Chinese labels, without warnings."""

from __future__ import annotations

import asyncio
import io
import logging
import time
import warnings
from collections import OrderedDict
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from PIL import Image

from bot.statistics import charts as charts_module
from bot.statistics.charts import ChartLabels, Charts, cjk_font, render_charts, render_charts_async
from storage.db import Database
from tests.chart_samples import CHINESE, empty_trends, full_trends, labels
from tests.known_tickets import END, OFFICE, START, seed
from tickets.trends import Hotspot, Trends, bucket_starts, choose_bucket, compute_trends


async def test_daily_trends_equal_the_hand_computed_values(db: Database) -> None:
    await seed(db)
    trends = await compute_trends(db, START.astimezone(UTC), END.astimezone(UTC), OFFICE)
    assert trends.bucket == "day"  # 7 days
    assert trends.buckets == [date(2026, 11, d) for d in range(1, 8)]
    # t2 (23:30 local, Nov 1) and t3 (00:30 local, Nov 2) share a UTC day but not a local one
    assert trends.volume == {"water": [2, 1, 0, 0, 1, 0, 0],  # most tickets first, then by code
                             "noise": [0, 0, 0, 1, 0, 0, 1],
                             "electric": [0, 1, 0, 0, 0, 0, 0],
                             "lift": [0, 0, 1, 0, 0, 0, 0]}
    assert list(trends.volume) == ["water", "noise", "electric", "lift"]
    assert trends.total == 8
    # <4 h: t1 (2); 4–24 h: t4 (exactly 4), t2 (10); 1–3 d: t3 (30), t8 (50); 3–7 d: t5 (100);
    # ≥7 d: t6 (200); t7 is not resolved
    assert trends.resolve_counts == [1, 2, 2, 1, 1]
    assert trends.rated == [2, 2, 1, 0, 0, 0, 1]
    assert trends.average_rating == [pytest.approx(4.5), pytest.approx(2.5), pytest.approx(4.0),
                                     None, None, None, pytest.approx(5.0)]
    assert trends.satisfied_share == [1.0, 0.0, 1.0, None, None, None, 1.0]
    # floors in natural order ("9" before "10"); no floor, then no unit, last among equals
    assert trends.hotspots == [Hotspot("A", "1", 2), Hotspot("A", "2", 2),
                               Hotspot("B", "9", 1), Hotspot("B", "10", 1),
                               Hotspot("B", None, 1), Hotspot(None, None, 1)]
    assert trends.unlocated == 1 and len(trends.located_hotspots) == 5


async def test_weekly_trends_start_on_the_local_monday(db: Database) -> None:
    await seed(db)
    trends = await compute_trends(db, START, END, OFFICE, bucket="week")
    # Sunday Nov 1 is the end of the week of Monday Oct 26; Oct 31 (local) is outside [start,
    # end), so that week holds Nov 1 only
    assert trends.buckets == [date(2026, 10, 26), date(2026, 11, 2)]
    assert trends.volume == {"water": [2, 2], "noise": [0, 2], "electric": [0, 1],
                             "lift": [0, 1]}
    # t1 5, t2 4 | t3 2, t4 3, t8 4, t6 5
    assert trends.rated == [2, 4]
    assert trends.average_rating == [pytest.approx(4.5), pytest.approx(3.5)]
    assert trends.satisfied_share == [pytest.approx(1.0), pytest.approx(0.5)]
    # one bucket: no boundary to compare with
    day = await compute_trends(db, START, START + timedelta(days=1), OFFICE)
    assert day.buckets == [date(2026, 11, 1)] and day.volume == {"water": [2]}
    assert day.resolve_counts == [1, 1, 0, 0, 0] and day.satisfied_share == [1.0]


async def test_an_empty_period_has_empty_trends(db: Database) -> None:
    trends = await compute_trends(db, START, END, OFFICE)
    assert len(trends.buckets) == 7 and trends.volume == {} and trends.total == 0
    assert trends.resolve_counts == [0, 0, 0, 0, 0]
    assert trends.rated == [0] * 7 and trends.average_rating == [None] * 7
    assert trends.hotspots == []


def test_bucket_kind_and_edges_follow_the_local_calendar() -> None:
    assert choose_bucket(START, START + timedelta(days=45)) == "day"
    assert choose_bucket(START, START + timedelta(days=46)) == "week"
    # Berlin leaves summer time on Oct 25, 2026: the local days stay whole days
    berlin = ZoneInfo("Europe/Berlin")
    days = bucket_starts(datetime(2026, 10, 24, tzinfo=berlin),
                         datetime(2026, 10, 27, tzinfo=berlin), berlin, "day")
    assert days == [date(2026, 10, 24), date(2026, 10, 25), date(2026, 10, 26)]
    assert bucket_starts(START, START, OFFICE, "day") == []


# --- the pictures -------------------------------------------------------------------------

NAMES = ["volume", "resolve_time", "satisfaction", "hotspots"]


def assert_pictures(charts: Charts, size: tuple[int, int] = (1000, 600)) -> None:
    assert [name for name, _ in charts] == NAMES
    for name, png in charts:
        assert png.startswith(b"\x89PNG\r\n\x1a\n"), name
        with Image.open(io.BytesIO(png)) as image:
            image.load()  # decodes the whole picture
            assert image.format == "PNG" and image.size == size, name
        assert len(png) < 200_000, name  # small enough to send quickly


def render_quietly(trends: Trends, chart_labels: ChartLabels, caplog: pytest.LogCaptureFixture,
                   size: tuple[int, int, int] = (1000, 600, 100)) -> Charts:
    """Render, failing on any warning (missing glyphs, math text, layout…)."""
    with warnings.catch_warnings(record=True) as caught, caplog.at_level(logging.WARNING):
        warnings.simplefilter("always")
        width, height, dpi = size
        charts = render_charts(trends, chart_labels, width=width, height=height, dpi=dpi)
    assert [str(w.message) for w in caught] == []
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
    return charts


@pytest.mark.parametrize(("days", "categories"), [(7, 3), (45, 12), (120, 5), (1, 1)])
def test_charts_render_full_data(days: int, categories: int,
                                 caplog: pytest.LogCaptureFixture) -> None:
    charts = render_quietly(full_trends(days, categories), labels(), caplog)
    assert_pictures(charts)
    # the emoji of "💧 Water" is left out, quietly; Latin letters all have glyphs
    assert charts.missing_glyphs is False


@pytest.mark.parametrize("trends", [empty_trends(), Trends(START, START, OFFICE, "day")],
                         ids=["no tickets", "no buckets"])
def test_charts_render_without_data(trends: Trends, caplog: pytest.LogCaptureFixture) -> None:
    assert_pictures(render_quietly(trends, labels(), caplog))


def test_charts_render_chinese_labels(caplog: pytest.LogCaptureFixture) -> None:
    for trends in (full_trends(), empty_trends()):
        charts = render_quietly(trends, CHINESE, caplog)
        assert_pictures(charts)
        # without a CJK font the Chinese letters show as "□", quietly, and the caller is told
        assert charts.missing_glyphs is (cjk_font() is None)


def test_charts_take_another_size(caplog: pytest.LogCaptureFixture) -> None:
    assert_pictures(render_quietly(full_trends(), labels(), caplog, (640, 400, 80)),
                    size=(640, 400))


async def test_charts_render_in_worker_threads_at_once() -> None:
    started = time.perf_counter()
    results = await asyncio.gather(*(render_charts_async(full_trends(30, 6), chart_labels)
                                     for chart_labels in (labels(), CHINESE)))
    for charts in results:
        assert_pictures(charts)
    assert time.perf_counter() - started < 30


async def test_trends_from_the_database_render(db: Database,
                                               caplog: pytest.LogCaptureFixture) -> None:
    await seed(db)
    trends = await compute_trends(db, START, END, OFFICE)
    assert_pictures(render_quietly(trends, labels(), caplog))


async def test_the_same_figures_are_drawn_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """/stats asked again shows the pictures drawn before; other figures, another language or
    another size are drawn anew."""
    drawn: list[str] = []

    def counting(trends: Trends, chart_labels: ChartLabels, **options: Any) -> Charts:
        drawn.append(chart_labels.lang)
        return render_charts(trends, chart_labels, **options)

    monkeypatch.setattr(charts_module, "render_charts", counting)
    monkeypatch.setattr(charts_module, "_drawn", OrderedDict())  # none kept from other tests
    trends = full_trends(7, 3)
    first = await render_charts_async(trends, labels())
    assert await render_charts_async(full_trends(7, 3), labels()) is first
    assert len(drawn) == 1
    trends.volume["water"][0] += 1  # one more ticket
    changed = await render_charts_async(trends, labels())
    assert changed is not first and changed.images[0] != first.images[0]
    await render_charts_async(trends, CHINESE)
    await render_charts_async(trends, labels(), width=640, height=400, dpi=80)
    assert drawn == ["en", "en", CHINESE.lang, "en"]
