"""The /stats charts: `Trends` drawn as four small PNG pictures with matplotlib.

Headless and free of global state: each chart is its own `Figure` on an Agg canvas (never
pyplot, never rcParams), so `render_charts` may run in a worker thread (`asyncio.to_thread`,
or `render_charts_async`), several at once. Every word on the pictures comes from the caller's
`ChartLabels`, already translated; the days on the x axis are written in its `lang`
(`locales.dates.format_month_day`: "Nov 1", "11月1日", "1 нояб.").

Fonts: matplotlib ships DejaVu (Latin, Cyrillic, no Chinese). A CJK font is added behind it
when one is found (`font_path`, or an installed Noto Sans CJK / Source Han Sans / WenQuanYi…).
Without one, characters no font has are replaced by "□" (letters) or left out (emoji and
other symbols) before matplotlib sees them, so nothing warns on every picture;
`Charts.missing_glyphs` then tells the caller, who may prefer English labels.

This module is what callers use and imports no matplotlib: the drawing is in `drawing`,
imported when the first picture is drawn, so a process that never draws (the console's SVG
charts, the CLI, a bot no one asked for /stats yet) never pays for matplotlib.
"""

from __future__ import annotations

import asyncio
import gc
import hashlib
import math
import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from locales.dates import format_month_day
from tickets.trends import Trends

WIDTH, HEIGHT, DPI = 1000, 600, 100
MAX_CATEGORIES = 8  # more are summed as "other": a legend of 20 colours reads as noise
MAX_HOTSPOTS = 15
MAX_X_LABELS = 16

# matplotlib's "tab10", for the categories' stacked bars (and grey for the rest summed)
TAB10 = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
         "#7f7f7f", "#bcbd22", "#17becf")
OTHER_COLOR = "#b3b3b3"
COLORS = {"average": "#1f77b4", "satisfied": "#2ca02c", "target": "#d62728",
          "resolve": "#4c72b0", "hotspot": "#dd8452"}


@dataclass(frozen=True)
class ChartLabels:
    """Every text on the charts, translated by the caller. Templates use gettext's
    %(name)s placeholders."""

    no_data: str  # "No data for this period"
    volume_title: str  # "Tickets by category"
    volume_axis: str  # "Tickets"
    other_categories: str  # "Other"
    resolve_title: str  # "Time to resolve"
    resolve_axis: str  # "Resolved tickets"
    resolve_ranges: Sequence[str]  # "< 4 h", "4–24 h", "1–3 days", "3–7 days", "> 7 days"
    satisfaction_title: str  # "Satisfaction"
    average_rating: str  # "Average rating (1–5)"
    satisfied_share: str  # "Satisfied (4–5 stars)"
    target: str  # "Target %(share)s" (share: "80%")
    hotspots_title: str  # "Where complaints come from"
    hotspots_axis: str  # "Tickets"
    hotspot: str  # "%(building)s, floor %(floor)s"
    unlocated: str  # "Without a known unit: %(count)d"
    categories: Mapping[str, str] = field(default_factory=dict)  # code -> title
    lang: str = "en"  # the language of a bucket's first day on the x axis (locales.SUPPORTED)


@dataclass(frozen=True)
class Charts:
    # (name, PNG, or SVG from web/console/svg_charts): volume, resolve_time, satisfaction,
    # hotspots
    images: tuple[tuple[str, bytes], ...]
    # Some letters of the labels had no font (Chinese without a CJK font) and show as "□".
    missing_glyphs: bool = False

    def __iter__(self) -> Iterator[tuple[str, bytes]]:
        return iter(self.images)


# --- what the charts show (drawn with matplotlib by `drawing`, as SVG by web/console/svg_charts)


@dataclass(frozen=True)
class VolumeSeries:
    code: str  # "" for the categories beyond MAX_CATEGORIES, summed
    name: str
    counts: list[int]  # per bucket
    color: str


def volume_series(trends: Trends, labels: ChartLabels) -> list[VolumeSeries]:
    """The stacked bars' series, biggest first: MAX_CATEGORIES categories, then the rest."""
    series = list(trends.volume.items())  # biggest first
    shown = series[:MAX_CATEGORIES]
    rest = series[MAX_CATEGORIES:]
    if rest:
        other = [sum(counts) for counts in zip(*(c for _, c in rest), strict=True)]
        shown = [*shown, ("", other)]
    return [VolumeSeries(code, labels.categories.get(code, code) if code
                         else labels.other_categories, counts,
                         TAB10[i % len(TAB10)] if code else OTHER_COLOR)
            for i, (code, counts) in enumerate(shown)]


def x_labels(trends: Trends, labels: ChartLabels) -> tuple[list[int], list[str]]:
    """The buckets labelled on the x axis (at most MAX_X_LABELS) and their labels."""
    every = max(1, math.ceil(len(trends.buckets) / MAX_X_LABELS))
    return (list(range(0, len(trends.buckets), every)),
            [format_month_day(day, labels.lang) for day in trends.buckets[::every]])


def resolve_names(trends: Trends, labels: ChartLabels) -> list[str]:
    if len(labels.resolve_ranges) != len(trends.resolve_counts):  # a caller's mistake
        return [f"#{i + 1}" for i in range(len(trends.resolve_counts))]
    return list(labels.resolve_ranges)


def hotspot_names(trends: Trends, labels: ChartLabels) -> list[tuple[str, int]]:
    """The MAX_HOTSPOTS places with the most tickets: (name, tickets), the most first."""
    return [(labels.hotspot % {"building": spot.building, "floor": spot.floor}
             if spot.floor is not None else spot.building or "", spot.tickets)
            for spot in trends.located_hotspots[:MAX_HOTSPOTS]]


@cache  # once a process, after `drawing` is first imported
def _freeze_drawing() -> None:
    """What importing matplotlib made lives as long as the process: kept out of the garbage
    collector's sight, as start-up's is (bot.app.freeze_start_up); else each full collection
    walks all of it (~0.05 s)."""
    gc.collect()
    gc.freeze()


def cjk_font(font_path: str | Path | None = None) -> tuple[str, str] | None:
    """The (family, file) Chinese labels are drawn with, or None when there is none."""
    from bot.statistics import drawing  # matplotlib: imported when first needed (~60 MB)

    _freeze_drawing()
    return drawing.cjk_font(font_path)


def render_charts(trends: Trends, labels: ChartLabels, *, width: int = WIDTH,
                  height: int = HEIGHT, dpi: int = DPI,
                  font_path: str | Path | None = None) -> Charts:
    """The four charts as PNG pictures of width × height pixels. Blocking (~0.1 s a chart):
    call it from a worker thread. `font_path`: a font file with Chinese glyphs to use."""
    from bot.statistics import drawing  # matplotlib: imported when first drawn (~60 MB, ~1 s)

    _freeze_drawing()
    return drawing.render(trends, labels, width=width, height=height, dpi=dpi,
                          font_path=font_path)


DRAWN_KEPT = 16  # chart sets kept: a dashboard reloaded, a period looked at again
_drawn: OrderedDict[str, Charts] = OrderedDict()
_drawn_lock = threading.Lock()


async def render_charts_async(trends: Trends, labels: ChartLabels, *, width: int = WIDTH,
                              height: int = HEIGHT, dpi: int = DPI,
                              font_path: str | Path | None = None) -> Charts:
    """`render_charts` in a worker thread, so the bot keeps answering meanwhile. The same
    figures drawn the same way are drawn once (the DRAWN_KEPT latest): drawing costs ~0.1 s
    a chart, and the key is everything drawn, so a kept picture is never out of date."""
    options = (width, height, dpi, None if font_path is None else str(font_path))
    key = hashlib.sha256(repr((trends, labels, options)).encode()).hexdigest()
    with _drawn_lock:
        if (kept := _drawn.get(key)) is not None:
            _drawn.move_to_end(key)
            return kept
    charts = await asyncio.to_thread(render_charts, trends, labels, width=width, height=height,
                                     dpi=dpi, font_path=font_path)
    with _drawn_lock:
        _drawn[key] = charts
        while len(_drawn) > DRAWN_KEPT:
            _drawn.popitem(last=False)
    return charts
