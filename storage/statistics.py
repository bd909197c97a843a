"""The statistics' SQL: aggregates computed by the database, never by loading the tickets.

What the figures mean (which statuses are open or measured, what counts as satisfied) is decided
in `tickets/statistics.py`; this module only counts.

Speed on SQLite (a million tickets): SQLite has no hash aggregation, so a GROUP BY over a
period's tickets sorts them all, which costs far more than reading them. The period is therefore
grouped by the indexes of migration 0006, led by the grouped columns and then `created_at`: the
planner skips through them (skip-scan, which needs ANALYZE's statistics) and reads each group's
part of the period in order, with nothing to sort (without those statistics it plans as it did
before 0006: a range of ix_tickets_period and a sort). Percentiles are the one sort left: the
same pass hands the values over as JSON arrays, Python sorts them. PostgreSQL aggregates by
hashing and has percentile_cont; it reads the period from ix_tickets_period.

Reports linked to an incident are left out of the counts of the office's work. The period's
groups ask each ticket (`workload`: `incident_id IS NULL`, the last column of
ix_tickets_period_groups); the counts per unit and per cause and the overdue count count all
tickets as before and take the linked reports' counts off (`_less_linked`), which costs less
than decoding incident_id from every index entry (+15 % on those queries). The linked
reports' ratings and the incidents are counted apart (`linked_ratings`, `incidents`); every
query of linked reports alone reads a partial index of them (ix_tickets_linked_period,
ix_tickets_linked_open_due, ix_tickets_incident_id): they are a few in a hundred.
"""

from __future__ import annotations

import json
import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, distinct, func, literal, or_, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from storage.models import Building, CallBack, Incident, Ticket, Unit


def _created_in(start: datetime, end: datetime, ticket: type[Ticket] = Ticket
                ) -> ColumnElement[bool]:
    return and_(ticket.created_at >= start, ticket.created_at < end)


def workload() -> ColumnElement[bool]:
    """A ticket counted as a complaint of its own: not a report linked to an incident (whose
    lead ticket counts for it)."""
    return Ticket.incident_id.is_(None)


def _workload_in(start: datetime, end: datetime) -> ColumnElement[bool]:
    return and_(_created_in(start, end), workload())


def _postgres(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _count(condition: ColumnElement[bool]) -> Any:
    """How many rows of the group meet `condition` (an aggregate FILTER, on both databases)."""
    return func.count().filter(condition)


@dataclass(frozen=True)
class Group:
    """The tickets created in a period with one status, category and channel."""

    status: str
    category: str
    channel: str
    tickets: int
    acknowledged: int
    acknowledged_on_time: int  # acknowledged by the acknowledgement deadline
    unacknowledged_late: int  # not acknowledged, and the deadline has passed
    resolved: int
    resolved_on_time: int
    unresolved_late: int
    rated: int
    rating_sum: int
    rated_from: int  # rated at least `rated_from` (the caller's threshold)
    reopened_resolved: int  # resolved and reopened at least once


@dataclass
class Period:
    groups: list[Group]
    hours_to_acknowledge: list[float | None]  # at the requested points
    hours_to_resolve: list[float | None]


async def period(session: AsyncSession, start: datetime, end: datetime, now: datetime,
                 rated_from: int, points: Sequence[float]) -> Period:
    """Tickets created in [start, end), reports linked to an incident left out, counted per
    status, category and channel (the status is a group, so which statuses count where is
    left to the caller), and the percentiles (0..1, interpolated like PostgreSQL's
    percentile_cont) of the hours to acknowledge and to resolve of those that have them."""
    t = Ticket
    seconds = (t.acknowledge_seconds, t.resolve_seconds)
    postgres = _postgres(session)
    query = (select(
        t.status, t.category_code, t.channel, func.count(), func.count(t.acknowledged_at),
        _count(t.acknowledged_at <= t.ack_due_at),
        _count(and_(t.acknowledged_at.is_(None), t.ack_due_at < now)),
        func.count(t.resolved_at),
        _count(t.resolved_at <= t.resolve_due_at),
        _count(and_(t.resolved_at.is_(None), t.resolve_due_at < now)),
        func.count(t.rating), func.coalesce(func.sum(t.rating), 0), _count(t.rating >= rated_from),
        _count(and_(t.resolved_at.is_not(None), t.reopen_count > 0)),
        # SQLite has no percentile, and a window function sorts with its slow sorter: the same
        # pass hands the values over as JSON arrays, which Python parses and sorts much faster
        *(() if postgres else (func.json_group_array(column).filter(column.is_not(None))
                               for column in seconds)))
        .where(_workload_in(start, end))
        .group_by(t.status, t.category_code, t.channel))
    rows = (await session.execute(query)).all()
    found = Period([Group(str(row[0]), str(row[1]), str(row[2]),
                          *(int(n) for n in row[3:14])) for row in rows], [], [])
    if postgres:
        # percentile_cont leaves out NULLs: both columns in one pass, sorting the integers
        # themselves (hours, seconds / 3600.0, would be numeric: twice as slow to sort)
        values = [None if v is None else float(v) / 3600.0 for v in (await session.execute(
            select(*(func.percentile_cont(p).within_group(column)
                     for column in seconds for p in points))
            .where(_workload_in(start, end)))).one()]
        found.hours_to_acknowledge = values[:len(points)]
        found.hours_to_resolve = values[len(points):]
        return found
    for column, hours in ((14, found.hours_to_acknowledge), (15, found.hours_to_resolve)):
        ordered: list[int] = []
        for row in rows:
            ordered += json.loads(row[column])
        ordered.sort()
        hours += [None if s is None else s / 3600.0 for s in _interpolated(ordered, points)]
    return found


async def counts_by_building(session: AsyncSession, start: datetime, end: datetime
                             ) -> dict[str, int]:
    """Tickets created in [start, end) per building ("" for those without a known unit),
    linked reports left out."""
    # per unit first (skip-scan of ix_tickets_period_units, no sort), less the linked reports
    # per unit (ix_tickets_linked_period), then the few units are joined to their buildings
    per_unit = _less_linked(start, end, Ticket.unit_id)
    query = (select(Building.name, func.sum(per_unit.c.n)).select_from(per_unit)
             .outerjoin(Unit, Unit.id == per_unit.c.key)
             .outerjoin(Building, Building.id == Unit.building_id).group_by(Building.name)
             .having(func.sum(per_unit.c.n) > 0))
    return {str(value or ""): int(n) for value, n in (await session.execute(query)).all()}


def _less_linked(start: datetime, end: datetime, key: Any, *where: ColumnElement[bool]) -> Any:
    """The tickets created in [start, end) counted per `key` (key, n) as two arms: all of
    them, and minus the linked reports. Cheaper than asking every ticket whether it is
    linked: the first arm reads an index led by `key` without looking at incident_id, the
    second the few linked reports alone."""
    return union_all(
        select(key.label("key"), func.count().label("n"))
        .where(_created_in(start, end), *where).group_by(key),
        select(key, -func.count())
        .where(_created_in(start, end), Ticket.incident_id.is_not(None), *where).group_by(key)
    ).subquery()


def _interpolated(ordered: Sequence[int], points: Sequence[float]) -> list[float | None]:
    """Percentiles of sorted `ordered`, interpolated like PostgreSQL's percentile_cont."""
    if not ordered:
        return [None for _ in points]
    found: list[float | None] = []
    for point in points:
        rank = point * (len(ordered) - 1)
        low = math.floor(rank)
        high = ordered[min(low + 1, len(ordered) - 1)]
        found.append(ordered[low] + (high - ordered[low]) * (rank - low))
    return found


async def call_backs(session: AsyncSession, start: datetime, end: datetime
                     ) -> dict[str | None, int]:
    """The call-backs of the tickets created in [start, end), counted by outcome (None: not
    answered yet)."""
    # led by the call-backs (a few) and each one's ticket looked up by its id: a join let
    # SQLite walk every ticket of the period instead (+0.9 s for a year at a million)
    of_period = select(Ticket.id).where(Ticket.id == CallBack.ticket_id,
                                        _created_in(start, end)).exists()
    query = select(CallBack.outcome, func.count()).where(of_period).group_by(CallBack.outcome)
    return {outcome: int(n) for outcome, n in (await session.execute(query)).all()}


async def top_causes(session: AsyncSession, start: datetime, end: datetime, limit: int
                     ) -> list[tuple[str, int]]:
    """The most frequent causes of the tickets created in [start, end), linked reports left
    out (skip-scan of ix_tickets_period_causes, less the linked reports)."""
    per_cause = _less_linked(start, end, Ticket.cause_category,
                             Ticket.cause_category.is_not(None))
    count = func.sum(per_cause.c.n).label("n")
    query = (select(per_cause.c.key, count).group_by(per_cause.c.key).having(count > 0)
             .order_by(count.desc(), per_cause.c.key).limit(limit))
    return [(str(cause), int(n)) for cause, n in (await session.execute(query)).all()]


async def overdue(session: AsyncSession, open_statuses: Collection[str], now: datetime,
                  limit: int) -> tuple[int, list[Ticket]]:
    """Open tickets past a due time, whenever created, linked reports left out (their lead
    is late for them): (how many, the most overdue first, by resolve due time)."""
    statuses = sorted(open_statuses)  # the same SQL each time: one cached statement
    if not statuses:
        return 0, []
    open_ = Ticket.status.in_(statuses)
    unacknowledged_late = and_(Ticket.acknowledged_at.is_(None), Ticket.ack_due_at < now)
    # Late to resolve, or else late to acknowledge: two disjoint counts, the first of them a
    # plain range of ix_tickets_open_due (status, resolve_due_at, …) with nothing to evaluate
    # per ticket, the second a short one (only tickets not yet due to be resolved); less the
    # same of the linked reports (ix_tickets_linked_open_due: they are few), cheaper than
    # asking each late ticket whether it is linked.
    late_to_resolve = [select(func.count()).where(open_, *linked, Ticket.resolve_due_at < now)
                       for linked in ((), (Ticket.incident_id.is_not(None),))]
    late_to_acknowledge = [select(func.count()).where(
        open_, *linked, Ticket.resolve_due_at >= now, unacknowledged_late)
        for linked in ((), (Ticket.incident_id.is_not(None),))]
    total = int(await session.scalar(select(
        late_to_resolve[0].scalar_subquery() + late_to_acknowledge[0].scalar_subquery()
        - late_to_resolve[1].scalar_subquery() - late_to_acknowledge[1].scalar_subquery()))
        or 0)
    if total == 0:
        return 0, []
    # The first `limit` of each status in index order (status, resolve_due_at): reading a few
    # index entries each, instead of sorting every late ticket of all open statuses; the
    # union's first `limit` are the first overall.
    late = or_(unacknowledged_late, Ticket.resolve_due_at < now)
    firsts = [select(Ticket.id, Ticket.resolve_due_at)
              .where(Ticket.status == status, workload(), late)
              .order_by(Ticket.resolve_due_at, Ticket.id).limit(limit).subquery()
              for status in statuses]
    candidates = union_all(*(select(first.c.id, first.c.resolve_due_at) for first in firsts)
                           ).subquery()
    chosen = (select(candidates.c.id).order_by(candidates.c.resolve_due_at, candidates.c.id)
              .limit(limit))
    tickets = (await session.scalars(select(Ticket).where(Ticket.id.in_(chosen))
                                     .order_by(Ticket.resolve_due_at, Ticket.id))).unique().all()
    return total, list(tickets)


@dataclass(frozen=True)
class Ratings:
    """What the residents of some tickets said: ratings, and reopenings of the resolved."""

    rated: int = 0
    rating_sum: int = 0
    rated_from: int = 0  # rated at least `rated_from` (the caller's threshold)
    resolved: int = 0
    reopened_resolved: int = 0  # resolved and reopened at least once


async def linked_ratings(session: AsyncSession, start: datetime, end: datetime,
                         rated_from: int) -> Ratings:
    """The ratings and reopenings of the reports linked to an incident created in [start,
    end): each resident got their own survey (a range of the partial index
    ix_tickets_linked_period, which holds the linked reports alone)."""
    t = Ticket
    row = (await session.execute(
        select(func.count(t.rating), func.coalesce(func.sum(t.rating), 0),
               _count(t.rating >= rated_from), func.count(t.resolved_at),
               _count(and_(t.resolved_at.is_not(None), t.reopen_count > 0)))
        .where(_created_in(start, end), t.incident_id.is_not(None)))).one()
    return Ratings(*(int(n) for n in row))


@dataclass(frozen=True)
class IncidentCounts:
    """Incidents whose lead ticket was created in a period, with all their linked reports
    (whenever those came) and the people affected (the lead's complainant among them)."""

    incidents: int = 0
    reports: int = 0  # linked to them (their leads not among them)
    residents: int = 0  # distinct: a resident, or a phone number taken by the office


async def incidents(session: AsyncSession, start: datetime, end: datetime) -> IncidentCounts:
    """The incidents led by tickets created in [start, end): the incidents are few, their
    leads are found by id and their reports through ix_tickets_incident_id. The people: each
    resident once, and each phone number of a complaint from someone not registered once."""
    lead = aliased(Ticket)

    def of_period(*columns: Any) -> Any:
        return (select(*columns).select_from(Incident)
                .join(lead, lead.id == Incident.lead_ticket_id)
                .where(_created_in(start, end, lead)))

    people = union_all(
        of_period(Incident.id.label("incident"), literal(0).label("report"),
                  lead.resident_id.label("resident"), lead.contact_phone.label("phone")),
        select(Ticket.incident_id, literal(1), Ticket.resident_id, Ticket.contact_phone)
        .where(Ticket.incident_id.in_(of_period(Incident.id)))).subquery()
    row = (await session.execute(select(
        func.count(distinct(people.c.incident)), func.coalesce(func.sum(people.c.report), 0),
        func.count(distinct(people.c.resident)),
        func.count(distinct(people.c.phone)).filter(people.c.resident.is_(None))))).one()
    incidents, reports, residents, callers = (int(n) for n in row)
    return IncidentCounts(incidents, reports, residents + callers)


async def linked(session: AsyncSession, start: datetime, end: datetime, rated_from: int
                 ) -> tuple[Ratings, IncidentCounts]:
    """`linked_ratings` and `incidents`, one after the other in one session: both read a few
    rows, so they share a connection rather than take one each."""
    return (await linked_ratings(session, start, end, rated_from),
            await incidents(session, start, end))
