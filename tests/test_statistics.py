"""Statistics on a known data set equal the values computed by hand, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from storage.db import Database
from storage.models import Building, Resident, Unit
from tickets.inputs import Submission
from tickets.service import TicketService
from tickets.statistics import compute

START = datetime(2026, 11, 1, tzinfo=UTC)
END = datetime(2026, 12, 1, tzinfo=UTC)
NOW = datetime(2026, 11, 30, tzinfo=UTC)
H = timedelta(hours=1)

# label: (day of November, hours to acknowledge, hours to resolve, status, rating, reopened,
#         cause, channel, building)
TICKETS = {
    "t1": (2, 1, 10, "closed", 5, 0, "equipment", "telegram", "A"),
    "t2": (3, 2, 20, "closed", 4, 1, "equipment", "telegram", "A"),
    "t3": (4, 3, 30, "resolved", 2, 0, "staff", "phone", "B"),
    "t4": (5, 4, None, "investigating", None, 0, None, "telegram", None),
    "t5": (6, None, None, "new", None, 0, None, "telegram", None),
    "t6": (7, None, None, "withdrawn", None, 0, None, "telegram", None),
}


async def seed(db: Database) -> dict[str, str]:
    numbers: dict[str, str] = {}
    async with db.transaction() as session:
        buildings = {name: Building(name=name) for name in ("A", "B")}
        units = {name: Unit(building=b, number="101", floor="1") for name, b in buildings.items()}
        session.add_all([*buildings.values(), *units.values()])
        await session.flush()
        resident = Resident(telegram_user_id=1, chat_id=1, name="Wang", phone="+8613800138000",
                            unit_text="1-1", language="en")
        session.add(resident)
        await session.flush()
        service = TicketService(session)
        rows = {**TICKETS, "october": (-1, 1, 2, "closed", 1, 1, "staff", "telegram", "A")}
        for label, (day, ack, resolve, status, rating, again, cause, channel, building) in (
                rows.items()):
            created = (datetime(2026, 11, day, tzinfo=UTC) if day > 0
                       else datetime(2026, 10, 31, 23, 59, tzinfo=UTC))
            ticket, _ = await service.submit(resident, Submission(
                key=label, category="water", description=f"ticket {label}"), now=created)
            ticket.status, ticket.channel, ticket.rating = status, channel, rating
            ticket.reopen_count, ticket.cause_category = again, cause
            ticket.unit_id = units[building].id if building else None
            ticket.ack_due_at, ticket.resolve_due_at = created + 3 * H, created + 24 * H
            ticket.acknowledged_at = created + ack * H if ack is not None else None
            ticket.resolved_at = created + resolve * H if resolve is not None else None
            assert ticket.number is not None
            numbers[label] = ticket.number
    return numbers


async def test_statistics_equal_the_hand_computed_values(db: Database) -> None:
    numbers = await seed(db)
    stats = await compute(db, START, END, NOW)
    assert stats.total == 6  # October's ticket is outside the period
    assert stats.by_status == {"closed": 2, "resolved": 1, "investigating": 1, "new": 1,
                               "withdrawn": 1}
    assert stats.by_category == {"water": 6}
    assert stats.by_channel == {"telegram": 5, "phone": 1}
    assert stats.by_building == {"A": 2, "B": 1, "": 3}
    # acknowledged after 1, 2, 3, 4 hours: median 2.5; p90 at rank 2.7: 3 + 0.7 = 3.7
    assert stats.hours_to_acknowledge == pytest.approx([2.5, 3.7])
    # resolved after 10, 20, 30 hours: median 20; p90 at rank 1.8: 20 + 0.8 × 10 = 28
    assert stats.hours_to_resolve == pytest.approx([20.0, 28.0])
    # due in 3 h: t1–t3 in time, t4 late, t5 never (due passed); t6 withdrawn: not measured
    assert stats.acknowledged_on_time == (3, 5)
    # due in 24 h: t1, t2 in time; t3 late; t4, t5 not resolved and due passed
    assert stats.resolved_on_time == (2, 5)
    assert (stats.rated, stats.satisfied) == (3, 2)
    assert stats.average_rating == pytest.approx(11 / 3)
    assert stats.satisfied_share == pytest.approx(2 / 3) and stats.satisfaction_met is False
    assert stats.reopened == (1, 3) and stats.reopen_rate == pytest.approx(1 / 3)
    assert stats.top_causes == [("equipment", 2), ("staff", 1)]
    assert stats.overdue == 2
    assert [t.number for t in stats.overdue_first] == [numbers["t4"], numbers["t5"]]


async def test_an_empty_period_has_no_figures(db: Database) -> None:
    stats = await compute(db, START, END, NOW)
    assert stats.total == 0 and stats.hours_to_resolve == [None, None]
    assert stats.satisfied_share is None and stats.reopen_rate is None
    assert stats.acknowledged_on_time == (0, 0) and stats.overdue == 0


async def test_the_report_reads_the_figures(db: Database) -> None:
    from datetime import date
    from zoneinfo import ZoneInfo

    from bot.statistics.text import statistics_text

    numbers = await seed(db)
    stats = await compute(db, START, END, NOW)
    text = statistics_text(stats, date(2026, 11, 1), date(2026, 11, 30), ZoneInfo("UTC"))
    assert "Tickets created 2026-11-01 – 2026-11-30 (UTC): 6" in text
    assert "by building: (none) 3, A 2, B 1" in text
    assert "Time to acknowledge: median 2.5 h, 90th percentile 3.7 h" in text
    assert "Acknowledged in time: 60% (3 of 5)" in text
    assert "satisfied 67% (2 of 3)  (target ≥ 80%: NOT met)" in text
    assert "Top causes: equipment 2, staff 1" in text
    # the report names statuses as staff see them (bot/statistics/text.py)
    assert "Overdue now: 2" in text and f"No. {numbers['t4']}  under investigation" in text


async def test_the_overdue_list_is_the_most_overdue_of_all_open_statuses(db: Database) -> None:
    """The list merges each status's first tickets; the count adds the late to resolve and
    the late to acknowledge only (not yet due to be resolved), each ticket once."""
    from storage import statistics as sql
    from tickets.lifecycle import OPEN

    # label: (status, resolve due, in days from NOW; acknowledged)
    rows = {
        "new-3": ("new", -3, False), "new-9": ("new", -9, False), "new-1": ("new", -1, True),
        "new-8": ("new", -8, False), "inv-7": ("investigating", -7, True),
        "inv-5": ("investigating", -5, True), "ack-8": ("acknowledged", -8, True),
        "reopened-6": ("reopened", -6, True),
        "unacknowledged": ("new", 2, False),  # late to acknowledge, not yet to resolve
        "in-time": ("acknowledged", 2, True), "closed": ("closed", -10, True),
        "withdrawn": ("withdrawn", -10, False),
    }
    numbers: dict[str, str] = {}
    async with db.transaction() as session:
        resident = Resident(telegram_user_id=1, chat_id=1, name="Wang", phone="+8613800138000",
                            unit_text="1-1", language="en")
        session.add(resident)
        await session.flush()
        service = TicketService(session)
        for label, (status, due_days, acknowledged) in rows.items():
            created = NOW - timedelta(days=20)
            ticket, _ = await service.submit(resident, Submission(
                key=label, category="water", description=f"ticket {label}"), now=created)
            ticket.status = status
            ticket.ack_due_at, ticket.resolve_due_at = created + H, NOW + due_days * 24 * H
            ticket.acknowledged_at = created + H / 2 if acknowledged else None
            assert ticket.number is not None
            numbers[label] = ticket.number
    async with db.transaction() as session:
        total, first = await sql.overdue(session, OPEN, NOW, 4)
    stats = await compute(db, START, END, NOW)
    assert total == 9 and stats.overdue == 9
    assert [t.number for t in first] == [numbers[label]
                                         for label in ("new-9", "new-8", "ack-8", "inv-7")]
    assert [t.number for t in stats.overdue_first] == [numbers[label] for label in (
        "new-9", "new-8", "ack-8", "inv-7", "reopened-6", "inv-5", "new-3", "new-1",
        "unacknowledged")]
    assert first[0].resident is not None  # whole tickets, as before


def test_percentiles_interpolate_like_percentile_cont() -> None:
    from storage.statistics import _interpolated

    assert _interpolated([], (0.5, 0.9)) == [None, None]
    assert _interpolated([7], (0.5, 0.9)) == [7, 7]
    assert _interpolated([1, 2, 3, 4], (0.0, 0.5, 0.9, 1.0)) == pytest.approx([1, 2.5, 3.7, 4])


async def test_an_incident_counts_once_with_its_reports_and_residents(db: Database) -> None:
    """One outage (a lead and seven linked reports from six people) and one complaint of its
    own: two complaints received, wherever the office's work is counted; the incidents line
    names the reports and the people; each resident's rating still counts."""
    from sqlalchemy import select

    from storage.export import HEADERS, ticket_rows
    from storage.models import Staff, Ticket
    from storage.statistics import IncidentCounts
    from tests.incident_records import AFFECTED, RATINGS, REPORTS, seed_incident
    from tickets.trends import compute_trends

    seeded = await seed_incident(db, datetime(2026, 11, 10, 8, tzinfo=UTC))
    stats = await compute(db, START, END, NOW)
    assert stats.total == 2 and stats.by_status == {"new": 2}
    assert stats.by_category == {"water": 1, "noise": 1}
    assert stats.by_building == {"7": 2} and stats.by_channel == {"telegram": 2}
    assert stats.acknowledged_on_time == (0, 2) and stats.resolved_on_time == (0, 2)
    assert stats.overdue == 2  # the lead is late for its reports, once
    assert stats.top_causes == [("equipment", 1), ("staff", 1)]
    assert [t.number for t in stats.overdue_first] == [seeded.lead, seeded.own]
    assert stats.incidents == IncidentCounts(incidents=1, reports=REPORTS, residents=AFFECTED)
    assert (stats.rated, stats.satisfied) == (len(RATINGS), 2)  # each resident's survey
    assert stats.average_rating == pytest.approx(sum(RATINGS.values()) / len(RATINGS))

    trends = await compute_trends(db, START, END, UTC)
    assert trends.total == 2 and {c: sum(v) for c, v in trends.volume.items()} == {
        "water": 1, "noise": 1}
    assert sum(spot.tickets for spot in trends.hotspots) == 2
    assert sum(trends.rated) == len(RATINGS)

    # every ticket is still a row of the export, grouped by the incident's lead
    async with db.reading() as session:
        rows = [dict(zip(HEADERS, row, strict=True))
                async for row in ticket_rows(session, START, END)]
    assert len(rows) == 2 + REPORTS
    assert {row["number"]: row["incident"] for row in rows} == {
        seeded.lead: seeded.lead, seeded.own: None,
        **dict.fromkeys(seeded.reports, seeded.lead)}

    # the incident belongs to the period its lead was received in
    assert (await compute(db, START - 30 * 24 * H, START, NOW)).incidents == IncidentCounts()
    # a report unlinked by hand (another problem) is a complaint of its own again
    async with db.transaction() as session:
        service = TicketService(session)
        report = await session.scalar(select(Ticket).where(Ticket.number == seeded.reports[3]))
        agent = await session.scalar(select(Staff))
        assert report is not None and agent is not None
        await service.unlink_from_incident(report, agent)
    stats = await compute(db, START, END, NOW)
    assert stats.total == 3 and stats.by_building == {"7": 3}
    assert stats.incidents == IncidentCounts(1, REPORTS - 1, AFFECTED - 1)  # their only one
