"""A ticket's deadlines and timers in a test: the office's calendar, a clock the test
moves, and the steps it takes a ticket through."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import Database
from storage.models import OutboxMessage, Resident, Staff, Ticket, Timer
from tests.records import rows
from tickets.inputs import Resolution, Submission
from tickets.policy import Timing
from tickets.service import TicketService
from tickets.sla import Calendar, SlaPolicy

SHANGHAI = ZoneInfo("Asia/Shanghai")
MONDAY_10 = datetime(2026, 11, 30, 10, tzinfo=SHANGHAI).astimezone(UTC)


POLICY = SlaPolicy(Calendar(SHANGHAI))


TIMING = Timing(sla=POLICY)


def desk(session: AsyncSession, policy: SlaPolicy = POLICY) -> TicketService:
    return TicketService(session, staff_chat_id=-100, timing=Timing(sla=policy))


async def report(db: Database, resident_id: int, key: str = "k", category: str = "water",
                 priority: str = "normal", at: datetime = MONDAY_10,
                 policy: SlaPolicy = POLICY) -> int:
    async with db.transaction() as session:
        resident = await session.get(Resident, resident_id)
        assert resident is not None
        ticket, _ = await desk(session, policy).submit(
            resident, Submission(key, category, "The pipe under the sink leaks", priority), at)
        return ticket.id


async def fire(db: Database, at: datetime) -> list[dict[str, object]]:
    """One scheduler pass at `at`; returns the payloads it queued."""
    async with db.transaction() as session:
        before = {o.id for o in await rows(session, OutboxMessage)}
        await desk(session).fire_due_timers(at)
        return [o.payload for o in await rows(session, OutboxMessage) if o.id not in before]


def kinds(payloads: list[dict[str, object]]) -> list[str]:
    return sorted(f"{p.get('to', 'staff')}:{p['kind']}" for p in payloads)


class Clock:
    """The service's clock, moved on by the test: days pass in a moment."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def office(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=SHANGHAI).astimezone(UTC)


async def act(db: Database, clock: Clock, ticket_id: int, step: str,
              timing: Timing = TIMING) -> Ticket:
    """One step of the office or the resident on the ticket, at the clock's time."""
    async with db.transaction() as session:
        service = TicketService(session, staff_chat_id=-100, timing=timing, clock=clock)
        ticket = await session.get(Ticket, ticket_id)
        agent = await session.scalar(select(Staff).where(Staff.role == "agent"))
        assert ticket is not None and agent is not None and ticket.resident is not None
        if step == "ask the resident":
            await service.acknowledge(ticket, agent)
            await service.request_information(ticket, agent, "Which tap leaks?")
        elif step == "the resident answers":
            await service.add_information(ticket.resident, ticket, text="The kitchen one")
        elif step == "resolve":
            if ticket.status == "new":
                await service.acknowledge(ticket, agent)
            await service.start_investigation(ticket, agent)
            await service.resolve(ticket, agent, Resolution("repair", "Replaced the pipe"))
        elif step in ("not fixed", "fixed"):
            survey = await service.surveys.of_round(ticket.id, ticket.reopen_count)
            assert survey is not None
            await service.answer_survey(ticket.resident, survey,
                                        fixed="yes" if step == "fixed" else "no")
        return ticket


async def pending(db: Database, ticket_id: int) -> dict[str, datetime]:
    async with db.reading() as session:
        return {t.kind: t.due_at for t in await rows(session, Timer)
                if t.ticket_id == ticket_id and t.fired_at is None and not t.cancelled}
