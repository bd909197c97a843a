"""An incident put into the database through the ticket service: one outage in building 7
with its lead, seven linked reports from six residents (one of them taken by phone from
someone not registered), and one complaint of its own — for the statistics' tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select

from storage.db import Database
from storage.models import Resident, Staff, Ticket, Unit, utcnow
from storage.repositories import Units
from tickets.inputs import Intake, Submission
from tickets.scope import Scope, ScopeKind
from tickets.service import TicketService

BUILDING = "7"
REPORTS = 7  # linked to the incident
AFFECTED = 6  # the lead's resident, four other residents (two of whom reported twice), a caller
RATINGS = {"lead": 5, "r1": 2, "r2": 4}  # what the residents said in their surveys


@dataclass
class SeededIncident:
    lead: str  # ticket numbers
    reports: list[str] = field(default_factory=list)
    own: str = ""  # the complaint of its own (noise, the same building)


async def seed_incident(db: Database, at: datetime | None = None) -> SeededIncident:
    """The tickets are received a minute apart from `at` (default: now)."""
    moment = [at or utcnow()]

    def clock() -> datetime:
        moment[0] += timedelta(minutes=1)
        return moment[0]

    async with db.transaction() as session:
        await Units(session).import_rows([{"building": BUILDING, "unit": f"{n:02d}01",
                                           "floor": str(n)} for n in range(1, 7)])
        units = {u.label: u for u in (await session.scalars(select(Unit))).all()}
        people = [Resident(telegram_user_id=71_000 + n, chat_id=71_000 + n, name=f"Resident {n}",
                           phone=f"+86139710000{n:02d}", unit_id=units[f"7-{n + 1:02d}01"].id,
                           language="en") for n in range(5)]
        agent = Staff(telegram_user_id=71_999, name="Agent Incident", role="agent", active=True)
        session.add_all([*people, agent])
        await session.flush()
        service = TicketService(session, clock=clock)

        async def water(person: Resident, key: str) -> Ticket:
            ticket, _ = await service.submit(person, Submission(
                key, "water", "No water since this morning."), now=clock())
            return ticket

        lead = await water(people[0], "incident-lead")
        await service.declare_incident(lead, agent, Scope(ScopeKind.BUILDING,
                                                          units["7-0101"].building_id), "7")
        reports = [await water(people[n], f"incident-r{n}") for n in range(1, 5)]
        reports += [await water(people[1], "incident-r1-again"),
                    await water(people[2], "incident-r2-again")]
        called, _ = await service.take_intake(agent, Intake(
            "incident-phone", "Zhou Min", "+8613971000099", "7-0601", "water",
            "The tap is dry.", "hotline", unit_id=units["7-0601"].id))
        reports.append(called)
        own, _ = await service.submit(people[4], Submission(
            "incident-own", "noise", "Drilling at night."), now=clock())
        assert all(r.incident_id is not None for r in reports) and own.incident_id is None
        assert len(reports) == REPORTS
        for ticket, rating in ((lead, RATINGS["lead"]), (reports[0], RATINGS["r1"]),
                               (reports[1], RATINGS["r2"])):
            ticket.rating = rating
        # the investigation's cause, given to the reports as well (one cause, counted once)
        for ticket in (lead, reports[0], reports[1]):
            ticket.cause_category = "equipment"
        own.cause_category = "staff"
        assert lead.number and own.number
        return SeededIncident(lead.number, [r.number or "" for r in reports], own.number)
