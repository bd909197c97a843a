"""The console's SVG charts (web/console/svg_charts.py): valid SVG whose text is text, showing
the figures of the trends — every bar's number, every label — as the PNG charts do."""

from __future__ import annotations

from xml.etree.ElementTree import Element, fromstring

import pytest

from bot.statistics.charts import volume_series
from tests.chart_samples import CHINESE, empty_trends, full_trends, labels
from tickets.trends import Trends
from web.console.svg_charts import HEIGHT, WIDTH, draw_charts, nice_ticks

SVG = "{http://www.w3.org/2000/svg}"


def parsed(trends: Trends, chart_labels: object = None) -> dict[str, Element]:
    charts = draw_charts(trends, chart_labels or labels())  # type: ignore[arg-type]
    assert charts.missing_glyphs is False
    found = {name: fromstring(svg) for name, svg in charts}
    for root in found.values():
        assert root.tag == f"{SVG}svg" and root.get("viewBox") == f"0 0 {WIDTH} {HEIGHT}"
    return found


def texts(root: Element) -> list[str]:
    return [element.text or "" for element in root.iter(f"{SVG}text")]


def tips(root: Element) -> list[str]:
    """The hover texts of the bars."""
    return [title.text or "" for rect in root.iter(f"{SVG}rect")
            for title in rect.iter(f"{SVG}title")]


def lines_through(values: list[float | None]) -> int:
    """How many pieces of line join the values, two or more in a row."""
    pieces, run = 0, 0
    for value in [*values, None]:
        if value is None:
            pieces += run >= 2
            run = 0
        else:
            run += 1
    return pieces


@pytest.mark.parametrize(("days", "categories"), [(7, 3), (45, 12), (120, 5), (1, 1)])
def test_every_figure_is_drawn(days: int, categories: int) -> None:
    trends = full_trends(days, categories)
    charts = parsed(trends)
    assert list(charts) == ["volume", "resolve_time", "satisfaction", "hotspots"]

    volume = charts["volume"]
    assert "Tickets by category" in texts(volume)
    # a bar per category (the PNG chart's: the rest summed) and bucket with tickets, its
    # count on hover; they add up
    series = volume_series(trends, labels())
    counts = [int(tip.rsplit(": ", 1)[1]) for tip in tips(volume)]
    assert len(counts) == sum(1 for one in series for n in one.counts if n)
    assert sum(counts) == trends.total
    if trends.total:
        assert all(one.name in texts(volume) for one in series)  # the legend
    else:
        assert "No data for this period" in texts(volume)

    resolve = texts(charts["resolve_time"])
    assert "12 (43%)" in resolve and "< 4 h" in resolve  # 12 of 28

    satisfaction = charts["satisfaction"]
    assert ("Target 80%" if any(trends.rated) else "No data for this period") in texts(
        satisfaction)
    # each line is broken where a bucket has no rating
    lines = list(satisfaction.iter(f"{SVG}polyline"))
    assert len(lines) == lines_through(trends.average_rating) + lines_through(
        trends.satisfied_share)

    hotspots = charts["hotspots"]
    assert "A, floor 1" in texts(hotspots) and "19" in texts(hotspots)
    assert "Without a known unit: 4" in texts(hotspots)
    assert len(tips(hotspots)) == 15  # the 15 places with the most


def test_no_data_says_so() -> None:
    for name, root in parsed(empty_trends()).items():
        assert "No data for this period" in texts(root), name
        assert tips(root) == []


def test_chinese_stays_text_and_markup_is_escaped() -> None:
    charts = parsed(full_trends(), CHINESE)
    assert CHINESE.volume_title in texts(charts["volume"])
    odd = labels({"water": "<Water> & \"pipes\""})
    trends = full_trends()
    assert "<Water> & \"pipes\"" in texts(parsed(trends, odd)["volume"])


@pytest.mark.parametrize(("top", "ticks"), [
    (0, [0, 1]), (3, [0, 1, 2, 3]), (7, [0, 2, 4, 6, 8]), (2870, [0, 500, 1000, 1500, 2000,
                                                                 2500, 3000]),
    (23329 * 1.12, [0, 5000, 10000, 15000, 20000, 25000, 30000])])
def test_ticks_are_round(top: float, ticks: list[float]) -> None:
    assert nice_ticks(top) == ticks
