"""The office console's ticket queue: one filtered, sorted page of tickets, and the counts per
status that the status tabs show. What "open" and "overdue" mean is the lifecycle's
(`tickets.lifecycle.OPEN`); an open ticket's deadline is its acknowledgement deadline until it is
acknowledged, then its resolution deadline (`_deadline`, `_overdue` and `late_by` say so alike).

Three queries for a page (a few more for a search, below). SQLite answers the usual filters
(a status tab, category, channel, building, period, overdue, assignee, urgency) from the
indexes of migrations 0004/0006/0009 in well under 0.2 s at a million tickets.

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

A search looks for its text in any part of the ticket's number, description or complainant's
name, and for its digits in their phone number (`_row_search` says it as SQL). On SQLite the
trigram index of migration 0011 (storage/search.py) finds the matches of text of three
characters or more; when it and the residents' table say they are few (COUNT_CAP at most),
the counts and the page read just those tickets. When they are many, reading them all would
cost most of a second at a million: the search is checked row by row instead (a row's read,
~4 µs, each), each status's count stops at COUNT_CAP ("1000+"), and the page is found by
walking the sort's order, where matches are many, soon. Text of one or two characters is
always checked row by row.
PostgreSQL plans the search with its own trigram index (pg_trgm) and counts exactly.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, or_, select, union
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import QueryableAttribute, aliased, raiseload
from sqlalchemy.orm.util import AliasedClass

from storage import search
from storage.models import Resident, Ticket, TicketEvent, Unit
from tickets.lifecycle import CLOCK_RUNNING, OPEN, Status

PER_PAGE_MAX = 200
COUNT_CAP = 1_000  # a search matching more tickets of a status than this: shown as "1000+"
PHONE_DIGITS_MIN = 4  # fewer digits than this in a search match no phone number
_OPEN = sorted(OPEN)  # the same SQL each time: one cached statement
_CLOCK_RUNNING = sorted(CLOCK_RUNNING)
_STATUSES = sorted(Status)
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
    # part of a ticket number, of the description or of the complainant's name, or (from
    # PHONE_DIGITS_MIN digits on, however written) of their phone number
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
    # the statuses whose count is COUNT_CAP and more (a search matching many), and whether
    # `total` and `pages` are therefore "at least"
    at_least: frozenset[str] = frozenset()
    more: bool = False


def open_deadline(ticket: Ticket) -> datetime | None:
    """The deadline an open ticket works to now: acknowledging it, then resolving it (None
    while it waits for the resident: that clock stands still)."""
    if ticket.status not in CLOCK_RUNNING:
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
    return and_(Ticket.status.in_(_CLOCK_RUNNING), or_(
        and_(Ticket.acknowledged_at.is_not(None), Ticket.resolve_due_at < now),
        and_(Ticket.acknowledged_at.is_(None), Ticket.ack_due_at < now)))


def _phone_digits(text: str) -> str | None:
    digits = re.sub(r"\D", "", text)
    return digits if len(digits) >= PHONE_DIGITS_MIN else None


def _escaped(text: str) -> str:
    return text.replace("/", "//").replace("%", "/%").replace("_", "/_")


def _holds(column: QueryableAttribute[Any], text: str, postgres: bool) -> ColumnElement[bool]:
    # ILIKE, not lower() LIKE lower(): the trigram index serves the column as it is
    return (column.ilike(f"%{_escaped(text)}%", escape="/") if postgres
            else search.holds(column, text))


def _residents(text: str, digits: str | None, postgres: bool) -> Select[int]:
    """The residents whose name holds `text` or whose phone holds its digits (they are few)."""
    found = [_holds(Resident.name, text, postgres)]
    if digits:
        # phones are stored as normalize_phone left them, "+" and digits (tickets.policy)
        found.append(Resident.phone.contains(digits))
    return select(Resident.id).where(or_(*found))


def _row_search(t: type[Ticket] | AliasedClass[Ticket], text: str, postgres: bool
                ) -> ColumnElement[bool]:
    """The search as a condition on each ticket's row."""
    digits = _phone_digits(text)
    found = [_holds(t.number, text, postgres), _holds(t.description, text, postgres),
             _holds(t.contact_name, text, postgres)]
    if digits:
        found.append(t.contact_phone.contains(digits))
    return or_(*found, t.resident_id.in_(_residents(text, digits, postgres)))


@dataclass(frozen=True)
class _Search:
    """How a search's tickets are found: `counted` for the counts, `paged` for the page;
    `capped`: each status's count stops at COUNT_CAP."""
    counted: ColumnElement[bool]
    paged: ColumnElement[bool]
    capped: bool = False


async def _at_most(session: AsyncSession, query: Select[Any], most: int) -> int:
    """How many rows `query` has, counted up to `most` + 1."""
    counted = select(func.count()).select_from(query.limit(most + 1).subquery())
    return int(await session.scalar(counted) or 0)


async def _sqlite_search(session: AsyncSession, text: str) -> _Search:
    """Few matches (the trigram index and the residents say so, quickly): exactly these.
    Many, or text too short for the index: row by row, counted up to COUNT_CAP per status,
    the page found by walking the sort's order (where matches are many, a page is near)."""
    digits = _phone_digits(text)
    if len(text) >= search.TRIGRAM:
        indexed = select(search.ticket_search.c.rowid).where(search.matching(text, digits))
        of_residents = select(Ticket.id).where(
            Ticket.resident_id.in_(_residents(text, digits, False)))
        found = await _at_most(session, indexed, COUNT_CAP)
        if found <= COUNT_CAP and found + await _at_most(
                session, of_residents, COUNT_CAP - found) <= COUNT_CAP:
            few = Ticket.id.in_(union(indexed, of_residents))
            return _Search(few, few)
    row = _row_search(Ticket, text, False)
    return _Search(row, row, capped=True)


def _postgres_search(text: str) -> _Search:
    """PostgreSQL plans it with the trigram index itself, and counts exactly. The page's
    query keeps the search apart (an OFFSET): merged into the rest, and expecting many
    matches, PostgreSQL walks the sort's index for the page even when one matches (6 s at a
    million); the counts go without, which would cost them their parallel scan."""
    t = aliased(Ticket)
    return _Search(_row_search(Ticket, text, True),
                   Ticket.id.in_(select(t.id).where(_row_search(t, text, True)).offset(0)))


def _conditions(wanted: QueueFilter, now: datetime) -> list[ColumnElement[bool]]:
    """The filter's conditions, except its statuses and its search."""
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
                    conditions: list[ColumnElement[bool]], shown: dict[str, int],
                    at_least: frozenset[str]) -> list[int]:
    """The ids of the page's tickets, in order; `shown`: how many match, per status (or at
    least, for the statuses in `at_least`)."""
    total, offset, limit = sum(shown.values()), wanted.page * wanted.per_page, wanted.per_page
    statuses = [Ticket.status.in_(sorted(wanted.statuses))] if wanted.statuses else []
    if wanted.sort == QueueSort.DUE:
        # the open tickets first, then the others: two parts, each in deadline order
        ids: list[int] = []
        for part in ([s for s in shown if s in OPEN], [s for s in shown if s not in OPEN]):
            of_part = [*conditions, Ticket.status.in_(sorted(part))]
            size = math.inf if at_least & set(part) else sum(shown[s] for s in part)
            if offset < size and len(ids) < limit:
                wanted_here = limit - len(ids)
                found = await _ids(session, _ordered(QueueSort.DUE, of_part), offset,
                                   wanted_here)
                ids += found
                if len(found) < wanted_here and size == math.inf:
                    # a part counted "at least" ends before the page does: its true size
                    # says where the next part begins
                    size = await session.scalar(select(func.count()).where(*of_part)) or 0
            offset = int(max(offset - size, 0))
        return ids
    conditions = [*conditions, *statuses]
    if wanted.sort == QueueSort.UPDATED:
        tickets = int(await session.scalar(select(func.max(Ticket.id))) or 0)
        if _walk_pays(total, tickets, offset + limit):
            ids = await _ids(session, _walking_events(conditions), offset, limit)
            if len(ids) == limit or (offset + len(ids) == total and not at_least):
                return ids
            # some match but have no event (the service records one with every ticket): they
            # come last, and only the sort knows where
    return await _ids(session, _ordered(wanted.sort, conditions), offset, limit)


async def _counts(session: AsyncSession, conditions: list[ColumnElement[bool]], capped: bool
                  ) -> tuple[dict[str, int], frozenset[str]]:
    """The matching tickets per status (every status, 0 included), and the statuses whose
    count stopped at COUNT_CAP (`capped`: each status is counted on its own, up to it)."""
    counts = {str(status): 0 for status in Status}
    if not capped:
        # every status named: an index led by the status (and the filtered column) is then
        # read as a range per status, not whole (15× faster for a category at a million)
        found = await session.execute(select(Ticket.status, func.count())
                                      .where(Ticket.status.in_(_STATUSES), *conditions)
                                      .group_by(Ticket.status))
        return counts | {str(s): int(n) for s, n in found.all()}, frozenset()
    for status in Status:
        counts[status] = await _at_most(
            session, select(Ticket.id).where(*conditions, Ticket.status == status), COUNT_CAP)
    return ({s: min(n, COUNT_CAP) for s, n in counts.items()},
            frozenset(s for s, n in counts.items() if n > COUNT_CAP))


async def queue(session: AsyncSession, wanted: QueueFilter, now: datetime) -> QueuePage:
    """The page of tickets `wanted` asks for, as the office sees it at `now` (aware)."""
    wanted = wanted.clamped()
    conditions = _conditions(wanted, now)
    counted, paged = conditions, conditions
    capped = False
    if text := wanted.search.strip():
        found = (_postgres_search(text) if session.get_bind().dialect.name == "postgresql"
                 else await _sqlite_search(session, text))
        counted, paged = [*conditions, found.counted], [*conditions, found.paged]
        capped = found.capped
    counts, at_least = await _counts(session, counted, capped)
    shown = {s: n for s, n in counts.items()
             if n and (not wanted.statuses or s in wanted.statuses)}
    more = bool(at_least & shown.keys())
    total = sum(shown.values())
    pages = math.ceil(total / wanted.per_page)
    if wanted.page >= pages and not more:
        return QueuePage([], total, pages, counts, wanted, at_least, more)
    ids = await _page_ids(session, wanted, paged, shown, at_least & shown.keys())
    tickets = {ticket.id: ticket for ticket in (await session.scalars(
        select(Ticket).where(Ticket.id.in_(ids))
        .options(raiseload(Ticket.events), raiseload(Ticket.attachments)))).unique()}
    return QueuePage([QueueRow(tickets[id_], late_by(tickets[id_], now)) for id_ in ids],
                     total, pages, counts, wanted, at_least, more)
