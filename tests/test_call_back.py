"""The call-back (回访) through the service, on SQLite and PostgreSQL: when it is asked, once
per closing; what "still solved", "it came back" and no answer do; and when there is none."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from storage.db import Database
from storage.models import CallBack, Resident, Ticket
from tests.deadlines import (
    POLICY,
    SHANGHAI,
    TIMING,
    Clock,
    act,
    fire,
    kinds,
    office,
    pending,
    report,
)
from tests.records import rows, setup
from tickets.policy import CallBackOutcome, Timing
from tickets.service import TicketService
from tickets.sla import SlaError, policy_from
from tickets.statistics import compute


async def closed_on_wednesday(db: Database, category: str = "water") -> tuple[int, Clock]:
    resident_id, *_ = await setup(db)
    ticket_id = await report(db, resident_id, category=category)  # Monday 30 November
    clock = Clock(office(1, 10))
    await act(db, clock, ticket_id, "resolve")
    clock.at = office(2, 15)  # Wednesday 2 December, 15:00: "fixed"
    ticket = await act(db, clock, ticket_id, "fixed")
    assert ticket.status == "closed"
    return ticket_id, clock


async def answer(db: Database, ticket_id: int, outcome: CallBackOutcome, clock: Clock
                 ) -> tuple[CallBack, bool]:
    async with db.transaction() as session:
        [call_back] = [c for c in await rows(session, CallBack) if c.ticket_id == ticket_id]
        resident = await session.get(Resident, call_back.ticket.resident_id)
        assert resident is not None
        return await TicketService(session, staff_chat_id=-100, timing=TIMING,
                                   clock=clock).answer_call_back(resident, call_back, outcome)


async def test_asked_a_week_after_closing_once_and_it_came_back(db: Database) -> None:
    ticket_id, clock = await closed_on_wednesday(db)
    # the seventh day after closing, at the office's follow-up hour (09:00)
    assert (await pending(db, ticket_id))["call_back"] == office(9, 9)
    assert "resident:call_back" not in kinds(await fire(db, office(9, 8, 59)))
    asked = await fire(db, office(9, 9))
    assert kinds(asked) == ["resident:call_back", "staff:call_back"]
    assert asked[0]["days"] == 7 and asked[1]["outcome"] == ""
    assert await fire(db, office(9, 10)) == []  # once, however often the scheduler looks
    clock.at = office(10, 11)
    call_back, changed = await answer(db, ticket_id, CallBackOutcome.RECURRED, clock)
    assert changed and call_back.outcome == "recurred" and call_back.answered_at == clock.at
    async with db.reading() as session:
        ticket = await session.get(Ticket, ticket_id)
        assert ticket is not None
        assert ticket.status == "reopened" and ticket.reopen_count == 1
        assert ticket.escalated_at == clock.at
        assert ticket.ack_due_at == clock.at + timedelta(hours=48)  # fresh deadlines
    assert (await answer(db, ticket_id, CallBackOutcome.HELD, clock))[1] is False
    assert "call_back_expire" not in await pending(db, ticket_id)  # answered: no expiry
    stats = await compute(db, office(1, 0) - timedelta(days=2), office(3, 0), office(10, 12))
    assert stats.call_backs == {"recurred": 1}
    assert (stats.call_back_rate, stats.recurrence_rate) == (1.0, 1.0)


async def test_no_answer_in_three_days_is_recorded_and_nothing_more_is_sent(
        db: Database) -> None:
    ticket_id, clock = await closed_on_wednesday(db)
    await fire(db, office(9, 9))
    assert await fire(db, office(12, 8, 59)) == []
    expired = await fire(db, office(12, 9))
    assert kinds(expired) == ["staff:call_back"] and expired[0]["outcome"] == "unanswered"
    assert await fire(db, office(30, 9)) == []
    stats = await compute(db, office(1, 0) - timedelta(days=2), office(3, 0), office(13, 0))
    assert stats.call_backs == {"unanswered": 1} and stats.call_back_rate == 0.0
    # an answer that comes late still counts
    clock.at = office(14, 9)
    call_back, changed = await answer(db, ticket_id, CallBackOutcome.HELD, clock)
    assert changed and call_back.outcome == "held"
    async with db.reading() as session:
        ticket = await session.get(Ticket, ticket_id)
        assert ticket is not None and ticket.status == "closed"


async def test_no_call_back_where_the_office_turned_it_off(db: Database) -> None:
    resident_id, *_ = await setup(db)
    off_for_noise = replace(TIMING, sla=replace(POLICY, call_back_days={"noise": 0}))
    noise = await report(db, resident_id, "n", category="noise")
    clock = Clock(office(1, 10))
    await act(db, clock, noise, "resolve", off_for_noise)
    await act(db, clock, noise, "fixed", off_for_noise)
    assert "call_back" not in await pending(db, noise)
    nowhere = replace(TIMING, call_back_days=0)
    water = await report(db, resident_id, "w")
    await act(db, clock, water, "resolve", nowhere)
    await act(db, clock, water, "fixed", nowhere)
    assert "call_back" not in await pending(db, water)


async def test_a_ticket_reopened_before_its_call_back_is_not_asked(db: Database) -> None:
    resident_id, *_ = await setup(db)
    ticket_id = await report(db, resident_id)
    clock = Clock(office(1, 10))
    await act(db, clock, ticket_id, "resolve")
    async with db.transaction() as session:  # a rating alone closes…
        service = TicketService(session, staff_chat_id=-100, timing=TIMING, clock=clock)
        ticket = await session.get(Ticket, ticket_id)
        assert ticket is not None and ticket.resident is not None
        survey = await service.surveys.of_round(ticket_id, 0)
        assert survey is not None
        await service.answer_survey(ticket.resident, survey, rating=2)
        assert ticket.status == "closed"
        await service.answer_survey(ticket.resident, survey, fixed="no")  # …"no" reopens
        assert ticket.status == "reopened"
    assert [p for p in await fire(db, office(20, 9)) if p["kind"] == "call_back"] == []


def test_an_sla_file_sets_call_back_days_per_category() -> None:
    policy = policy_from({"categories": {"noise": {"follow_up_days": 14},
                                         "parking": {"follow_up_days": 0}}}, SHANGHAI)
    timing = Timing(sla=policy, call_back_days=7)
    assert [timing.call_back_after(c) for c in ("noise", "parking", "water")] == [14, 0, 7]
    assert policy.for_ticket("noise", "normal") == POLICY.for_ticket("water", "normal")
    with pytest.raises(SlaError, match=r"categories\.noise\.follow_up_days"):
        policy_from({"categories": {"noise": {"follow_up_days": "soon"}}}, SHANGHAI)
