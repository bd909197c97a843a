"""Every lifecycle transition, allowed and refused, and who may make it.

The table below is the specification written out by hand (DESIGN.md's lifecycle plus the staff
actions of the complaint procedure); `tickets.lifecycle.RULES` must agree with it entry by
entry. The service tests then walk the real paths on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from storage.db import Database
from storage.models import OutboxMessage, Resident, Staff, Survey, Ticket, Timer
from tests.records import rows, setup
from tickets.inputs import Intake, Investigation, Resolution, Submission, TicketError
from tickets.lifecycle import Action, LifecycleError, Role, Status, check
from tickets.policy import Timing, normalize_phone
from tickets.service import TicketService

A, S = Action, Status
STAFF_ROLES = (Role.AGENT, Role.MANAGER)
OPEN = ("new", "acknowledged", "investigating", "waiting_for_resident", "resolving", "reopened")

# (action, from status) -> status after it (None: unchanged). Anything not listed is refused.
SPEC: dict[tuple[Action, str], str | None] = {
    (A.ACKNOWLEDGE, "new"): "acknowledged",
    **{(A.REQUEST_INFO, s): "waiting_for_resident"
       for s in ("new", "acknowledged", "investigating", "resolving", "reopened")},
    **{(A.INVESTIGATE, s): "investigating"
       for s in ("acknowledged", "waiting_for_resident", "resolving", "reopened")},
    (A.RECORD_FINDINGS, "investigating"): None,
    (A.RECORD_FINDINGS, "resolving"): None,
    (A.START_RESOLVING, "investigating"): "resolving",
    (A.RESOLVE, "investigating"): "resolved",
    (A.RESOLVE, "resolving"): "resolved",
    **{(A.REJECT, s): "rejected"
       for s in ("new", "acknowledged", "investigating", "waiting_for_resident", "reopened")},
    **{(A.TAKE, s): None for s in OPEN},
    **{(A.ASSIGN, s): None for s in OPEN},
    **{(A.ESCALATE, s): None for s in OPEN},
    **{(A.MESSAGE, s): None for s in (*OPEN, "resolved")},
    **{(A.NOTE, s): None for s in Status},
    **{(A.ANSWER, s): None for s in (*OPEN, "resolved")},
    **{(A.WITHDRAW, s): "withdrawn" for s in OPEN},
    (A.CONFIRM_FIXED, "resolved"): "closed",
    (A.NOT_FIXED, "resolved"): "reopened",
    (A.NOT_FIXED, "closed"): "reopened",  # the same survey's rating closed it a moment before
    (A.AUTO_CLOSE, "resolved"): "closed",
    (A.RECUR, "closed"): "reopened",  # the call-back (回访): it came back
    **{(A.MEDIATE, s): None for s in OPEN if s != "new"},
    (A.AGREE, "investigating"): "resolved",
    (A.AGREE, "resolving"): "resolved",
    # one outage, many reports: any open ticket but one waiting for its resident may lead
    **{(A.DECLARE_INCIDENT, s): None for s in OPEN if s != "waiting_for_resident"},
    **{(A.UNLINK_INCIDENT, s): None for s in OPEN},
    **{(A.LINK_INCIDENT, s): None for s in OPEN},
}
WHO: dict[Action, tuple[Role, ...]] = {
    A.REJECT: (Role.MANAGER,),
    A.ANSWER: (Role.RESIDENT,), A.WITHDRAW: (Role.RESIDENT,),
    A.CONFIRM_FIXED: (Role.RESIDENT,), A.NOT_FIXED: (Role.RESIDENT,), A.RECUR: (Role.RESIDENT,),
    A.AUTO_CLOSE: (Role.SYSTEM,), A.ESCALATE: (*STAFF_ROLES, Role.SYSTEM),
}


@pytest.mark.parametrize("action", list(Action))
@pytest.mark.parametrize("status", list(Status))
def test_every_transition_is_allowed_or_refused_as_specified(action: Action,
                                                             status: Status) -> None:
    allowed_roles = WHO.get(action, STAFF_ROLES)
    for role in Role:
        if (action, status.value) in SPEC and role in allowed_roles:
            assert check(action, status, role) == SPEC[(action, status.value)], (role,)
        else:
            with pytest.raises(LifecycleError) as refused:
                check(action, status, role)
            expected = "not_now" if (action, status.value) not in SPEC else "not_permitted"
            assert refused.value.code == expected, (role,)


# --- through the service, on both databases -------------------------------------------------


async def under_investigation(desk: TicketService, resident_id: int, agent_id: int
                              ) -> tuple[Resident, Staff, Ticket]:
    """A fresh noise complaint, acknowledged and under investigation by the agent."""
    resident = await desk.session.get(Resident, resident_id)
    agent = await desk.session.get(Staff, agent_id)
    assert resident and agent
    ticket, _ = await desk.submit(resident, Submission("k", "noise", "Drums every night"))
    await desk.acknowledge(ticket, agent)
    await desk.start_investigation(ticket, agent)
    return resident, agent, ticket


def service(session: AsyncSession) -> TicketService:
    return TicketService(session, staff_chat_id=-100, timing=Timing(
        survey_reminder_after=timedelta(hours=1), survey_close_after=timedelta(hours=2)))


async def test_the_full_path_is_audited_and_tells_the_resident(db: Database) -> None:
    resident_id, agent_id, _manager_id = await setup(db)
    async with db.transaction() as session:
        desk = service(session)
        resident, agent = await session.get(Resident, resident_id), await session.get(Staff,
                                                                                       agent_id)
        assert resident and agent
        ticket, _ = await desk.submit(resident, Submission("k", "water", "Pipe leaks in kitchen"))
        await desk.acknowledge(ticket, agent)
        await desk.request_information(ticket, agent, "Since when does it leak?")
        await desk.add_information(resident, ticket, text="Since Monday")
        assert ticket.status == S.ACKNOWLEDGED  # back where it was before waiting
        await desk.start_investigation(ticket, agent)
        await desk.record_investigation(ticket, agent, Investigation(
            datetime(2026, 11, 28, 9, tzinfo=UTC), "Agent Li", "Corroded joint", None, "medium",
            "facility", "Old pipe"))
        await desk.add_note(ticket, agent, "Order a new joint")
        await desk.resolve(ticket, agent, Resolution("repair", "Joint replaced", "Check pipes",
                                                     datetime(2026, 12, 5, 1, tzinfo=UTC)))
        [survey] = await rows(session, Survey)
        await desk.answer_survey(resident, survey, fixed="yes")
        await desk.answer_survey(resident, survey, rating=5)
        assert ticket.status == S.CLOSED and ticket.rating == 5
        statuses = [e.to_status for e in ticket.events if e.kind == "status"]
        assert statuses == ["new", "acknowledged", "waiting_for_resident", "acknowledged",
                            "investigating", "resolved", "closed"]
        assert all(e.actor_type in ("resident", "staff") for e in ticket.events)
        note = next(e for e in ticket.events if e.kind == "note")
        assert note.actor_type == "staff" and note.actor_id == agent.id
        told = [o.payload["kind"] for o in await rows(session, OutboxMessage)
                if o.chat_id == resident.chat_id]
        # resident-visible changes, in order; never the internal note
        assert told == ["acknowledged", "info_requested", "investigating", "resolved"]
        timers = {t.kind for t in await rows(session, Timer)}
        assert timers == {"survey_reminder", "follow_up", "ack_reminder", "ack_overdue",
                          "resolve_reminder", "resolve_overdue", "call_back"}
        # the follow-up date comes: the staff are reminded in the card's thread, once
        for _ in range(2):
            await desk.fire_due_timers(datetime(2026, 12, 5, 2, tzinfo=UTC))
        posts = [o.payload for o in await rows(session, OutboxMessage) if o.chat_id == -100]
        assert [p["measures"] for p in posts if p["kind"] == "follow_up"] == ["Check pipes"]


async def test_refusals_change_nothing(db: Database) -> None:
    resident_id, agent_id, manager_id = await setup(db)
    async with db.transaction() as session:
        desk = service(session)
        resident = await session.get(Resident, resident_id)
        agent, manager = await session.get(Staff, agent_id), await session.get(Staff, manager_id)
        assert resident and agent and manager
        ticket, _ = await desk.submit(resident, Submission("k", "noise", "Drums every night"))
        with pytest.raises(TicketError) as refused:
            await desk.reject(ticket, agent, "not our business")
        assert refused.value.code == "not_permitted"
        with pytest.raises(TicketError) as refused:
            await desk.resolve(ticket, agent, Resolution("repair", "done"))
        assert refused.value.code == "not_now"
        with pytest.raises(TicketError) as refused:
            await desk.acknowledge(ticket, agent, version=ticket.version + 1)
        assert refused.value.code == "changed"
        assert ticket.status == S.NEW and len(ticket.events) == 1
        await desk.reject(ticket, manager, "A matter for the police")
        assert ticket.status == S.REJECTED
        with pytest.raises(TicketError):
            await desk.withdraw(resident, ticket)


async def test_not_fixed_reopens_and_escalates_and_a_survey_is_answered_once(
    db: Database,
) -> None:
    resident_id, agent_id, _manager_id = await setup(db)
    async with db.transaction() as session:
        desk = service(session)
        resident, agent, ticket = await under_investigation(desk, resident_id, agent_id)
        await desk.resolve(ticket, agent, Resolution("mediation", "Talked to the neighbour"))
        [survey] = await rows(session, Survey)
        _, changed = await desk.answer_survey(resident, survey, fixed="no")
        assert changed and ticket.status == S.REOPENED and ticket.reopen_count == 1
        assert ticket.escalated_at is not None
        _, changed = await desk.answer_survey(resident, survey, fixed="yes")
        assert not changed and ticket.status == S.REOPENED
        await desk.start_investigation(ticket, agent)
        await desk.resolve(ticket, agent, Resolution("mediation", "Agreed quiet hours"))
        assert len(await rows(session, Survey)) == 2  # one per resolution


async def test_unanswered_survey_reminds_once_then_closes(db: Database) -> None:
    resident_id, agent_id, _manager_id = await setup(db)
    async with db.transaction() as session:
        desk = service(session)
        _resident, agent, ticket = await under_investigation(desk, resident_id, agent_id)
        await desk.resolve(ticket, agent, Resolution("mediation", "Talked to the neighbour"))
        ticket_id = ticket.id
    later = datetime.now(UTC) + timedelta(hours=1, minutes=1)
    for _ in range(2):  # the second pass finds nothing more to do
        async with db.transaction() as session:
            await service(session).fire_due_timers(later)
    async with db.transaction() as session:
        reminders = [o for o in await rows(session, OutboxMessage)
                     if o.payload["kind"] == "survey_reminder"]
        assert len(reminders) == 1
        resolved = await session.get(Ticket, ticket_id)
        assert resolved is not None and resolved.status == S.RESOLVED
        await service(session).fire_due_timers(later + timedelta(hours=2, minutes=1))
    async with db.transaction() as session:
        closed = await session.get(Ticket, ticket_id)
        assert closed is not None and closed.status == S.CLOSED
        assert closed.events[-1].actor_type == "system"


async def test_an_intake_becomes_the_residents_when_they_register(db: Database) -> None:
    _resident_id, agent_id, _manager_id = await setup(db)
    async with db.transaction() as session:
        desk = service(session)
        agent = await session.get(Staff, agent_id)
        assert agent
        ticket, _ = await desk.take_intake(agent, Intake(
            "i1", "Zhou Min", "139 0000 0002", "5-502", "noise", "Dog barks all day", "hotline"))
        assert ticket.resident_id is None and ticket.channel == "hotline"
        # they register typing the number another way; both are read as +8613900000002
        typed = normalize_phone("+86 139-0000-0002", "CN")
        assert typed == ticket.contact_phone == "+8613900000002"
        newcomer = Resident(telegram_user_id=9, chat_id=9, name="Zhou Min",
                            phone=typed, unit_text="5-502", language="en")
        session.add(newcomer)
        await session.flush()
        assert [t.id for t in await desk.claim_by_phone(newcomer)] == [ticket.id]
        assert ticket.resident_id == newcomer.id


async def test_two_staff_resolving_at_once_one_wins(db: Database) -> None:
    resident_id, agent_id, manager_id = await setup(db)
    async with db.transaction() as session:
        desk = service(session)
        _resident, _agent, ticket = await under_investigation(desk, resident_id, agent_id)
        ticket_id = ticket.id

    async def resolve(staff_id: int, text: str) -> str:
        try:
            async with db.transaction() as session:
                ticket = await session.get(Ticket, ticket_id)
                staff = await session.get(Staff, staff_id)
                assert ticket and staff
                await asyncio.sleep(0.05)  # both have read the ticket before either writes
                await service(session).resolve(ticket, staff, Resolution("repair", text))
            return "won"
        except (StaleDataError, TicketError):
            return "lost"

    results = await asyncio.gather(resolve(agent_id, "A"), resolve(manager_id, "B"))
    assert sorted(results) == ["lost", "won"]
    async with db.transaction() as session:
        told = [o for o in await rows(session, OutboxMessage) if o.payload["kind"] == "resolved"]
        assert len(told) == 1  # the resident hears once


async def test_a_rating_first_then_not_fixed_reopens(db: Database) -> None:
    resident_id, agent_id, _manager_id = await setup(db)
    async with db.transaction() as session:
        desk = service(session)
        resident, agent, ticket = await under_investigation(desk, resident_id, agent_id)
        await desk.resolve(ticket, agent, Resolution("repair", "Fixed the tap"))
        [survey] = await rows(session, Survey)
        await desk.answer_survey(resident, survey, rating=2)
        assert ticket.status == S.CLOSED
        await desk.answer_survey(resident, survey, fixed="partly")
        assert ticket.status == S.REOPENED and ticket.reopen_count == 1
        _, changed = await desk.answer_survey(resident, survey, fixed="no")
        assert not changed
