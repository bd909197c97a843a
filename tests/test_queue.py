"""The office console's queue (storage/queue.py) on a known set of tickets, on SQLite and
PostgreSQL: which tickets a filter shows, in which order, on which page, and the status tabs'
counts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, select
from sqlalchemy.exc import InvalidRequestError

import storage.queue
from storage.db import Database
from storage.models import Building, Resident, Staff, Ticket, Unit
from storage.queue import QueueFilter, QueuePage, QueueSort, queue
from tickets.inputs import Intake, Submission
from tickets.service import TicketService

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
H = timedelta(hours=1)
D = timedelta(days=1)


def nov(day: int) -> datetime:
    return datetime(2026, 11, day, tzinfo=UTC)


@dataclass(frozen=True)
class Row:
    created: datetime
    who: str  # a resident's name, or "intake" (Chen Jie, by phone, no unit)
    category: str
    description: str
    status: str
    assignee: str | None = None
    priority: str = "normal"
    channel: str = "telegram"
    acknowledged: bool = True
    ack_due: datetime = datetime(2026, 11, 1, tzinfo=UTC)
    resolve_due: datetime = datetime(2026, 11, 2, tzinfo=UTC)


# Overdue at NOW: t2 (not acknowledged, 2 h past its acknowledgement deadline), t3 (a day past
# its resolution deadline), october (reopened, 3 h past). t4 is past its acknowledgement
# deadline but acknowledged, and its resolution is due tomorrow; t1 and t5 are not open.
TICKETS = {
    "october": Row(datetime(2026, 10, 20, tzinfo=UTC), "Li Lei", "other",
                   "Gate code forgotten", "reopened", resolve_due=NOW - 3 * H),
    "t1": Row(nov(1), "Wang Fang", "water", "Leak under the kitchen sink", "closed", "Zhao"),
    "t2": Row(nov(5), "Li Lei", "noise", "Drilling at night, 100% of the nights", "new",
              priority="urgent", acknowledged=False, ack_due=NOW - 2 * H,
              resolve_due=NOW + 3 * D),
    "t3": Row(nov(10), "Wang Fang", "water", "Water pressure is low_ish upstairs",
              "investigating", "Zhao", resolve_due=NOW - D),
    "t4": Row(nov(15), "intake", "facility", "Broken lift button", "acknowledged", "Qian",
              channel="hotline", ack_due=nov(14), resolve_due=NOW + D),
    "t5": Row(nov(20), "Li Lei", "electricity", "Corridor light flickers", "resolved", "Qian",
              resolve_due=nov(21)),
    "t6": Row(nov(25), "Wang Fang", "noise", "Barking dog in 12-3", "new", channel="email",
              acknowledged=False, ack_due=NOW + H, resolve_due=NOW + 2 * D),
}
# the notes added after all tickets are in, oldest first: the queue's "updated" order
NOTES = ("t4", "t1", "t2")


async def seed(db: Database) -> dict[str, str]:
    """The tickets above, through the ticket service; their numbers by label."""
    numbers: dict[str, str] = {}
    async with db.transaction() as session:
        buildings = {name: Building(name=name) for name in ("A", "B")}
        units = {name: Unit(building=b, number="101", floor="1") for name, b in buildings.items()}
        staff = {name: Staff(telegram_user_id=100 + i, name=name, role="agent")
                 for i, name in enumerate(("Zhao", "Qian"))}
        session.add_all([*units.values(), *staff.values()])
        await session.flush()
        residents = {
            "Wang Fang": Resident(telegram_user_id=1, chat_id=1, name="Wang Fang",
                                  phone="+8613800138000", unit=units["A"], language="en"),
            "Li Lei": Resident(telegram_user_id=2, chat_id=2, name="Li Lei",
                               phone="+8613911112222", unit=units["B"], language="en")}
        session.add_all(residents.values())
        await session.flush()
        service = TicketService(session)
        for label, row in TICKETS.items():
            if row.who == "intake":
                ticket, _ = await service.take_intake(staff["Qian"], Intake(
                    key=label, name="Chen Jie", phone="+86 137 0000 1111", unit="Lot 7",
                    category=row.category, description=row.description,
                    channel=row.channel))
                # the office takes a call now; this one is dated (and numbered) as listed
                ticket.created_at = row.created
                ticket.number = f"{row.created:%y%m}-{ticket.id:04d}"
            else:
                ticket, _ = await service.submit(residents[row.who], Submission(
                    key=label, category=row.category, description=row.description,
                    priority=row.priority), now=row.created)
            ticket.status, ticket.channel = row.status, row.channel
            ticket.assignee_id = staff[row.assignee].id if row.assignee else None
            ticket.acknowledged_at = row.created + H if row.acknowledged else None
            ticket.ack_due_at, ticket.resolve_due_at = row.ack_due, row.resolve_due
            assert ticket.number is not None
            numbers[label] = ticket.number
        tickets = {label: await service.tickets.by_number(number)
                   for label, number in numbers.items()}
        for label in NOTES:
            found = tickets[label]
            assert found is not None
            await service.add_note(found, staff["Zhao"], "called back")
    return numbers


@pytest.fixture
async def numbers(db: Database) -> dict[str, str]:
    return await seed(db)


async def shown(db: Database, wanted: QueueFilter) -> QueuePage:
    async with db.reading() as session:
        return await queue(session, wanted, NOW)


def labels(page: QueuePage, numbers: dict[str, str]) -> list[str]:
    """The page's tickets by their labels in TICKETS, in the queue's order."""
    by_number = {number: label for label, number in numbers.items()}
    return [by_number[str(row.ticket.number)] for row in page.rows]


async def see(db: Database, numbers: dict[str, str], **wanted: Any) -> list[str]:
    return labels(await shown(db, QueueFilter(**wanted)), numbers)


NEWEST_FIRST = ["t6", "t5", "t4", "t3", "t2", "t1", "october"]


async def test_without_a_filter_every_ticket_newest_first(db: Database,
                                                          numbers: dict[str, str]) -> None:
    page = await shown(db, QueueFilter())
    assert labels(page, numbers) == NEWEST_FIRST
    assert (page.total, page.pages) == (7, 1)
    row = page.rows[0]  # t6: what a row shows comes with it
    assert row.ticket.complainant == "Wang Fang" and row.ticket.phone == "+8613800138000"
    assert row.ticket.unit_text == "A-101" and row.ticket.assignee is None
    assert page.rows[2].ticket.complainant == "Chen Jie"
    assert page.rows[2].ticket.assignee is not None
    assert page.rows[2].ticket.assignee.name == "Qian"
    with pytest.raises(InvalidRequestError):  # not loaded for a queue row, and not loadable
        _ = row.ticket.events
    with pytest.raises(InvalidRequestError):
        _ = row.ticket.attachments


@pytest.mark.parametrize(("wanted", "expected"), [
    ({"statuses": ("new",)}, ["t6", "t2"]),
    ({"statuses": ("investigating", "acknowledged")}, ["t4", "t3"]),
    ({"category": "water"}, ["t3", "t1"]),
    ({"priority": "urgent"}, ["t2"]),
    ({"unassigned": True}, ["t6", "t2", "october"]),
    ({"channel": "hotline"}, ["t4"]),
    ({"channel": "email"}, ["t6"]),
    # from midnight of Nov 10 (t3's very moment) up to, not including, Nov 20 (t5's)
    ({"created_from": datetime(2026, 11, 10, tzinfo=UTC),
      "created_to": datetime(2026, 11, 20, tzinfo=UTC)}, ["t4", "t3"]),
    ({"created_to": datetime(2026, 11, 1, tzinfo=UTC)}, ["october"]),
    ({"overdue": True}, ["t3", "t2", "october"]),
])
async def test_each_filter_alone(db: Database, numbers: dict[str, str],
                                 wanted: dict[str, Any], expected: list[str]) -> None:
    assert await see(db, numbers, **wanted) == expected


async def test_by_building_and_assignee(db: Database, numbers: dict[str, str]) -> None:
    async with db.reading() as session:
        building = {name: id_ for name, id_ in await session.execute(
            select(Building.name, Building.id))}
        staff = {name: id_ for name, id_ in await session.execute(select(Staff.name, Staff.id))}
    assert await see(db, numbers, building_id=building["A"]) == ["t6", "t3", "t1"]
    assert await see(db, numbers, building_id=building["B"]) == ["t5", "t2", "october"]
    assert await see(db, numbers, assignee_id=staff["Zhao"]) == ["t3", "t1"]
    assert await see(db, numbers, assignee_id=staff["Qian"]) == ["t5", "t4"]
    # two filters at once: both hold
    assert await see(db, numbers, building_id=building["A"], overdue=True) == ["t3"]
    assert await see(db, numbers, assignee_id=staff["Qian"],
                     statuses=("acknowledged", "new")) == ["t4"]


async def test_two_filters_combined(db: Database, numbers: dict[str, str]) -> None:
    assert await see(db, numbers, category="noise", statuses=("new",)) == ["t6", "t2"]
    assert await see(db, numbers, category="noise", overdue=True) == ["t2"]
    assert await see(db, numbers, category="water", priority="urgent") == []
    assert await see(db, numbers, unassigned=True, search="li lei") == ["t2", "october"]


async def test_overdue_rows_say_how_late(db: Database, numbers: dict[str, str]) -> None:
    page = await shown(db, QueueFilter(overdue=True))
    assert [(label, row.late_by) for label, row in zip(labels(page, numbers), page.rows,
                                                        strict=True)] == [
        ("t3", D), ("t2", 2 * H), ("october", 3 * H)]
    # in the whole queue only those are late: closed and resolved tickets past their deadlines,
    # and t4, past its acknowledgement deadline but acknowledged, are not
    page = await shown(db, QueueFilter())
    late = {label: row.late_by for label, row in zip(labels(page, numbers), page.rows,
                                                      strict=True) if row.late_by}
    assert late == {"t3": D, "t2": 2 * H, "october": 3 * H}


@pytest.mark.parametrize(("sort", "expected"), [
    (QueueSort.NEWEST, NEWEST_FIRST),
    (QueueSort.OLDEST, NEWEST_FIRST[::-1]),
    # open tickets by their deadline (t4 and t6 not late yet), then the others
    (QueueSort.DUE, ["t3", "october", "t2", "t6", "t4", "t1", "t5"]),
    # the notes (t4, then t1, then t2), then the tickets' creation, latest first
    (QueueSort.UPDATED, ["t2", "t1", "t4", "t6", "t5", "t3", "october"]),  # both ways: below
])
async def test_sort_orders(db: Database, numbers: dict[str, str], sort: QueueSort,
                           expected: list[str]) -> None:
    assert await see(db, numbers, sort=sort) == expected


async def test_sorting_a_filtered_queue(db: Database, numbers: dict[str, str]) -> None:
    assert await see(db, numbers, statuses=("new",), sort=QueueSort.DUE) == ["t2", "t6"]
    assert await see(db, numbers, category="water", sort=QueueSort.UPDATED) == ["t1", "t3"]


@pytest.mark.parametrize(("search", "expected"), [
    # a ticket number, whole or any part of it
    ("{t3}", ["t3"]),
    ("2611-", ["t6", "t5", "t4", "t3", "t2", "t1"]),
    ("2610", ["october"]),
    ("{t3_end}", ["t3"]),
    # the description, any case
    ("KITCHEN", ["t1"]),
    ("lift", ["t4"]),
    # the resident's name, the name taken by phone
    ("wang", ["t6", "t3", "t1"]),
    ("chen j", ["t4"]),
    # phone digits however written, a resident's or the one taken by phone
    ("+86 138 0013 8000", ["t6", "t3", "t1"]),
    ("138-0013", ["t6", "t3", "t1"]),
    ("13700001111", ["t4"]),
    ("1111", ["t5", "t4", "t2", "october"]),  # Chen Jie's …1111, Li Lei's …1111 2222
    ("+86", []),  # too few digits to look for a phone number
    # the user's % and _ are letters, not wildcards
    ("100%", ["t2"]),
    ("%", ["t2"]),
    ("_", ["t3"]),
    ("low_ish", ["t3"]),
    ("l_w", []),
    # nothing to look for: no search
    ("   ", NEWEST_FIRST),
])
async def test_search(db: Database, numbers: dict[str, str], search: str,
                      expected: list[str], answered: str) -> None:
    """The same tickets whether the search is answered from the trigram index (its matches
    are few) or row by row (they are many: here, more than one)."""
    text = search.format(**numbers, t3_end=numbers["t3"].split("-")[1])
    assert await see(db, numbers, search=text) == expected


@pytest.fixture(params=["from the index", "row by row"])
def answered(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "row by row":
        monkeypatch.setattr(storage.queue, "COUNT_CAP", 1)
    return str(request.param)


async def test_a_search_matching_many_counts_up_to_the_cap(
        db: Database, numbers: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """On SQLite a status's count stops at the cap (here 1: "new" holds t6 and t2) and says
    "at least"; PostgreSQL counts exactly. The pages go on to the last ticket either way."""
    monkeypatch.setattr(storage.queue, "COUNT_CAP", 1)
    page = await shown(db, QueueFilter(search="2611-", per_page=1))
    if db.is_sqlite:
        assert (page.at_least, page.more, page.counts["new"]) == (frozenset({"new"}), True, 1)
        assert (page.total, page.pages) == (5, 5)
    else:
        assert (page.at_least, page.more, page.counts["new"]) == (frozenset(), False, 2)
        assert (page.total, page.pages) == (6, 6)
    pages = [labels(await shown(db, QueueFilter(search="2611-", per_page=1, page=p)), numbers)
             for p in range(7)]
    assert pages == [["t6"], ["t5"], ["t4"], ["t3"], ["t2"], ["t1"], []]
    due = [labels(await shown(db, QueueFilter(search="2611-", per_page=2, page=p,
                                              sort=QueueSort.DUE)), numbers) for p in range(4)]
    whole = await see(db, numbers, search="2611-", sort=QueueSort.DUE)
    assert [label for page in due for label in page] == whole


async def test_search_folds_case_in_every_script(db: Database, answered: str) -> None:
    async with db.transaction() as session:
        resident = Resident(telegram_user_id=1, chat_id=1, name="Иван Петров",
                            phone="+79161234567", unit_text="1-1", language="ru")
        session.add(resident)
        await session.flush()
        service = TicketService(session)
        for key, text in (("ru", "Вода течёт с потолка"), ("de", "ÄRGER mit dem Aufzug")):
            await service.submit(resident, Submission(key=key, category="water",
                                                      description=text), now=NOW)
    for search, found in (("вода", 1), ("ТЕЧЁТ", 1), ("ärger", 1), ("иван", 2),
                          ("ПЕТРОВ", 2), ("воды", 0)):
        page = await shown(db, QueueFilter(search=search))
        assert len(page.rows) == found, search


def a_resident() -> Resident:
    return Resident(telegram_user_id=1, chat_id=1, name="Wang", phone="+8613800138000",
                    unit_text="1-1", language="en")


async def test_an_edited_description_is_searched_as_it_now_reads(db: Database) -> None:
    async with db.transaction() as session:
        resident = a_resident()
        session.add(resident)
        await session.flush()
        ticket, _ = await TicketService(session).submit(resident, Submission(
            key="k", category="water", description="Leak in the hallway"), now=NOW)
        ticket_id = ticket.id
    async with db.transaction() as session:
        edited = await session.get(Ticket, ticket_id)
        assert edited is not None
        edited.description = "Mould behind the wardrobe"
    assert (await shown(db, QueueFilter(search="hallway"))).total == 0
    assert (await shown(db, QueueFilter(search="wardrobe"))).total == 1
    async with db.transaction() as session:  # as an erasure would: its rows, then itself
        for table in reversed(Ticket.metadata.sorted_tables):
            if "ticket_id" in table.c:
                await session.execute(delete(table).where(table.c.ticket_id == ticket_id))
        await session.execute(delete(Ticket).where(Ticket.id == ticket_id))
    assert (await shown(db, QueueFilter(search="wardrobe"))).total == 0


async def test_pages(db: Database, numbers: dict[str, str]) -> None:
    pages = [await shown(db, QueueFilter(page=p, per_page=3)) for p in range(4)]
    assert [labels(page, numbers) for page in pages] == [
        ["t6", "t5", "t4"], ["t3", "t2", "t1"], ["october"], []]
    assert {(page.total, page.pages) for page in pages} == {(7, 3)}
    beyond = await shown(db, QueueFilter(page=50, per_page=3, statuses=("new",)))
    assert (beyond.rows, beyond.total, beyond.pages) == ([], 2, 1)
    # out of range: the first page, and between 1 and 200 tickets a page
    first = await shown(db, QueueFilter(page=-2, per_page=0))
    assert labels(first, numbers) == ["t6"] and (first.total, first.pages) == (7, 7)
    assert (first.filter.page, first.filter.per_page) == (0, 1)
    assert (await shown(db, QueueFilter(per_page=10_000))).filter.per_page == 200


async def test_nothing_matches(db: Database, numbers: dict[str, str]) -> None:
    page = await shown(db, QueueFilter(search="no such thing"))
    assert (page.rows, page.total, page.pages) == ([], 0, 0)
    assert set(page.counts.values()) == {0}


async def test_counts_per_status_leave_the_status_filter_out(db: Database,
                                                             numbers: dict[str, str]) -> None:
    everything = {"new": 2, "acknowledged": 1, "investigating": 1, "waiting_for_resident": 0,
                  "resolving": 0, "resolved": 1, "closed": 1, "reopened": 1, "rejected": 0,
                  "withdrawn": 0}
    page = await shown(db, QueueFilter(statuses=("new",)))
    assert page.counts == everything and page.total == 2
    # the other filters do apply
    page = await shown(db, QueueFilter(statuses=("closed", "new"), search="wang"))
    assert labels(page, numbers) == ["t6", "t1"] and page.total == 2
    assert {s: n for s, n in page.counts.items() if n} == {"new": 1, "investigating": 1,
                                                           "closed": 1}
    page = await shown(db, QueueFilter(statuses=("resolved",), overdue=True))
    assert page.total == 0 and page.rows == []
    assert {s: n for s, n in page.counts.items() if n} == {"new": 1, "investigating": 1,
                                                           "reopened": 1}


async def test_ties_are_broken_by_id(db: Database) -> None:
    """Tickets made at the same moment keep one order, so paging shows each once."""
    async with db.transaction() as session:
        resident = a_resident()
        session.add(resident)
        await session.flush()
        service = TicketService(session)
        made = [(await service.submit(resident, Submission(f"k{i}", "water", "Same moment"),
                                      now=nov(3)))[0].number for i in range(5)]
    for sort, expected in ((QueueSort.NEWEST, made[::-1]), (QueueSort.OLDEST, made),
                           (QueueSort.DUE, made), (QueueSort.UPDATED, made[::-1])):
        seen = [row.ticket.number for page in range(3)
                for row in (await shown(db, QueueFilter(sort=sort, page=page, per_page=2))).rows]
        assert seen == expected, sort


@pytest.fixture(params=["sorted", "walked"])
def updated_plan(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """"updated" is answered by one of two queries, by the size of the result (queue's
    `_walk_pays`): each must give the same pages."""
    import storage.queue

    walked = request.param == "walked"
    monkeypatch.setattr(storage.queue, "_walk_pays", lambda *_: walked)
    return str(request.param)


async def test_updated_either_way(db: Database, numbers: dict[str, str],
                                  updated_plan: str) -> None:
    updated = ["t2", "t1", "t4", "t6", "t5", "t3", "october"]
    assert await see(db, numbers, sort=QueueSort.UPDATED) == updated
    assert await see(db, numbers, sort=QueueSort.UPDATED, category="water") == ["t1", "t3"]
    assert await see(db, numbers, sort=QueueSort.UPDATED, search="wang",
                     statuses=("new", "closed")) == ["t1", "t6"]
    assert [await see(db, numbers, sort=QueueSort.UPDATED, page=p, per_page=3)
            for p in range(3)] == [updated[:3], updated[3:6], updated[6:]]
    # a ticket without events (the service records one with every ticket) still shows, last
    async with db.transaction() as session:
        session.add(Ticket(number="2611-9999", submission_key="bare", category_code="other",
                           description="Imported", status="new", created_at=nov(28),
                           ack_due_at=NOW + D, resolve_due_at=NOW + 2 * D))
    numbers = {**numbers, "bare": "2611-9999"}
    assert await see(db, numbers, sort=QueueSort.UPDATED) == [*updated, "bare"]
    assert await see(db, numbers, sort=QueueSort.UPDATED, page=2, per_page=3) == [
        "october", "bare"]
    assert await see(db, numbers, sort=QueueSort.UPDATED, page=7, per_page=1) == ["bare"]
    assert await see(db, numbers, sort=QueueSort.UPDATED, statuses=("new",)) == [
        "t2", "t6", "bare"]


async def test_due_pages_run_from_the_open_tickets_into_the_others(
        db: Database, numbers: dict[str, str]) -> None:
    assert [await see(db, numbers, sort=QueueSort.DUE, page=p, per_page=3)
            for p in range(4)] == [["t3", "october", "t2"], ["t6", "t4", "t1"], ["t5"], []]
    assert await see(db, numbers, sort=QueueSort.DUE, page=1, per_page=4) == ["t4", "t1",
                                                                              "t5"]
    assert await see(db, numbers, sort=QueueSort.DUE, statuses=("closed", "new")) == [
        "t2", "t6", "t1"]
