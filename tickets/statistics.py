"""The office's figures for a period (complaint-process step 6): volumes, times, deadlines kept,
satisfaction, reopenings, causes, and what is overdue now. Definitions live here; the SQL in
`storage/statistics.py`.

An incident (tickets/incidents.py: one outage, many reports) counts once. The office's work
— tickets received, by status, category, building and channel, the hotspots, the times to
acknowledge and to resolve, deadlines kept, causes, overdue now, and the charts of
`tickets/trends.py` — counts the incident as its lead ticket, and a report linked to it is not
another complaint. What residents say stays per resident: each linked report got its own
survey and call-back, so its rating, its reopening ("not fixed") and its call-back count like
any ticket's, by the day it was received. The incidents line names the incidents whose lead was
received in the period, with all their linked reports and the people affected (the lead's
resident too; distinct across the period), as they stand now. A report unlinked by hand, or
left on its own when its lead was withdrawn, is a complaint of its own again.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from storage import statistics as sql
from storage.db import Database
from storage.models import Ticket
from tickets.lifecycle import CLOCK_RUNNING, Status
from tickets.policy import CallBackOutcome

SATISFIED_FROM = 4  # a rating of 4 or 5 stars
SATISFACTION_TARGET = 0.80
PERCENTILES = (0.5, 0.9)
TOP_CAUSES = 5
OVERDUE_SHOWN = 20
NOT_MEASURED = (Status.WITHDRAWN, Status.REJECTED)  # no deadline to keep


def share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


@dataclass
class Statistics:
    start: datetime
    end: datetime
    total: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    by_category: dict[str, int] = field(default_factory=dict)
    by_building: dict[str, int] = field(default_factory=dict)
    by_channel: dict[str, int] = field(default_factory=dict)
    hours_to_acknowledge: list[float | None] = field(default_factory=list)  # median, p90
    hours_to_resolve: list[float | None] = field(default_factory=list)
    acknowledged_on_time: tuple[int, int] = (0, 0)  # (on time, measured)
    resolved_on_time: tuple[int, int] = (0, 0)
    rated: int = 0
    average_rating: float | None = None
    satisfied: int = 0
    reopened: tuple[int, int] = (0, 0)  # (reopened, resolved)
    top_causes: list[tuple[str, int]] = field(default_factory=list)
    # the call-backs (回访) of the period's tickets, by outcome (None: no answer yet)
    call_backs: dict[str | None, int] = field(default_factory=dict)
    overdue: int = 0  # (not those waiting for the resident: their resolve clock is paused)
    overdue_first: list[Ticket] = field(default_factory=list)
    incidents: sql.IncidentCounts = field(default_factory=sql.IncidentCounts)

    @property
    def satisfied_share(self) -> float | None:
        return share(self.satisfied, self.rated)

    @property
    def satisfaction_met(self) -> bool | None:
        found = self.satisfied_share
        return None if found is None else found >= SATISFACTION_TARGET

    @property
    def paused(self) -> int:
        """Tickets of the period whose resolve clock stands still: waiting for the resident."""
        return self.by_status.get(Status.WAITING_FOR_RESIDENT, 0)

    @property
    def call_backs_asked(self) -> int:
        return sum(self.call_backs.values())

    @property
    def call_backs_answered(self) -> int:
        return (self.call_backs.get(CallBackOutcome.HELD, 0)
                + self.call_backs.get(CallBackOutcome.RECURRED, 0))

    @property
    def call_back_rate(self) -> float | None:
        """Answered of those asked."""
        return share(self.call_backs_answered, self.call_backs_asked)

    @property
    def recurrence_rate(self) -> float | None:
        """"It came back" of those answered."""
        return share(self.call_backs.get(CallBackOutcome.RECURRED, 0), self.call_backs_answered)

    @property
    def reopen_rate(self) -> float | None:
        return share(*self.reopened)


async def _short(session: AsyncSession, start: datetime, end: datetime
                 ) -> tuple[dict[str | None, int], tuple[sql.Ratings, sql.IncidentCounts]]:
    return (await sql.call_backs(session, start, end),
            await sql.linked(session, start, end, SATISFIED_FROM))


async def compute(db: Database, start: datetime, end: datetime, now: datetime) -> Statistics:
    """Tickets created in [start, end) (an incident once: see above); the overdue list as of
    `now`. The queries are independent and run side by side in five read-only sessions."""
    read = db.read
    stats = Statistics(start, end)
    (period, stats.by_building, stats.top_causes, (stats.overdue, stats.overdue_first),
     (stats.call_backs, (linked, stats.incidents))) = await asyncio.gather(
        read(lambda s: sql.period(s, start, end, now, SATISFIED_FROM, PERCENTILES)),
        read(lambda s: sql.counts_by_building(s, start, end)),
        read(lambda s: sql.top_causes(s, start, end, TOP_CAUSES)),
        # a ticket waiting for the resident is late for nothing: its clock stands still
        read(lambda s: sql.overdue(s, CLOCK_RUNNING, now, OVERDUE_SHOWN)),
        # three short ones (a few rows each) share a session
        read(lambda s: _short(s, start, end)))
    groups = period.groups
    stats.hours_to_acknowledge = period.hours_to_acknowledge
    stats.hours_to_resolve = period.hours_to_resolve
    for group in groups:
        for counts, key in ((stats.by_status, group.status), (stats.by_category, group.category),
                            (stats.by_channel, group.channel)):
            counts[key] = counts.get(key, 0) + group.tickets
    stats.total = sum(group.tickets for group in groups)
    # measured: done, or due and not done; a withdrawn or rejected ticket has no deadline
    measured = [group for group in groups if group.status not in NOT_MEASURED]
    stats.acknowledged_on_time = (
        sum(group.acknowledged_on_time for group in measured),
        sum(group.acknowledged + group.unacknowledged_late for group in measured))
    stats.resolved_on_time = (
        sum(group.resolved_on_time for group in measured),
        sum(group.resolved + (group.unresolved_late if group.status != Status.WAITING_FOR_RESIDENT
                              else 0) for group in measured))
    # the residents' verdicts: the linked reports' as well (each resident was asked)
    stats.rated = sum(group.rated for group in groups) + linked.rated
    stats.average_rating = (
        (sum(group.rating_sum for group in groups) + linked.rating_sum) / stats.rated
        if stats.rated else None)
    stats.satisfied = sum(group.rated_from for group in groups) + linked.rated_from
    stats.reopened = (sum(group.reopened_resolved for group in groups) + linked.reopened_resolved,
                      sum(group.resolved for group in groups) + linked.resolved)
    return stats
