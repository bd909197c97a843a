"""Deadlines through the service, on SQLite and PostgreSQL: the timers a report starts, the
reminder and the escalation (each once, however often the scheduler looks), the resident's
apology with a new expected time, and repeat complaints."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from conversations.notices import card
from storage.db import Database
from storage.models import Staff, Ticket, Timer
from storage.queue import QueueFilter, queue
from tests.deadlines import (
    MONDAY_10,
    SHANGHAI,
    TIMING,
    Clock,
    act,
    desk,
    fire,
    kinds,
    office,
    pending,
    report,
)
from tests.records import rows, setup
from tickets.inputs import Resolution
from tickets.service import TicketService
from tickets.sla import Calendar, Deadlines, SlaPolicy, Span
from tickets.statistics import compute
from tickets.timers import Stage, TimerKind


async def test_a_report_gets_its_due_times_and_four_timers(db: Database) -> None:
    resident_id, *_ = await setup(db)
    ticket_id = await report(db, resident_id)
    async with db.transaction() as session:
        ticket = await session.get(Ticket, ticket_id)
        assert ticket is not None
        # normal: acknowledge within 48 hours, resolve within 7 working days (63 office hours)
        assert ticket.ack_due_at == MONDAY_10 + timedelta(hours=48)
        assert ticket.resolve_due_at == datetime(2026, 12, 9, 10, tzinfo=SHANGHAI)
        timers = {t.kind: t.due_at for t in await rows(session, Timer)}
    assert timers == {
        "ack_reminder": MONDAY_10 + timedelta(hours=36),
        "ack_overdue": MONDAY_10 + timedelta(hours=48),
        # three quarters of 63 office hours: 47.25 h = five days and 2.25 h, from Monday 10:00
        "resolve_reminder": datetime(2026, 12, 7, 12, 15, tzinfo=SHANGHAI),
        "resolve_overdue": datetime(2026, 12, 9, 10, tzinfo=SHANGHAI),
    }


async def test_reminder_then_escalation_and_apology_each_once(db: Database) -> None:
    resident_id, *_ = await setup(db)
    ticket_id = await report(db, resident_id, priority="urgent")  # 2 h / 24 h around the clock
    assert await fire(db, MONDAY_10 + timedelta(minutes=89)) == []
    reminded = await fire(db, MONDAY_10 + timedelta(minutes=90))
    assert kinds(reminded) == ["staff:deadline_reminder"]
    assert reminded[0]["stage"] == "ack" and reminded[0]["assignee"] == ""
    overdue_at = MONDAY_10 + timedelta(hours=2, seconds=30)
    escalated = await fire(db, overdue_at)
    assert kinds(escalated) == ["resident:apology", "staff:card", "staff:overdue"]
    apology = next(p for p in escalated if p["kind"] == "apology")
    # the new time: half the time allowed (2 hours) after the deadline passed
    assert datetime.fromisoformat(str(apology["promised"])) == overdue_at + timedelta(hours=1)
    assert "Manager Zhao" in str(next(p for p in escalated if p["kind"] == "overdue")["managers"])
    # however often the scheduler looks again (or after a restart: a new session), never twice
    for _ in range(2):
        assert await fire(db, MONDAY_10 + timedelta(hours=3)) == []
    async with db.transaction() as session:
        ticket = await session.get(Ticket, ticket_id)
        assert ticket is not None and ticket.escalated_at == overdue_at
        [event] = [e for e in ticket.events if e.kind == "escalated"]
        assert event.actor_type == "system" and (event.details or {}).get("stage") == "ack"


async def test_a_deadline_met_fires_nothing(db: Database) -> None:
    resident_id, agent_id, _ = await setup(db)
    ticket_id = await report(db, resident_id, priority="urgent")
    async with db.transaction() as session:
        service = desk(session)
        ticket, agent = await session.get(Ticket, ticket_id), await session.get(Staff, agent_id)
        assert ticket is not None and agent is not None
        await service.acknowledge(ticket, agent)
        await service.start_investigation(ticket, agent)
    # acknowledged in time: no acknowledgement reminder or escalation; the resolution clock runs
    due = await fire(db, MONDAY_10 + timedelta(hours=19))
    assert kinds(due) == ["staff:deadline_reminder"] and due[0]["stage"] == "resolve"
    assert due[0]["assignee"] == "Agent Li"
    async with db.transaction() as session:
        service = desk(session)
        ticket, agent = await session.get(Ticket, ticket_id), await session.get(Staff, agent_id)
        assert ticket is not None and agent is not None
        await service.resolve(ticket, agent, Resolution("repair", "Replaced the pipe"))
    assert [p for p in await fire(db, MONDAY_10 + timedelta(hours=25))
            if p["kind"] in ("overdue", "apology")] == []


async def test_repeat_complaints_are_linked_within_the_window(db: Database) -> None:
    resident_id, *_ = await setup(db)
    first = await report(db, resident_id, "a", at=MONDAY_10 - timedelta(days=70))
    second = await report(db, resident_id, "b", at=MONDAY_10 - timedelta(days=20))
    other = await report(db, resident_id, "c", category="noise", at=MONDAY_10 - timedelta(days=5))
    third = await report(db, resident_id, "d")
    short = SlaPolicy(Calendar(SHANGHAI), repeat_window=timedelta(days=0))
    fourth = await report(db, resident_id, "e", policy=short)
    async with db.transaction() as session:
        found = {t.id: t for t in await rows(session, Ticket)}
    assert found[first].repeat_of_id is None
    assert found[second].repeat_of_id is None  # 50 days after the first: not a repeat
    assert found[other].repeat_of_id is None  # another category
    assert found[third].repeat_of_id == second
    [link] = [e for e in found[third].events if e.kind == "repeat"]
    assert link.details == {"earlier": [found[second].number], "days": 30}  # not the first
    shown = card(found[third], "en", SHANGHAI).text
    assert (f"🔁 Repeat complaint: the same unit and category within 30 days — earlier: "
            f"No. {found[second].number}") in shown
    assert "Repeat" not in card(found[second], "en", SHANGHAI).text
    assert found[fourth].repeat_of_id is None  # the office switched repeat detection off


async def test_a_category_of_its_own_and_office_hours(db: Database) -> None:
    resident_id, *_ = await setup(db)
    policy = SlaPolicy(Calendar(SHANGHAI), categories={"water": {"normal": Deadlines(
        Span(4, "working hours"), Span(1, "working days"))}})
    friday_evening = datetime(2026, 12, 4, 20, tzinfo=SHANGHAI)
    ticket_id = await report(db, resident_id, at=friday_evening, policy=policy)
    async with db.transaction() as session:
        ticket = await session.get(Ticket, ticket_id)
        assert ticket is not None
        assert ticket.ack_due_at == datetime(2026, 12, 7, 13, tzinfo=SHANGHAI)
        assert ticket.resolve_due_at == datetime(2026, 12, 7, 18, tzinfo=SHANGHAI)


def test_timer_kinds_name_their_deadline() -> None:
    """The four deadline timers watch one promise each; the others watch none; a stored kind
    this release does not know (a newer one's) reads as None and fires as nothing."""
    watched = {kind: kind.stage for kind in TimerKind if kind.stage is not None}
    assert watched == {TimerKind.ACK_REMINDER: Stage.ACKNOWLEDGE,
                       TimerKind.ACK_OVERDUE: Stage.ACKNOWLEDGE,
                       TimerKind.RESOLVE_REMINDER: Stage.RESOLVE,
                       TimerKind.RESOLVE_OVERDUE: Stage.RESOLVE}
    assert {kind for kind in TimerKind if kind.is_reminder} == {
        TimerKind.ACK_REMINDER, TimerKind.RESOLVE_REMINDER}
    assert TimerKind.read("ack_overdue") is TimerKind.ACK_OVERDUE
    assert TimerKind.read("coffee_break") is None


async def test_the_resolve_clock_stands_still_while_the_office_waits_for_the_resident(
        db: Database) -> None:
    resident_id, *_ = await setup(db)
    ticket_id = await report(db, resident_id)  # Monday 10:00; resolve by Wednesday 9th, 10:00
    clock = Clock(office(1, 10))  # Tuesday 10:00: six working days are left
    ticket = await act(db, clock, ticket_id, "ask the resident")
    assert ticket.resolve_paused_at == clock.at
    shown = card(ticket, "en", SHANGHAI, now=clock.at).text
    assert "⏸ Resolve clock paused since 2026-12-01 10:00 (waiting for the resident)" in shown
    assert "Resolve by" not in shown
    # nothing to remind of, nothing to escalate (the acknowledgement's timers find it met)
    assert set(await pending(db, ticket_id)) == {"ack_reminder", "ack_overdue"}
    # the old deadline passes while the resident holds the ticket: not late, nobody alerted
    assert await fire(db, office(9, 11)) == []
    stats = await compute(db, MONDAY_10 - timedelta(days=1), office(10, 0), office(9, 11))
    assert stats.overdue == 0 and stats.paused == 1 and stats.resolved_on_time == (0, 0)
    async with db.reading() as session:
        assert (await queue(session, QueueFilter(overdue=True), office(9, 11))).total == 0
    clock.at = office(10, 10)  # the answer comes on Thursday 10th at 10:00
    ticket = await act(db, clock, ticket_id, "the resident answers")
    # the six working days left then run from now: Friday 18th, 10:00
    assert ticket.resolve_due_at == office(18, 10) and ticket.resolve_paused_at is None
    assert "Resolve by: 2026-12-18 10:00" in card(ticket, "en", SHANGHAI, now=clock.at).text
    [moved] = [e for e in ticket.events if e.kind == "deadline"]
    assert moved.details is not None and moved.details["paused_seconds"] == 9 * 24 * 3600
    # the reminder when three quarters of the 63 office hours are gone: 15.75 h before the end
    assert await pending(db, ticket_id) == {"resolve_reminder": office(16, 12, 15),
                                            "resolve_overdue": office(18, 10)}  # (ack: fired)
    assert kinds(await fire(db, office(16, 12, 15))) == ["staff:deadline_reminder"]
    assert kinds(await fire(db, office(18, 10))) == ["resident:apology", "staff:card",
                                                     "staff:overdue"]


async def test_a_reopened_ticket_gets_fresh_deadlines(db: Database) -> None:
    resident_id, *_ = await setup(db)
    ticket_id = await report(db, resident_id, priority="urgent")  # 2 h / 24 h, Monday 10:00
    clock = Clock(office(1, 10))
    await act(db, clock, ticket_id, "ask the resident")
    await act(db, clock, ticket_id, "the resident answers")
    await act(db, clock, ticket_id, "resolve")
    clock.at = office(3, 10)  # Wednesday: "it is not fixed"
    ticket = await act(db, clock, ticket_id, "not fixed")
    assert ticket.status == "reopened" and ticket.resolved_at is None
    assert (ticket.ack_due_at, ticket.resolve_due_at) == (office(3, 12), office(4, 10))
    shown = card(ticket, "en", SHANGHAI, now=clock.at).text
    assert "Take up again by: 2026-12-03 12:00" in shown and "Overdue" not in shown
    assert await pending(db, ticket_id) == {
        "ack_reminder": office(3, 11, 30), "ack_overdue": office(3, 12),
        "resolve_reminder": office(4, 4), "resolve_overdue": office(4, 10)}
    # nobody takes it up again: reminded, then escalated, each once
    assert kinds(await fire(db, office(3, 11, 30))) == ["staff:deadline_reminder"]
    assert kinds(await fire(db, office(3, 12))) == ["resident:apology", "staff:card",
                                                    "staff:overdue"]
    assert await fire(db, office(3, 13)) == []


async def test_being_resolved_is_told_when_it_stays_so(db: Database) -> None:
    resident_id, *_ = await setup(db)
    kept, quick = await report(db, resident_id, "a"), await report(db, resident_id, "b")
    clock = Clock(office(1, 10))
    for ticket_id in (kept, quick):
        async with db.transaction() as session:
            service = TicketService(session, staff_chat_id=-100, timing=TIMING, clock=clock)
            ticket = await session.get(Ticket, ticket_id)
            agent = await session.scalar(select(Staff).where(Staff.role == "agent"))
            assert ticket is not None and agent is not None
            await service.acknowledge(ticket, agent)
            await service.start_investigation(ticket, agent)
            await service.start_resolving(ticket, agent)
            if ticket_id == quick:  # resolved within the minute: no "working on it" first
                await service.resolve(ticket, agent, Resolution("repair", "Fixed"))
    told = await fire(db, office(1, 10, 10))
    assert [(p["kind"], p["ticket_id"]) for p in told if p.get("to") == "resident"] == [
        ("resolving", kept)]
    assert [p for p in await fire(db, office(1, 11)) if p["kind"] == "resolving"] == []
