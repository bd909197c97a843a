"""The /stats charts drawn with matplotlib: `render` makes the four PNG pictures that
`bot.statistics.charts.render_charts` gives, and `cjk_font` finds the font Chinese labels are
drawn with.

Its own module because matplotlib (and numpy behind it) costs ~60 MB and about a second to
import: `charts` imports this one only when a picture is drawn, so the bot, the console and
the CLI start without it (tests/test_footprint.py).
"""

from __future__ import annotations

import io
import re
import threading
import unicodedata
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

from bot.statistics.charts import (
    COLORS,
    DPI,
    HEIGHT,
    WIDTH,
    ChartLabels,
    Charts,
    hotspot_names,
    resolve_names,
    volume_series,
    x_labels,
)
from tickets.trends import Trends

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


def render(trends: Trends, labels: ChartLabels, *, width: int = WIDTH,
           height: int = HEIGHT, dpi: int = DPI, font_path: str | Path | None = None) -> Charts:
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
