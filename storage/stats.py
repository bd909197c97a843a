"""The statistics' SQL: aggregates computed by the database, never by loading the tickets.

What the figures mean (which statuses are open, what counts as satisfied) is decided in
`tickets/stats.py`; this module only counts.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, and_, case, cast, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from storage.models import Building, Ticket, Unit


def _created_in(start: datetime, end: datetime) -> ColumnElement[bool]:
    return and_(Ticket.created_at >= start, Ticket.created_at < end)


def _postgres(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


async def counts_by_status_category_channel(
    session: AsyncSession, start: datetime, end: datetime
) -> tuple[dict[str, int], dict[str, int], dict[str, int]]:
    """Tickets created in [start, end) per status, per category and per channel: one scan."""
    by_status: dict[str, int] = {}
    by_category: dict[str, int] = {}
    by_channel: dict[str, int] = {}
    query = (select(Ticket.status, Ticket.category_code, Ticket.channel, func.count())
             .where(_created_in(start, end))
             .group_by(Ticket.status, Ticket.category_code, Ticket.channel))
    for status, category, channel, n in (await session.execute(query)).all():
        for counts, key in ((by_status, status), (by_category, category), (by_channel, channel)):
            counts[key] = counts.get(key, 0) + int(n)
    return by_status, by_category, by_channel


async def counts_by_building(session: AsyncSession, start: datetime, end: datetime
                             ) -> dict[str, int]:
    """Tickets created in [start, end) per building ("" for those without a known unit)."""
    query = (select(Building.name, func.count()).select_from(Ticket)
             .outerjoin(Unit, Unit.id == Ticket.unit_id)
             .outerjoin(Building, Building.id == Unit.building_id)
             .where(_created_in(start, end)).group_by(Building.name))
    return {str(value or ""): int(n) for value, n in (await session.execute(query)).all()}


async def percentiles(session: AsyncSession, seconds: Any, start: datetime, end: datetime,
                      points: Sequence[float]) -> list[float | None]:
    """Percentiles (0..1, interpolated like PostgreSQL's percentile_cont) of `seconds` in
    hours, over the tickets created in [start, end) that have it."""
    hours = seconds / 3600.0
    where = and_(_created_in(start, end), seconds.is_not(None))
    if _postgres(session):
        row = (await session.execute(select(*(
            func.percentile_cont(p).within_group(hours) for p in points)).where(where))).one()
        return [None if v is None else float(v) for v in row]
    # SQLite has no percentile: one sort numbers the rows, and only the two rows around each
    # point come back, to be interpolated here
    inner = select(hours.label("value"), (func.row_number().over(order_by=seconds) - 1)
                   .label("rank"), func.count().over().label("count")).where(where).subquery()
    positions = [cast(p * (inner.c.count - 1), Integer) for p in points]
    rows = (await session.execute(select(inner.c.rank, inner.c.count, inner.c.value).where(
        or_(*(inner.c.rank.in_([low, low + 1]) for low in positions))))).all()
    if not rows:
        return [None for _ in points]
    count = int(rows[0][1])
    value = {int(rank): float(v) for rank, _, v in rows}
    found: list[float | None] = []
    for point in points:
        rank = point * (count - 1)
        low = math.floor(rank)
        high = value.get(low + 1, value[low])
        found.append(value[low] + (high - value[low]) * (rank - low))
    return found


async def on_time(session: AsyncSession, done: Any, due: Any, start: datetime, end: datetime,
                  now: datetime, excluded: Collection[str]) -> tuple[int, int]:
    """(on time, measured) over the tickets created in [start, end) that are done or whose
    due time has passed, leaving out the `excluded` statuses."""
    measured = and_(_created_in(start, end), Ticket.status.not_in(excluded),
                    or_(done.is_not(None), due < now))
    on_time_count = func.sum(case((and_(done.is_not(None), done <= due), 1), else_=0))
    row = (await session.execute(select(on_time_count, func.count()).select_from(Ticket)
                                 .where(measured))).one()
    return int(row[0] or 0), int(row[1])


async def ratings(session: AsyncSession, start: datetime, end: datetime, satisfied_from: int
                  ) -> tuple[int, float | None, int]:
    """(rated, average rating, satisfied) over the tickets created in [start, end)."""
    satisfied = func.sum(case((Ticket.rating >= satisfied_from, 1), else_=0))
    row = (await session.execute(
        select(func.count(Ticket.rating), func.avg(Ticket.rating), satisfied)
        .where(_created_in(start, end), Ticket.rating.is_not(None)))).one()
    return int(row[0]), None if row[1] is None else float(row[1]), int(row[2] or 0)


async def reopened(session: AsyncSession, start: datetime, end: datetime) -> tuple[int, int]:
    """(reopened at least once, resolved at least once) over the tickets created in
    [start, end)."""
    again = func.sum(case((Ticket.reopen_count > 0, 1), else_=0))
    row = (await session.execute(select(again, func.count()).where(
        _created_in(start, end), Ticket.resolved_at.is_not(None)))).one()
    return int(row[0] or 0), int(row[1])


async def top_causes(session: AsyncSession, start: datetime, end: datetime, limit: int
                     ) -> list[tuple[str, int]]:
    count = func.count().label("n")
    query = (select(Ticket.cause_category, count)
             .where(_created_in(start, end), Ticket.cause_category.is_not(None))
             .group_by(Ticket.cause_category).order_by(count.desc(), Ticket.cause_category)
             .limit(limit))
    return [(str(cause), int(n)) for cause, n in (await session.execute(query)).all()]


async def overdue(session: AsyncSession, open_statuses: Collection[str], now: datetime,
                  limit: int) -> tuple[int, list[Ticket]]:
    """Open tickets past a due time, whenever created: (how many, the most overdue first)."""
    late = and_(Ticket.status.in_(open_statuses), or_(
        and_(Ticket.acknowledged_at.is_(None), Ticket.ack_due_at < now),
        Ticket.resolve_due_at < now))
    total = int(await session.scalar(select(func.count()).select_from(Ticket).where(late)) or 0)
    tickets = (await session.scalars(select(Ticket).where(late)
                                     .order_by(Ticket.resolve_due_at, Ticket.id)
                                     .limit(limit))).unique().all()
    return total, list(tickets)
