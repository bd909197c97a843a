"""The trend charts' SQL: counts per time bucket, per resolve-time range and per building/floor.

Only aggregates come back, never tickets. Every query reads the tickets created in
[start, end) through `ix_tickets_period`, which holds all the columns used here (created_at,
category_code, unit_id, rating, resolve_seconds, incident_id), so the table itself is not
visited. Reports linked to an incident are left out of the volume, the resolve times and the
hotspots (the incident counts once, as its lead: `storage/statistics.workload`), not out of
the ratings (each resident rates).

Time buckets are given as their boundaries (aware datetimes, computed by the caller in the
office's time zone): a CASE over those instants numbers each row's bucket the same way on
SQLite and PostgreSQL, where date functions and time-zone support differ. What the buckets
and ranges mean is decided in `tickets/trends.py`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from storage.models import Building, Ticket, Unit
from storage.statistics import workload


def _created_in(start: datetime, end: datetime) -> ColumnElement[bool]:
    return and_(Ticket.created_at >= start, Ticket.created_at < end)


def _workload_in(start: datetime, end: datetime) -> ColumnElement[bool]:
    return and_(_created_in(start, end), workload())


def _step(value: Any, boundaries: Sequence[Any]) -> ColumnElement[int]:
    """The index of the range `value` falls in: 0 below boundaries[0], i for
    [boundaries[i-1], boundaries[i]), len(boundaries) from the last one on."""
    if not boundaries:
        return literal(0)
    return case(*((value < edge, index) for index, edge in enumerate(boundaries)),
                else_=len(boundaries))


async def volume_by_bucket(session: AsyncSession, start: datetime, end: datetime,
                           boundaries: Sequence[datetime]) -> dict[tuple[int, str], int]:
    """Tickets created in [start, end) per (bucket index, category code), linked reports
    left out."""
    # The bucket is computed in a subquery and grouped by its name outside: PostgreSQL would
    # not recognise a repeated CASE with its own parameters as the grouped expression.
    inner = (select(_step(Ticket.created_at, boundaries).label("bucket"),
                    Ticket.category_code.label("category"))
             .where(_workload_in(start, end)).subquery())
    query = (select(inner.c.bucket, inner.c.category, func.count())
             .group_by(inner.c.bucket, inner.c.category))
    return {(int(bucket), str(category)): int(n)
            for bucket, category, n in (await session.execute(query)).all()}


async def resolve_time_ranges(session: AsyncSession, start: datetime, end: datetime,
                              boundaries_seconds: Sequence[int]) -> dict[int, int]:
    """Tickets created in [start, end) and resolved, linked reports left out, per range of
    `resolve_seconds` (index as in `_step`: range i is [boundaries[i-1], boundaries[i])
    seconds)."""
    inner = (select(_step(Ticket.resolve_seconds, boundaries_seconds).label("range"))
             .where(_workload_in(start, end), Ticket.resolve_seconds.is_not(None)).subquery())
    query = select(inner.c.range, func.count()).group_by(inner.c.range)
    return {int(index): int(n) for index, n in (await session.execute(query)).all()}


async def ratings_by_bucket(session: AsyncSession, start: datetime, end: datetime,
                            boundaries: Sequence[datetime], satisfied_from: int
                            ) -> dict[int, tuple[int, float, int]]:
    """Per bucket index: (rated, average rating, rated ≥ `satisfied_from`) over the tickets
    created in [start, end) that have a rating; buckets without one are absent."""
    inner = (select(_step(Ticket.created_at, boundaries).label("bucket"),
                    Ticket.rating.label("rating"))
             .where(_created_in(start, end), Ticket.rating.is_not(None)).subquery())
    satisfied = func.sum(case((inner.c.rating >= satisfied_from, 1), else_=0))
    query = (select(inner.c.bucket, func.count(), func.avg(inner.c.rating), satisfied)
             .group_by(inner.c.bucket))
    return {int(bucket): (int(n), float(average), int(happy or 0))
            for bucket, n, average, happy in (await session.execute(query)).all()}


async def counts_by_building_floor(session: AsyncSession, start: datetime, end: datetime
                                   ) -> list[tuple[str | None, str | None, int]]:
    """Tickets created in [start, end), linked reports left out, per (building name, floor):
    `Unit.floor` as imported (None when the unit list gave none); building and floor are None
    for the tickets without a known unit."""
    count = func.count().label("n")
    query = (select(Building.name, Unit.floor, count).select_from(Ticket)
             .outerjoin(Unit, Unit.id == Ticket.unit_id)
             .outerjoin(Building, Building.id == Unit.building_id)
             .where(_workload_in(start, end))
             .group_by(Building.name, Unit.floor))
    return [(None if name is None else str(name), None if floor is None else str(floor), int(n))
            for name, floor, n in (await session.execute(query)).all()]
