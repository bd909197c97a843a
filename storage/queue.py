"""The office console's ticket queue: one filtered, sorted page of tickets, and the counts per
status that the status tabs show. What "open" and "overdue" mean is the lifecycle's
(`tickets.lifecycle.OPEN`); an open ticket's deadline is its acknowledgement deadline until it is
acknowledged, then its resolution deadline (`_deadline`, `_overdue` and `late_by` say so alike).

Three queries for a page (a fourth here and there, below). SQLite answers the usual filters
(a status tab, category, channel, building, period, overdue) from the indexes of migrations
0004/0006 in well under 0.2 s at a million tickets; the assignee and the priority are in no
index, and a filter on either reads the whole table (seconds at a million).

- the counts: one GROUP BY status, for the filter without its statuses. The total of the filter
  itself is their sum over the wanted statuses, so it costs no query of its own, and a page
  beyond the last is known to be empty without asking.
- the page's ids: ORDER BY … LIMIT/OFFSET over the tickets table alone (no joins), the id
  breaking ties. "due" orders the open tickets before the others: the counts say how many open
  ones match, so each part is read by a query of its own, ordered by the deadline alone (only
  the open statuses' range of ix_tickets_open_due is sorted, not every ticket), and a page that
  straddles the two takes the end of one and the start of the other.
- the page's tickets by id, with their resident and assignee (joined, as the model says) and
  without their events and attachments (raiseload: a queue row shows neither).

"updated" orders by each ticket's latest event (the highest event id: events are recorded as
they happen). Sorting the matching tickets by it costs an index lookup per ticket, well over a
second for a million; for a broad filter the page is found instead by reading the events from
the latest back and keeping each ticket's latest one that matches (`_walk_pays` decides).

A search is a substring search (LIKE, with the user's % and _ escaped) of several columns at
once: no index serves it. The counts and the page each evaluate it in one scan of the tickets
table (`_search`), about 0.3 s apiece at a million on SQLite; SQLite folds the case of ASCII
letters only.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import QueryableAttribute, aliased, raiseload

from storage.models import Resident, Ticket, TicketEvent, Unit
from tickets.lifecycle import OPEN, Status

PER_PAGE_MAX = 200
PHONE_DIGITS_MIN = 4  # fewer digits than this in a search match no phone number
_OPEN = sorted(OPEN)  # the same SQL each time: one cached statement
EVENTS_PER_TICKET = 3  # about, for `_walk_pays`


class QueueSort(StrEnum):
    NEWEST = "newest"  # created latest first
    OLDEST = "oldest"
    DUE = "due"  # open tickets first, the soonest deadline first; then the others, alike
    UPDATED = "updated"  # the latest event first


@dataclass(frozen=True)
class QueueFilter:
    statuses: tuple[str, ...] = ()  # empty: all
    category: str | None = None  # category_code
    building_id: int | None = None  # the building of the ticket's unit
    priority: str | None = None
    assignee_id: int | None = None
    unassigned: bool = False  # only the tickets nobody is assigned to
    channel: str | None = None
    created_from: datetime | None = None  # inclusive, aware UTC
    created_to: datetime | None = None  # exclusive
    overdue: bool = False  # open and past its deadline at `now`
    # a ticket number or its beginning, or part of the description or of the complainant's
    # name, or (from PHONE_DIGITS_MIN digits on, however written) of their phone number
    search: str = ""
    sort: QueueSort = QueueSort.NEWEST
    page: int = 0  # 0-based
    per_page: int = 50  # 1..PER_PAGE_MAX

    def clamped(self) -> QueueFilter:
        """The same filter with its page and page size in range."""
        return replace(self, page=max(self.page, 0),
                       per_page=min(max(self.per_page, 1), PER_PAGE_MAX))


@dataclass(frozen=True)
class QueueRow:
    ticket: Ticket
    late_by: timedelta | None  # how late at `now`, when open and overdue


@dataclass(frozen=True)
class QueuePage:
    rows: list[QueueRow]
    total: int  # the tickets matching the filter, on all pages
    pages: int  # 0 when nothing matches
    # per status (every status, 0 included): the tickets matching the filter without its
    # statuses, for the status tabs
    counts: dict[str, int]
    filter: QueueFilter  # as applied: page and page size clamped


def open_deadline(ticket: Ticket) -> datetime | None:
    """The deadline an open ticket works to now: acknowledging it, then resolving it."""
    if ticket.status not in OPEN:
        return None
    return ticket.ack_due_at if ticket.acknowledged_at is None else ticket.resolve_due_at


def late_by(ticket: Ticket, now: datetime) -> timedelta | None:
    """How late an open ticket is at `now` (None: not open, or not late)."""
    due = open_deadline(ticket)
    return now - due if due is not None and due < now else None


def _deadline() -> ColumnElement[datetime]:
    return case((Ticket.acknowledged_at.is_(None), Ticket.ack_due_at),
                else_=Ticket.resolve_due_at)


def _overdue(now: datetime) -> ColumnElement[bool]:
    # spelled out rather than `_deadline() < now`: each part is a plain range of
    # ix_tickets_open_due (status, resolve_due_at, acknowledged_at, ack_due_at)
    return and_(Ticket.status.in_(_OPEN), or_(
        and_(Ticket.acknowledged_at.is_not(None), Ticket.resolve_due_at < now),
        and_(Ticket.acknowledged_at.is_(None), Ticket.ack_due_at < now)))


def _search(text: str, postgres: bool, fenced: bool) -> ColumnElement[bool]:
    """Tickets whose number begins with `text`, or whose description or complainant's name
    holds it, or whose complainant's phone number holds its digits."""
    # PostgreSQL's LIKE minds case; SQLite's does not (for ASCII letters), and lower() on every
    # row would cost it more than the rest of the search
    def holds(column: QueryableAttribute[Any], part: str) -> ColumnElement[bool]:
        return column.icontains(part, autoescape=True) if postgres else column.contains(
            part, autoescape=True)

    t = aliased(Ticket)
    number = (t.number.istartswith(text, autoescape=True) if postgres
              else t.number.startswith(text, autoescape=True))
    of_ticket = [number, holds(t.description, text), holds(t.contact_name, text)]
    of_resident = [holds(Resident.name, text)]
    digits = re.sub(r"\D", "", text)
    if len(digits) >= PHONE_DIGITS_MIN:
        # phones are stored as normalize_phone left them, "+" and digits (tickets.policy)
        of_ticket.append(t.contact_phone.contains(digits))
        of_resident.append(Resident.phone.contains(digits))
    # The residents are few: their matching ids are found once. The tickets are searched by
    # a query of their own, answered by one scan of the table: a condition beside the others,
    # it would be checked in the order of whichever index the rest or the sort chose, looking
    # each row up (several times slower on SQLite). PostgreSQL merges such a query into the
    # rest, and expecting half the tickets to match, walks the sort's index for the page
    # even when one matches (6 s at a million): `fenced` (the page) keeps it apart with an
    # OFFSET, which also costs it its parallel scan, so the counts go without.
    matching = select(t.id).where(or_(
        *of_ticket, t.resident_id.in_(select(Resident.id).where(or_(*of_resident)))))
    return Ticket.id.in_(matching.offset(0) if fenced else matching)


def _conditions(wanted: QueueFilter, now: datetime, postgres: bool, *, fenced: bool = False
                ) -> list[ColumnElement[bool]]:
    """The filter's conditions, except its statuses."""
    t = Ticket
    found: list[ColumnElement[bool]] = []
    if wanted.category is not None:
        found.append(t.category_code == wanted.category)
    if wanted.building_id is not None:
        found.append(t.unit_id.in_(select(Unit.id).where(Unit.building_id == wanted.building_id)))
    if wanted.priority is not None:
        found.append(t.priority == wanted.priority)
    if wanted.unassigned:
        found.append(t.assignee_id.is_(None))
    if wanted.assignee_id is not None:
        found.append(t.assignee_id == wanted.assignee_id)
    if wanted.channel is not None:
        found.append(t.channel == wanted.channel)
    if wanted.created_from is not None:
        found.append(t.created_at >= wanted.created_from)
    if wanted.created_to is not None:
        found.append(t.created_at < wanted.created_to)
    if wanted.overdue:
        found.append(_overdue(now))
    if wanted.search.strip():
        found.append(_search(wanted.search.strip(), postgres, fenced))
    return found


def _walk_pays(total: int, tickets: int, end: int) -> bool:
    """Whether reading the events from the latest back finds the first `end` of `total`
    matching tickets (of `tickets` in all) sooner than sorting the matching tickets by their
    latest event: it reads about end × tickets / total tickets' events, the sort looks up
    `total` tickets' latest events."""
    return end * tickets * EVENTS_PER_TICKET < total * total


def _by_latest_event(conditions: Sequence[ColumnElement[bool]]) -> Select[int]:
    """The matching tickets, by their latest event (those without any last)."""
    event = aliased(TicketEvent)
    latest = select(func.max(event.id)).where(event.ticket_id == Ticket.id).scalar_subquery()
    return (select(Ticket.id).where(*conditions)
            .order_by(latest.desc().nulls_last(), Ticket.id.desc()))


def _walking_events(conditions: Sequence[ColumnElement[bool]]) -> Select[int]:
    """The same order, from the events: each matching ticket at its latest event (the events'
    primary key read backwards; each event's ticket and later events looked up by index)."""
    event, later = aliased(TicketEvent), aliased(TicketEvent)
    latest = ~select(later.id).where(later.ticket_id == event.ticket_id,
                                     later.id > event.id).exists()
    matching = select(Ticket.id).where(Ticket.id == event.ticket_id, *conditions).exists()
    return select(event.ticket_id).where(latest, matching).order_by(event.id.desc())


def _ordered(sort: QueueSort, conditions: Sequence[ColumnElement[bool]]) -> Select[int]:
    query = select(Ticket.id).where(*conditions)
    match sort:
        case QueueSort.NEWEST:
            return query.order_by(Ticket.created_at.desc(), Ticket.id.desc())
        case QueueSort.OLDEST:
            return query.order_by(Ticket.created_at, Ticket.id)
        case QueueSort.DUE:
            return query.order_by(_deadline(), Ticket.id)
        case QueueSort.UPDATED:
            return _by_latest_event(conditions)


async def _ids(session: AsyncSession, query: Select[int], offset: int, limit: int
               ) -> list[int]:
    return [int(id_) for id_ in await session.scalars(query.offset(offset).limit(limit))]


async def _page_ids(session: AsyncSession, wanted: QueueFilter,
                    conditions: list[ColumnElement[bool]], shown: dict[str, int]) -> list[int]:
    """The ids of the page's tickets, in order; `shown`: how many match, per status."""
    total, offset, limit = sum(shown.values()), wanted.page * wanted.per_page, wanted.per_page
    statuses = [Ticket.status.in_(sorted(wanted.statuses))] if wanted.statuses else []
    if wanted.sort == QueueSort.DUE:
        # the open tickets first, then the others: two parts, each in deadline order
        ids: list[int] = []
        for part in ([s for s in shown if s in OPEN], [s for s in shown if s not in OPEN]):
            size = sum(shown[s] for s in part)
            if offset < size and len(ids) < limit:
                ids += await _ids(session, _ordered(QueueSort.DUE, [
                    *conditions, Ticket.status.in_(sorted(part))]), offset, limit - len(ids))
            offset = max(offset - size, 0)
        return ids
    conditions = [*conditions, *statuses]
    if wanted.sort == QueueSort.UPDATED:
        tickets = int(await session.scalar(select(func.max(Ticket.id))) or 0)
        if _walk_pays(total, tickets, offset + limit):
            ids = await _ids(session, _walking_events(conditions), offset, limit)
            if len(ids) == limit or offset + len(ids) == total:
                return ids
            # some match but have no event (the service records one with every ticket): they
            # come last, and only the sort knows where
    return await _ids(session, _ordered(wanted.sort, conditions), offset, limit)


async def queue(session: AsyncSession, wanted: QueueFilter, now: datetime) -> QueuePage:
    """The page of tickets `wanted` asks for, as the office sees it at `now` (aware)."""
    wanted = wanted.clamped()
    postgres = session.get_bind().dialect.name == "postgresql"
    found = await session.execute(select(Ticket.status, func.count())
                                  .where(*_conditions(wanted, now, postgres))
                                  .group_by(Ticket.status))
    counts = {str(status): 0 for status in Status} | {str(s): int(n) for s, n in found.all()}
    shown = {s: n for s, n in counts.items()
             if n and (not wanted.statuses or s in wanted.statuses)}
    total = sum(shown.values())
    pages = math.ceil(total / wanted.per_page)
    if wanted.page >= pages:
        return QueuePage([], total, pages, counts, wanted)
    ids = await _page_ids(session, wanted, _conditions(wanted, now, postgres, fenced=True),
                          shown)
    tickets = {ticket.id: ticket for ticket in (await session.scalars(
        select(Ticket).where(Ticket.id.in_(ids))
        .options(raiseload(Ticket.events), raiseload(Ticket.attachments)))).unique()}
    return QueuePage([QueueRow(tickets[id_], late_by(tickets[id_], now)) for id_ in ids],
                     total, pages, counts, wanted)
