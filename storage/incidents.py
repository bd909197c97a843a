"""The SQL of incidents (tickets/incidents.py decides what they mean)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import CursorResult, distinct, func, or_, select, update

from storage.models import Incident, Ticket, Timer
from storage.repositories import Repository


class Incidents(Repository):
    async def open_of_category(self, category: str, now: datetime) -> Sequence[Incident]:
        """The incidents new reports of this category may be linked to now, newest first."""
        return (await self.session.scalars(
            select(Incident).where(Incident.category_code == category,
                                   Incident.closed_at.is_(None),
                                   or_(Incident.starts_at.is_(None), Incident.starts_at <= now),
                                   or_(Incident.ends_at.is_(None), Incident.ends_at > now))
            .order_by(Incident.id.desc()))).all()

    async def led_by(self, ticket_id: int, *, lock: bool = False) -> Incident | None:
        """The incident the ticket leads; with `lock`, its row held to the end of the
        transaction and read afresh (a report linked by hand and a step of the lead taken at
        the same moment wait for each other: PostgreSQL; SQLite writes one at a time)."""
        query = select(Incident).where(Incident.lead_ticket_id == ticket_id)
        if lock:
            query = query.with_for_update().execution_options(populate_existing=True)
        return await self.session.scalar(query)

    async def locked(self, incident_id: int) -> Incident | None:
        """The incident, its row held to the end of the transaction and read afresh."""
        return await self.session.scalar(
            select(Incident).where(Incident.id == incident_id).with_for_update()
            .execution_options(populate_existing=True))

    async def listed(self, closed_since: datetime, limit: int) -> Sequence[Incident]:
        """The open incidents and those closed since `closed_since`, newest first."""
        return (await self.session.scalars(
            select(Incident).where(or_(Incident.closed_at.is_(None),
                                       Incident.closed_at >= closed_since))
            .order_by(Incident.closed_at.is_not(None), Incident.id.desc())
            .limit(limit))).all()

    async def still_open(self) -> Sequence[Incident]:
        """Every open incident, newest first (a report is linked to one by hand)."""
        return (await self.session.scalars(
            select(Incident).where(Incident.closed_at.is_(None))
            .order_by(Incident.id.desc()))).all()

    async def had_clocks(self, ticket_id: int) -> bool:
        """Whether the ticket ever had timers of its own (a report linked by hand had)."""
        return await self.session.scalar(
            select(Timer.id).where(Timer.ticket_id == ticket_id).limit(1)) is not None

    async def reports(self, incident_id: int) -> Sequence[Ticket]:
        """The reports linked to the incident (its lead not among them)."""
        return (await self.session.scalars(select(Ticket).where(
            Ticket.incident_id == incident_id).order_by(Ticket.id))).unique().all()

    async def counts(self, incident_id: int, lead: Ticket) -> tuple[int, int]:
        """(reports, residents): the lead and its linked reports; distinct complainants."""
        reports, residents = (await self.session.execute(
            select(func.count(), func.count(distinct(Ticket.resident_id)))
            .where(or_(Ticket.incident_id == incident_id, Ticket.id == lead.id)))).one()
        return int(reports), int(residents)

    async def take_lead(self, incident_id: int, ticket_id: int) -> bool:
        """Planned works nobody reported yet: this ticket leads them, if no other report of
        a concurrent transaction got there first (a conditional UPDATE)."""
        result = await self.session.execute(
            update(Incident).where(Incident.id == incident_id,
                                   Incident.lead_ticket_id.is_(None))
            .values(lead_ticket_id=ticket_id).execution_options(synchronize_session=False))
        assert isinstance(result, CursorResult)
        return result.rowcount == 1

    async def close_unreported(self, now: datetime) -> int:
        """Planned works whose window is over and that nobody reported: closed."""
        result = await self.session.execute(
            update(Incident).where(Incident.closed_at.is_(None),
                                   Incident.lead_ticket_id.is_(None),
                                   Incident.ends_at.is_not(None), Incident.ends_at <= now)
            .values(closed_at=now).execution_options(synchronize_session=False))
        assert isinstance(result, CursorResult)
        return int(result.rowcount or 0)

    async def close_if_unreported(self, incident_id: int, now: datetime) -> None:
        """The planned works' announcement was cancelled: the works are off too, unless a
        report already leads them (staff work it then)."""
        await self.session.execute(
            update(Incident).where(Incident.id == incident_id, Incident.closed_at.is_(None),
                                   Incident.lead_ticket_id.is_(None))
            .values(closed_at=now).execution_options(synchronize_session=False))
