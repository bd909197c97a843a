"""The dashboard's four charts as SVG for the browser, drawn from the same trends and labels
as the PNG charts of the staff group (bot/statistics/charts.py, matplotlib), and showing
the same: which series, which labels, which colours come from there (`volume_series`,
`x_labels`, `resolve_names`, `hotspot_names`).

Why not matplotlib's SVG: it lays every text out with the server's fonts, twice, and took
~0.6 s for the four charts of a month, more than the whole page may take; written here they
take a few milliseconds. The text stays text, drawn by the reader's fonts (Chinese shows
whatever fonts the server has), and a bar tells its figure on hover (<title>). Text widths
are estimated (a wide character is 1 em, another 0.6 em) to leave room for labels.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from xml.etree.ElementTree import Element, SubElement, tostring

from bot.statistics.charts import (
    COLORS,
    ChartLabels,
    Charts,
    hotspot_names,
    resolve_names,
    volume_series,
    x_labels,
)
from tickets.trends import Trends

WIDTH, HEIGHT = 800, 480  # drawn about half that wide in a dashboard card, on a phone less
FONT = 15  # px, the labels; titles are larger
TITLE_FONT = 20
GREY, GRID, INK = "#737373", "#e5e5e5", "#262626"


def text_width(text: str, size: float = FONT) -> float:
    """About how wide `text` is drawn at `size` px."""
    return sum(size * (1.0 if unicodedata.east_asian_width(ch) in "WF" else 0.6)
               for ch in text)


def nice_ticks(top: float, most: int = 6, whole: bool = True) -> list[float]:
    """Ticks from 0 to at least `top` at a round step (1, 2 or 5 × 10ⁿ), at most `most`+1."""
    if top <= 0:
        return [0.0, 1.0]
    raw = top / most
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    if whole:
        step = max(step, 1)
    return [i * step for i in range(math.ceil(top / step - 1e-9) + 1)]


@dataclass(frozen=True)
class Box:
    """The plot's area in the picture, and its vertical scale."""
    left: float
    top: float
    right: float
    bottom: float
    low: float = 0.0
    high: float = 1.0

    def y(self, value: float) -> float:
        return self.bottom - (value - self.low) / (self.high - self.low) * (
            self.bottom - self.top)

    def slot(self, count: int) -> float:
        return (self.right - self.left) / max(count, 1)


def _figure(title: str) -> Element:
    svg = Element("svg", {"xmlns": "http://www.w3.org/2000/svg",
                          "viewBox": f"0 0 {WIDTH} {HEIGHT}", "width": str(WIDTH),
                          "height": str(HEIGHT), "role": "img",
                          "font-family": "system-ui, -apple-system, 'Segoe UI', 'Noto Sans', "
                                         "'PingFang SC', 'Microsoft YaHei', sans-serif",
                          "font-size": str(FONT), "fill": INK})
    SubElement(svg, "title").text = title
    SubElement(svg, "rect", {"width": "100%", "height": "100%", "fill": "white"})
    _text(svg, WIDTH / 2, 34, title, anchor="middle", size=TITLE_FONT)
    return svg


def _text(parent: Element, x: float, y: float, text: str, *, anchor: str = "start",
          size: float = FONT, color: str | None = None, rotate: float = 0,
          baseline: str = "auto") -> Element:
    attributes = {"x": f"{x:.1f}", "y": f"{y:.1f}", "text-anchor": anchor}
    if size != FONT:
        attributes["font-size"] = f"{size:g}"
    if color:
        attributes["fill"] = color
    if rotate:
        attributes["transform"] = f"rotate({rotate:g} {x:.1f} {y:.1f})"
    if baseline != "auto":
        attributes["dominant-baseline"] = baseline
    element = SubElement(parent, "text", attributes)
    element.text = text
    return element


def _rect(parent: Element, x: float, y: float, width: float, height: float, color: str,
          tip: str = "") -> None:
    rect = SubElement(parent, "rect", {"x": f"{x:.1f}", "y": f"{y:.1f}",
                                       "width": f"{width:.1f}", "height": f"{height:.1f}",
                                       "fill": color})
    if tip:
        SubElement(rect, "title").text = tip


def _line(parent: Element, x1: float, y1: float, x2: float, y2: float, color: str,
          width: float = 1, dash: str = "") -> None:
    attributes = {"x1": f"{x1:.1f}", "y1": f"{y1:.1f}", "x2": f"{x2:.1f}", "y2": f"{y2:.1f}",
                  "stroke": color, "stroke-width": f"{width:g}"}
    if dash:
        attributes["stroke-dasharray"] = dash
    SubElement(parent, "line", attributes)


def _y_axis(svg: Element, box: Box, ticks: Sequence[float], label: str,
            shown: Callable[[float], str] = lambda v: f"{v:g}", *, right: bool = False,
            color: str | None = None, grid: bool = True) -> None:
    for tick in ticks:
        y = box.y(tick)
        if grid:
            _line(svg, box.left, y, box.right, y, GRID)
        x = box.right + 8 if right else box.left - 8
        _text(svg, x, y, shown(tick), anchor="start" if right else "end",
              baseline="middle", color=color)
    widest = max((text_width(shown(t)) for t in ticks), default=0)
    x = box.right + 20 + widest if right else box.left - 20 - widest
    _text(svg, x, (box.top + box.bottom) / 2, label, anchor="middle", color=color,
          rotate=90 if right else -90)


def _x_axis(svg: Element, box: Box, trends: Trends, labels: ChartLabels) -> None:
    slot = box.slot(len(trends.buckets))
    tilted = len(trends.buckets) > 8
    _line(svg, box.left, box.bottom, box.right, box.bottom, GREY)
    for index, name in zip(*x_labels(trends, labels), strict=True):
        x = box.left + (index + 0.5) * slot
        if tilted:
            _text(svg, x, box.bottom + 16, name, anchor="end", rotate=-45)
        else:
            _text(svg, x, box.bottom + 20, name, anchor="middle")


def _document(svg: Element) -> bytes:
    document: bytes = tostring(svg, encoding="utf-8", xml_declaration=True)
    return document


def _no_data(title: str, message: str, note: str = "") -> bytes:
    svg = _figure(title)
    _text(svg, WIDTH / 2, HEIGHT / 2, message, anchor="middle", size=20, color=GREY)
    if note:
        _text(svg, WIDTH / 2, HEIGHT / 2 + 40, note, anchor="middle", color=GREY)
    return _document(svg)


def _legend(svg: Element, x: float, y: float, entries: Sequence[tuple[str, str, str]]) -> None:
    """Entries (name, colour, mark: "box", "line" or "dash") one under another from (x, y)."""
    for row, (name, color, mark) in enumerate(entries):
        top = y + row * 24
        if mark == "box":
            _rect(svg, x, top - 6, 14, 14, color)
        else:
            _line(svg, x, top + 1, x + 22, top + 1, color, 2, "5 3" if mark == "dash" else "")
        _text(svg, x + (20 if mark == "box" else 30), top + 1, name, baseline="middle")


def volume(trends: Trends, labels: ChartLabels) -> bytes:
    if trends.total == 0:
        return _no_data(labels.volume_title, labels.no_data)
    svg = _figure(labels.volume_title)
    series = volume_series(trends, labels)
    legend_width = min(max(text_width(s.name) for s in series) + 40, WIDTH * 0.35)
    totals = [sum(counts) for counts in zip(*(s.counts for s in series), strict=True)]
    ticks = nice_ticks(max(totals))
    box = Box(100, 60, WIDTH - legend_width - 20, HEIGHT - 90, 0, ticks[-1])
    _y_axis(svg, box, ticks, labels.volume_axis)
    slot = box.slot(len(trends.buckets))
    for index, day in enumerate(trends.buckets):
        low = 0
        for one in series:
            count = one.counts[index]
            if count:
                _rect(svg, box.left + (index + 0.1) * slot, box.y(low + count), slot * 0.8,
                      box.y(low) - box.y(low + count), one.color,
                      f"{day.isoformat()} · {one.name}: {count}")
                low += count
    _x_axis(svg, box, trends, labels)
    _legend(svg, box.right + 20, box.top + 8, [(s.name, s.color, "box") for s in series])
    return _document(svg)


def resolve_time(trends: Trends, labels: ChartLabels) -> bytes:
    if trends.resolved == 0:
        return _no_data(labels.resolve_title, labels.no_data)
    svg = _figure(labels.resolve_title)
    ticks = nice_ticks(max(trends.resolve_counts) * 1.12)
    box = Box(100, 60, WIDTH - 40, HEIGHT - 60, 0, ticks[-1])
    _y_axis(svg, box, ticks, labels.resolve_axis)
    names = resolve_names(trends, labels)
    slot = box.slot(len(names))
    total = trends.resolved
    for index, (name, count) in enumerate(zip(names, trends.resolve_counts, strict=True)):
        x = box.left + index * slot
        _rect(svg, x + slot * 0.2, box.y(count), slot * 0.6, box.bottom - box.y(count),
              COLORS["resolve"], f"{name}: {count}")
        _text(svg, x + slot / 2, box.y(count) - 6,
              f"{count} ({count / total:.0%})" if count else "0", anchor="middle")
        _text(svg, x + slot / 2, box.bottom + 22, name, anchor="middle")
    _line(svg, box.left, box.bottom, box.right, box.bottom, GREY)
    return _document(svg)


def _polyline(svg: Element, box: Box, slot: float, values: Sequence[float | None],
              color: str, mark: str) -> None:
    """A line through the values, broken where a bucket has none, with a mark on each."""
    runs: list[list[tuple[float, float]]] = [[]]
    for index, value in enumerate(values):
        if value is None:
            runs.append([])
            continue
        point = (box.left + (index + 0.5) * slot, box.y(value))
        runs[-1].append(point)
        if mark == "circle":
            SubElement(svg, "circle", {"cx": f"{point[0]:.1f}", "cy": f"{point[1]:.1f}",
                                       "r": "4", "fill": color})
        else:
            _rect(svg, point[0] - 4, point[1] - 4, 8, 8, color)
    for run in runs:
        if len(run) > 1:
            SubElement(svg, "polyline", {
                "points": " ".join(f"{x:.1f},{y:.1f}" for x, y in run), "fill": "none",
                "stroke": color, "stroke-width": "2"})


def satisfaction(trends: Trends, labels: ChartLabels) -> bytes:
    if not any(trends.rated):
        return _no_data(labels.satisfaction_title, labels.no_data)
    svg = _figure(labels.satisfaction_title)
    rating = Box(100, 60, WIDTH - 110, HEIGHT - 90, 0.8, 5.2)
    share = Box(rating.left, rating.top, rating.right, rating.bottom, -0.04, 1.04)
    _y_axis(svg, rating, [1, 2, 3, 4, 5], labels.average_rating, color=COLORS["average"])
    _y_axis(svg, share, [0, 0.25, 0.5, 0.75, 1], labels.satisfied_share, lambda v: f"{v:.0%}",
            right=True, color=COLORS["satisfied"], grid=False)
    target = trends.satisfaction_target
    _line(svg, share.left, share.y(target), share.right, share.y(target), COLORS["target"],
          1.2, "6 4")
    slot = rating.slot(len(trends.buckets))
    _polyline(svg, rating, slot, trends.average_rating, COLORS["average"], "circle")
    _polyline(svg, share, slot, trends.satisfied_share, COLORS["satisfied"], "square")
    _x_axis(svg, rating, trends, labels)
    _legend(svg, rating.left + 16, rating.bottom - 64, [
        (labels.average_rating, COLORS["average"], "line"),
        (labels.satisfied_share, COLORS["satisfied"], "line"),
        (labels.target % {"share": f"{target:.0%}"}, COLORS["target"], "dash")])
    return _document(svg)


def hotspots(trends: Trends, labels: ChartLabels) -> bytes:
    spots = hotspot_names(trends, labels)
    note = labels.unlocated % {"count": trends.unlocated} if trends.unlocated else ""
    if not spots:
        return _no_data(labels.hotspots_title, labels.no_data, note)
    svg = _figure(labels.hotspots_title)
    names_width = max(text_width(name) for name, _ in spots)
    ticks = nice_ticks(max(tickets for _, tickets in spots) * 1.12)
    left = min(names_width + 30, WIDTH / 2)
    box = Box(left, 60, WIDTH - 40, HEIGHT - 80)
    row = (box.bottom - box.top) / len(spots)
    scale = (box.right - box.left) / ticks[-1]
    for tick in ticks:
        x = box.left + tick * scale
        _line(svg, x, box.top, x, box.bottom, GRID)
        _text(svg, x, box.bottom + 20, f"{tick:g}", anchor="middle")
    for index, (name, tickets) in enumerate(spots):
        y = box.top + index * row
        _rect(svg, box.left, y + row * 0.15, tickets * scale, row * 0.7, COLORS["hotspot"],
              f"{name}: {tickets}")
        _text(svg, box.left - 8, y + row / 2, name, anchor="end", baseline="middle")
        _text(svg, box.left + tickets * scale + 6, y + row / 2, str(tickets),
              baseline="middle")
    _line(svg, box.left, box.top, box.left, box.bottom, GREY)
    _text(svg, (box.left + box.right) / 2, box.bottom + 44, labels.hotspots_axis,
          anchor="middle")
    if note:
        _text(svg, box.right, HEIGHT - 10, note, anchor="end", color=GREY)
    return _document(svg)


CHARTS: tuple[tuple[str, Callable[[Trends, ChartLabels], bytes]], ...] = (
    ("volume", volume), ("resolve_time", resolve_time), ("satisfaction", satisfaction),
    ("hotspots", hotspots))


def draw_charts(trends: Trends, labels: ChartLabels) -> Charts:
    """The four charts, as the staff group's PNG charts name and order them."""
    return Charts(tuple((name, draw(trends, labels)) for name, draw in CHARTS))
