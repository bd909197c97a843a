"""Charts' labels and series for the chart tests (PNG and SVG)."""

from __future__ import annotations

from datetime import UTC, timedelta

from bot.statistics.charts import ChartLabels
from tests.known_tickets import OFFICE, START
from tickets.trends import Hotspot, Trends, bucket_starts, choose_bucket


def labels(categories: dict[str, str] | None = None) -> ChartLabels:
    return ChartLabels(
        no_data="No data for this period", volume_title="Tickets by category",
        volume_axis="Tickets", other_categories="Other", resolve_title="Time to resolve",
        resolve_axis="Resolved tickets",
        resolve_ranges=("< 4 h", "4–24 h", "1–3 days", "3–7 days", "> 7 days"),
        satisfaction_title="Satisfaction", average_rating="Average rating (1–5)",
        satisfied_share="Satisfied (4–5 stars)", target="Target %(share)s",
        hotspots_title="Where complaints come from", hotspots_axis="Tickets",
        hotspot="%(building)s, floor %(floor)s", unlocated="Without a known unit: %(count)d",
        categories=categories or {"water": "💧 Water $5", "noise": "Noise"})


CHINESE = ChartLabels(
    no_data="本期无数据", volume_title="各类别工单", volume_axis="工单", other_categories="其他",
    resolve_title="解决用时", resolve_axis="已解决工单",
    resolve_ranges=("< 4 小时", "4–24 小时", "1–3 天", "3–7 天", "> 7 天"),
    satisfaction_title="满意度", average_rating="平均评分（1–5）",
    satisfied_share="满意（4–5 星）", target="目标 %(share)s",
    hotspots_title="投诉来源", hotspots_axis="工单", hotspot="%(building)s 栋 %(floor)s 层",
    unlocated="无已知单元：%(count)d", categories={"water": "漏水", "noise": "噪音"},
    lang="zh_Hans")


def full_trends(days: int = 7, categories: int = 3) -> Trends:
    start = START.astimezone(UTC)
    end = start + timedelta(days=days)
    buckets = bucket_starts(start, end, OFFICE, choose_bucket(start, end))
    n = len(buckets)
    codes = ["water", "noise", "electric", "lift", "door", "heating", "cleaning", "parking",
             "pests", "garden", "security", "other"][:categories]
    return Trends(
        start, end, OFFICE, choose_bucket(start, end), buckets,
        volume={code: [(i * 7 + j * 3) % 5 for i in range(n)] for j, code in enumerate(codes)},
        resolve_counts=[5, 12, 7, 3, 1], rated=[(i % 3) for i in range(n)],
        average_rating=[None if i % 3 == 0 else 3.0 + (i % 4) / 2 for i in range(n)],
        satisfied_share=[None if i % 3 == 0 else (i % 5) / 4 for i in range(n)],
        hotspots=[Hotspot("A", str(f), 20 - f) for f in range(1, 18)]
        + [Hotspot("B", None, 2), Hotspot(None, None, 4)])


def empty_trends() -> Trends:
    start = START.astimezone(UTC)
    end = start + timedelta(days=7)
    buckets = bucket_starts(start, end, OFFICE, "day")
    return Trends(start, end, OFFICE, "day", buckets, resolve_counts=[0] * 5,
                  rated=[0] * 7, average_rating=[None] * 7, satisfied_share=[None] * 7)
