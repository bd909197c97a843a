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
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import math
import re
import threading
import unicodedata
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from matplotlib import font_manager as fm
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure
from matplotlib.ft2font import FT2Font
from matplotlib.text import Text
from matplotlib.ticker import MaxNLocator, PercentFormatter
from matplotlib.transforms import Bbox

from locales.dates import format_month_day
from tickets.trends import Trends

WIDTH, HEIGHT, DPI = 1000, 600, 100
MAX_CATEGORIES = 8  # more are summed as "other": a legend of 20 colours reads as noise
MAX_HOTSPOTS = 15
MAX_X_LABELS = 16
# Families tried, in order, for Chinese text; the first one installed that has the glyphs wins.
CJK_FAMILIES = (
    "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Source Han Sans CN",
    "WenQuanYi Micro Hei", "WenQuanYi Zen Hei", "Sarasa Gothic SC", "Droid Sans Fallback",
    "Microsoft YaHei", "SimHei", "PingFang SC", "Hiragino Sans GB", "Heiti SC",
    "Noto Sans CJK JP", "Noto Sans CJK TC", "AR PL UMing CN",
)
CJK_FILES = re.compile(r"cjk|sourcehan|source-han|wqy|wenquanyi|droidsansfallback|notosanssc"
                       r"|sarasa|simhei|msyh|yahei|pingfang|uming|ukai", re.IGNORECASE)
CJK_PROBE = "工单统计满意"
OTHER_WEIGHTS = re.compile(r"bold|black|heavy|medium|light|thin")
BASE_FAMILY = "DejaVu Sans"  # shipped with matplotlib: always there
REPLACEMENT = "□"

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


# --- fonts --------------------------------------------------------------------------------

_font_lock = threading.Lock()


@cache
def _charmap(path: str) -> frozenset[int]:
    return frozenset(FT2Font(path).get_charmap())


def _covers(path: str, text: str) -> bool:
    return all(ord(ch) in _charmap(path) for ch in text)


def _installed(family: str) -> str | None:
    """The file of an installed font of exactly this family, if any."""
    for entry in fm.fontManager.ttflist:
        if entry.name == family:
            return str(entry.fname)
    return None


def _register(path: str) -> str:
    """Make a font file known to matplotlib's font list (once); returns its family name."""
    name = FT2Font(path).family_name
    if not any(entry.fname == path for entry in fm.fontManager.ttflist):
        fm.fontManager.addfont(path)
    return str(name)


def _preference(path: str) -> tuple[int, int, str]:
    """Regular sans first: a family registered from its Bold file alone draws every label bold
    (and matplotlib warns), and Debian's fonts-noto-cjk sorts NotoSansCJK-Bold first."""
    name = Path(path).name.lower()
    weight = 0 if "regular" in name else 2 if OTHER_WEIGHTS.search(name) else 1
    return weight, int("serif" in name), path


@cache
def _find_cjk(font_path: str | None) -> tuple[str, str] | None:
    """(family, file) of a font with Chinese glyphs: `font_path`, else an installed one."""
    if font_path is not None and Path(font_path).is_file():  # else: as if none were given
        return _register(font_path), font_path
    for family in CJK_FAMILIES:
        path = _installed(family)
        if path is not None and _covers(path, CJK_PROBE):
            return family, path
    # Fonts installed after matplotlib built its font cache are not in its list: look at the
    # system's font files too (fontconfig), those whose name says CJK.
    for path in sorted(fm.findSystemFonts(), key=_preference):
        if CJK_FILES.search(Path(path).name):
            try:
                if _covers(path, CJK_PROBE):
                    return _register(path), path
            except (OSError, RuntimeError):  # unreadable or not a font: try the next
                continue
    return None


def cjk_font(font_path: str | Path | None = None) -> tuple[str, str] | None:
    """The (family, file) Chinese labels are drawn with, or None when there is none."""
    with _font_lock:
        return _find_cjk(None if font_path is None else str(font_path))


class _Text:
    """Font families for every text, and labels cut down to the glyphs those fonts have."""

    def __init__(self, font_path: str | Path | None) -> None:
        base = fm.findfont(fm.FontProperties(family=BASE_FAMILY), fallback_to_default=True)
        self.families = [BASE_FAMILY]
        self.covered = set(_charmap(base))
        cjk = cjk_font(font_path)
        if cjk is not None:
            self.families.append(cjk[0])
            self.covered |= _charmap(cjk[1])
        self.missing = False

    def __call__(self, text: str) -> str:
        kept: list[str] = []
        for ch in text:
            if ord(ch) in self.covered or ch in "\n\t":
                kept.append(ch)
            elif unicodedata.category(ch)[0] in "LN":  # a letter or digit: show that one is
                kept.append(REPLACEMENT)
                self.missing = True
            # anything else (emoji, their joiners and variation selectors): left out
        cleaned = re.sub(r" {2,}", " ", "".join(kept)).strip()
        # A "$" pair would start matplotlib's math mode; escaped, it is a plain dollar sign.
        return cleaned.replace("$", r"\$")

    def apply(self, figure: Figure) -> None:
        """Put the families on every text, tick labels included (made when drawn)."""
        for axes in figure.axes:
            axes.tick_params(labelfontfamily=self.families)
        for text in figure.findobj(Text):
            text.set_fontfamily(self.families)


# --- the charts ---------------------------------------------------------------------------


def _no_data(axes: Axes, title: str, message: str) -> None:
    axes.set_title(title)
    axes.set_axis_off()
    axes.text(0.5, 0.5, message, ha="center", va="center", fontsize=16, color="0.45",
              transform=axes.transAxes)


# --- what the charts show (drawn here with matplotlib, and as SVG by web/console/svg_charts) --


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


def _x_labels(axes: Axes, trends: Trends, labels: ChartLabels, text: _Text) -> None:
    n = len(trends.buckets)
    at, names = x_labels(trends, labels)
    axes.set_xticks(at)
    axes.set_xticklabels([text(name) for name in names],
                         rotation=45 if n > 8 else 0, ha="right" if n > 8 else "center")
    axes.set_xlim(-0.6, n - 0.4)


def _volume(axes: Axes, trends: Trends, labels: ChartLabels, text: _Text) -> None:
    title = text(labels.volume_title)
    if trends.total == 0:
        _no_data(axes, title, text(labels.no_data))
        return
    bottom = [0] * len(trends.buckets)
    for series in volume_series(trends, labels):
        # one collection of rectangles per category: axes.bar adds a patch per day, and
        # each patch's limits cost more than drawing it (a month of ten: ~0.3 s)
        bars = PolyCollection(
            [[(x - 0.4, low), (x + 0.4, low), (x + 0.4, low + n), (x - 0.4, low + n)]
             for x, (low, n) in enumerate(zip(bottom, series.counts, strict=True)) if n],
            facecolors=series.color, linewidths=0, label=text(series.name) or series.code)
        bars.sticky_edges.y.append(0)  # the bars stand on the axis, as axes.bar's do
        axes.add_collection(bars)
        bottom = [b + c for b, c in zip(bottom, series.counts, strict=True)]
    axes.autoscale_view()
    axes.set_title(title)
    axes.set_ylabel(text(labels.volume_axis))
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    _x_labels(axes, trends, labels, text)
    axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    axes.grid(axis="y", alpha=0.3)


def _resolve_time(axes: Axes, trends: Trends, labels: ChartLabels, text: _Text) -> None:
    title = text(labels.resolve_title)
    if trends.resolved == 0:
        _no_data(axes, title, text(labels.no_data))
        return
    names = [text(name) for name in resolve_names(trends, labels)]
    bars = axes.bar(names, trends.resolve_counts, color=COLORS["resolve"], width=0.6)
    total = trends.resolved
    axes.bar_label(bars, labels=[f"{n} ({n / total:.0%})" if n else "0"
                                 for n in trends.resolve_counts], padding=3)
    axes.set_title(title)
    axes.set_ylabel(text(labels.resolve_axis))
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_ylim(0, max(trends.resolve_counts) * 1.15)
    axes.grid(axis="y", alpha=0.3)


def _satisfaction(axes: Axes, trends: Trends, labels: ChartLabels, text: _Text) -> None:
    title = text(labels.satisfaction_title)
    if not any(trends.rated):
        _no_data(axes, title, text(labels.no_data))
        return
    x = range(len(trends.buckets))
    nan = float("nan")  # a bucket without ratings: a gap in the line
    average = [nan if v is None else v for v in trends.average_rating]
    share = [nan if v is None else v for v in trends.satisfied_share]
    first = axes.plot(x, average, marker="o", color=COLORS["average"],
                      label=text(labels.average_rating))
    axes.set_ylim(0.8, 5.2)
    axes.set_yticks([1, 2, 3, 4, 5])
    axes.set_ylabel(text(labels.average_rating), color=COLORS["average"])
    right = axes.twinx()
    second = right.plot(x, share, marker="s", color=COLORS["satisfied"],
                        label=text(labels.satisfied_share))
    target = trends.satisfaction_target
    third = [right.axhline(target, linestyle="--", color=COLORS["target"], linewidth=1.2,
                           label=text(labels.target % {"share": f"{target:.0%}"}))]
    right.set_ylim(-0.04, 1.04)
    right.yaxis.set_major_formatter(PercentFormatter(1.0))
    right.set_ylabel(text(labels.satisfied_share), color=COLORS["satisfied"])
    axes.set_title(title)
    _x_labels(axes, trends, labels, text)
    handles = [*first, *second, *third]
    axes.legend(handles, [str(h.get_label()) for h in handles], loc="lower left",
                frameon=False)
    axes.grid(axis="y", alpha=0.3)


def _hotspots(axes: Axes, trends: Trends, labels: ChartLabels, text: _Text) -> None:
    title = text(labels.hotspots_title)
    spots = hotspot_names(trends, labels)
    note = (text(labels.unlocated % {"count": trends.unlocated}) if trends.unlocated else "")
    if not spots:
        _no_data(axes, title, text(labels.no_data))
        if note:
            axes.text(0.5, 0.35, note, ha="center", va="center", color="0.45",
                      transform=axes.transAxes)
        return
    names = [text(name) for name, _ in spots]
    y = range(len(spots))
    bars = axes.barh(y, [tickets for _, tickets in spots], color=COLORS["hotspot"],
                     height=0.7)
    axes.bar_label(bars, padding=3)
    axes.set_yticks(y)
    axes.set_yticklabels(names)
    axes.invert_yaxis()  # the most complaints at the top
    axes.set_xlim(0, max(tickets for _, tickets in spots) * 1.12)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_xlabel(text(labels.hotspots_axis))
    axes.set_title(title)
    if note:
        axes.text(1.0, -0.12, note, ha="right", va="top", color="0.45",
                  transform=axes.transAxes)
    axes.grid(axis="x", alpha=0.3)


CHARTS = (("volume", _volume), ("resolve_time", _resolve_time),
          ("satisfaction", _satisfaction), ("hotspots", _hotspots))


def _fit(figure: Figure, pad: float = 10.0) -> None:
    """Size the axes so their tick labels, titles and legend just fit in the picture: one
    measuring pass, where a layout engine would draw every figure twice (~2× slower)."""
    # matplotlib types figure.canvas as FigureCanvasBase, which has no get_renderer; ours is
    # the FigureCanvasAgg render_charts gives every figure
    renderer = figure.canvas.get_renderer()  # type: ignore[attr-defined]
    inner = figure.axes[0].get_window_extent(renderer)
    boxes = [axes.get_tightbbox(renderer) for axes in figure.axes]
    outer = Bbox.union([box for box in boxes if box is not None])
    width, height = figure.bbox.width, figure.bbox.height
    left = (inner.x0 - outer.x0 + pad) / width
    right = 1 - (outer.x1 - inner.x1 + pad) / width
    bottom = (inner.y0 - outer.y0 + pad) / height
    top = 1 - (outer.y1 - inner.y1 + pad) / height
    if right - left < 0.3 or top - bottom < 0.3:  # absurdly long labels: keep a usable plot
        left, right, bottom, top = 0.1, 0.9, 0.12, 0.9
    for axes in figure.axes:  # a twin axes shares the place
        axes.set_position((left, bottom, right - left, top - bottom))


def render_charts(trends: Trends, labels: ChartLabels, *, width: int = WIDTH,
                  height: int = HEIGHT, dpi: int = DPI,
                  font_path: str | Path | None = None) -> Charts:
    """The four charts as PNG pictures of width × height pixels. Blocking (~0.1 s a chart):
    call it from a worker thread. `font_path`: a font file with Chinese glyphs to use."""
    text = _Text(font_path)
    images: list[tuple[str, bytes]] = []
    for name, draw in CHARTS:
        figure = Figure(figsize=(width / dpi, height / dpi), dpi=dpi)
        FigureCanvasAgg(figure)
        draw(figure.add_subplot(), trends, labels, text)
        text.apply(figure)
        _fit(figure)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
        images.append((name, buffer.getvalue()))
    return Charts(tuple(images), text.missing)


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
