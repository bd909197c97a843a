"""How the office's figures move over a period, for the /stats charts: volume per category
over time, how long resolving takes, satisfaction over time, and where complaints come from.

Definitions live here (bucket length, resolve-time ranges, what counts as satisfied, and an
incident counted once — its linked reports out of the volume, the resolve times and the
hotspots, in the ratings: the same as `tickets/statistics.py`); the SQL in `storage/trends.py`.
Everything in `Trends` is plain Python data, so rendering (`bot/statistics/charts.py`) needs no
database and can run in a worker thread.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Literal, NamedTuple

from storage import trends as sql
from storage.db import Database
from tickets.statistics import SATISFACTION_TARGET, SATISFIED_FROM

BucketKind = Literal["day", "week"]

DAILY_UP_TO_DAYS = 45  # longer periods are shown per week: ~45 bars stay readable
# Upper bounds of the resolve-time ranges, in hours: <4 h, 4–24 h, 1–3 d, 3–7 d, ≥7 d.
RESOLVE_RANGES_HOURS = (4, 24, 72, 168)


class Hotspot(NamedTuple):
    building: str | None  # None: tickets without a known unit
    floor: str | None  # None: no unit, or the unit list gave no floor
    tickets: int


@dataclass
class Trends:
    """Tickets created in [start, end); buckets are local days or weeks (Monday first) of
    `timezone`, the first one may begin before `start` and the last end after `end`."""

    start: datetime
    end: datetime
    timezone: tzinfo
    bucket: BucketKind
    buckets: list[date] = field(default_factory=list)  # each bucket's first local day
    # category code -> tickets created per bucket (same length as `buckets`)
    volume: dict[str, list[int]] = field(default_factory=dict)
    resolve_ranges_hours: tuple[int, ...] = RESOLVE_RANGES_HOURS
    resolve_counts: list[int] = field(default_factory=list)  # len(resolve_ranges_hours) + 1
    rated: list[int] = field(default_factory=list)  # per bucket
    average_rating: list[float | None] = field(default_factory=list)  # per bucket, None: no
    satisfied_share: list[float | None] = field(default_factory=list)  # rating in the bucket
    satisfied_from: int = SATISFIED_FROM
    satisfaction_target: float = SATISFACTION_TARGET
    hotspots: list[Hotspot] = field(default_factory=list)  # most tickets first

    @property
    def total(self) -> int:
        return sum(sum(counts) for counts in self.volume.values())

    @property
    def resolved(self) -> int:
        return sum(self.resolve_counts)

    @property
    def located_hotspots(self) -> list[Hotspot]:
        return [spot for spot in self.hotspots if spot.building is not None]

    @property
    def unlocated(self) -> int:
        return sum(spot.tickets for spot in self.hotspots if spot.building is None)


def choose_bucket(start: datetime, end: datetime) -> BucketKind:
    return "day" if end - start <= timedelta(days=DAILY_UP_TO_DAYS) else "week"


def local_midnight(day: date, timezone: tzinfo) -> datetime:
    """The instant `day` begins in `timezone` (zoneinfo resolves DST gaps and folds)."""
    return datetime.combine(day, time(), tzinfo=timezone)


def bucket_starts(start: datetime, end: datetime, timezone: tzinfo, kind: BucketKind
                  ) -> list[date]:
    """The first local day of each bucket that overlaps [start, end)."""
    first = start.astimezone(timezone).date()
    if kind == "week":
        first -= timedelta(days=first.weekday())
    step = timedelta(days=1 if kind == "day" else 7)
    days: list[date] = []
    day = first
    while local_midnight(day, timezone) < end:
        days.append(day)
        day += step
    return days


def _natural(text: str | None) -> tuple[tuple[int, str], ...]:
    # Floors "2" before "10", and "B1" before "B2".
    return tuple((int(part), "") if part.isdigit() else (0, part)
                 for part in re.split(r"(\d+)", text or ""))


async def compute_trends(db: Database, start: datetime, end: datetime,
                         timezone: tzinfo, bucket: BucketKind | None = None) -> Trends:
    """The trends of the tickets created in [start, end) (aware datetimes), bucketed by the
    local days or weeks of `timezone`; `bucket` defaults to days up to 45 days, else weeks.
    The four queries run side by side, each in a read-only session of its own."""
    kind = bucket or choose_bucket(start, end)
    trends = Trends(start, end, timezone, kind)
    trends.buckets = bucket_starts(start, end, timezone, kind)
    n = len(trends.buckets)
    # Rows before the second bucket's start fall in the first (index 0), and so on.
    boundaries = [local_midnight(day, timezone) for day in trends.buckets[1:]]
    limits = [hours * 3600 for hours in trends.resolve_ranges_hours]
    volume, ranges, ratings, floors = await asyncio.gather(
        db.read(lambda s: sql.volume_by_bucket(s, start, end, boundaries)),
        db.read(lambda s: sql.resolve_time_ranges(s, start, end, limits)),
        db.read(lambda s: sql.ratings_by_bucket(s, start, end, boundaries, SATISFIED_FROM)),
        db.read(lambda s: sql.counts_by_building_floor(s, start, end)))

    for (index, category), count in sorted(volume.items()):
        trends.volume.setdefault(category, [0] * n)[index] += count
    # Biggest categories first: the stacked bars and the legend read in that order.
    trends.volume = dict(sorted(trends.volume.items(), key=lambda item: (-sum(item[1]),
                                                                         item[0])))
    trends.resolve_counts = [ranges.get(i, 0)
                             for i in range(len(trends.resolve_ranges_hours) + 1)]
    for index in range(n):
        found = ratings.get(index)
        trends.rated.append(found[0] if found else 0)
        trends.average_rating.append(found[1] if found else None)
        trends.satisfied_share.append(found[2] / found[0] if found else None)

    spots = [Hotspot(*row) for row in floors]
    # Sorted here, not in SQL: the databases sort NULLs and digits differently.
    spots.sort(key=lambda s: (-s.tickets, s.building is None, s.building or "",
                              s.floor is None, _natural(s.floor)))
    trends.hotspots = spots
    return trends
