"""Incidents: one outage, many residents (a lift stops, the water is cut).

Staff mark a ticket an incident for a scope (tickets/scope.py); that ticket leads it. While
it is open, a new report of its category from its scope is linked to it at once: the
resident hears that the office already knows, the staff group gets one line in the lead's
thread instead of a new card, and the report gets no deadlines of its own. What staff do to
the lead — take it up, investigate, resolve, reject — is done to every open linked report
too, through the same service, and each resident hears it once (once per resident, however
many of their reports are linked); a resolution gives each their own survey. The incident
closes when its lead is resolved or rejected.

Planned works (an announcement's, tickets/announcements.py) are an incident opened before
anyone reports: its scope, category and window are known, its lead is not. The first report
of its category from its scope within the window leads it (the resident is told the office
knows, and staff get its card as an incident's); later ones are linked to it as to any
incident. After the window nothing more is linked; planned works nobody reported are closed
by the scheduler (`close_finished`), and ones with a lead stay with staff until they resolve it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from storage.incidents import Incidents
from storage.models import Incident, Staff, Ticket, Unit
from tickets.lifecycle import OPEN, Action, LifecycleError, Role, Status, check
from tickets.notices import IncidentDeclared, IncidentReport
from tickets.scope import Scope, ScopeError

if TYPE_CHECKING:
    from tickets.service import TicketService

# the lead's status a newly linked report is brought to, step by step (quietly: the resident
# has just been told the office knows)
STEPS = ((Status.ACKNOWLEDGED, Action.ACKNOWLEDGE), (Status.INVESTIGATING, Action.INVESTIGATE),
         (Status.RESOLVING, Action.START_RESOLVING))
REACHED = {Status.ACKNOWLEDGED: 1, Status.INVESTIGATING: 2, Status.RESOLVING: 3}
REPORT_EXCERPT = 500  # of a linked report's description, in the lead's thread


async def declare(service: TicketService, ticket: Ticket, staff: Staff, scope: Scope,
                  scope_text: str, version: int | None = None) -> Incident:
    """The ticket leads an incident for `scope` from now."""
    from tickets.service import Actor, TicketError

    actor = Actor.of_staff(staff)
    service._require(ticket, Action.DECLARE_INCIDENT, actor, version)
    if ticket.incident_id is not None or await Incidents(service.session).led_by(ticket.id):
        raise TicketError("already_incident")
    incident = Incident(lead_ticket_id=ticket.id, category_code=ticket.category_code,
                        scope=scope.to_json(), opened_by_id=staff.id, opened_at=service.clock())
    service.session.add(incident)
    await service.session.flush()
    service._event(ticket, "incident", actor, note=scope_text,
                   details={"incident_id": incident.id, "scope": scope.to_json()})
    service._thread(IncidentDeclared(ticket.id, scope=scope_text, by=staff.name))
    service.refresh_card(ticket)
    await service.session.flush()
    return incident


async def plan(session: AsyncSession, category: str, scope: Scope, scope_text: str,
               starts_at: datetime, ends_at: datetime, staff_id: int | None,
               now: datetime) -> Incident:
    """Planned works: an incident for `scope` and `category` from `starts_at` to `ends_at`,
    led by its first report."""
    incident = Incident(lead_ticket_id=None, category_code=category, scope=scope.to_json(),
                        scope_text=scope_text[:200], opened_by_id=staff_id, opened_at=now,
                        starts_at=starts_at, ends_at=ends_at)
    session.add(incident)
    await session.flush()
    return incident


async def close_finished(session: AsyncSession, now: datetime) -> int:
    """Planned works whose window is over and that nobody reported are closed (the scheduler
    calls this); ones a report leads are the staff's to resolve."""
    return await Incidents(session).close_unreported(now)


async def matching(service: TicketService, category: str, unit_id: int | None,
                   now: datetime) -> Incident | None:
    """The open incident a new report of this category from this unit belongs to."""
    unit = await service.session.get(Unit, unit_id) if unit_id else None
    for incident in await Incidents(service.session).open_of_category(category, now):
        try:
            if not Scope.from_json(incident.scope).contains(unit):
                continue
        except ScopeError:
            continue  # (a scope a newer release wrote)
        if incident.lead_ticket_id is None:
            # planned works nobody reported yet: this report may lead them. Locked before
            # the report is written: a report at the same moment waits here, then finds the
            # lead (else both would hold the row a new ticket refers to, and each would wait
            # for the other to take the lead: a deadlock on PostgreSQL)
            found = await Incidents(service.session).locked(incident.id)
            if found is None or found.closed_at is not None:
                continue  # (called off meanwhile)
            return found
        return incident
    return None


async def linked(service: TicketService, ticket: Ticket, incident: Incident) -> None:
    """A report just linked: the line in the lead's thread, and the lead's stage reached."""
    from tickets.service import SYSTEM

    if incident.lead_ticket_id is None and await _leads_planned(service, ticket, incident):
        return
    assert incident.lead_ticket_id is not None
    lead = await service.tickets.get(incident.lead_ticket_id)
    assert lead is not None
    service._event(ticket, "incident", SYSTEM, note=lead.number,
                   details={"incident_id": incident.id, "lead": lead.number})
    service._thread(IncidentReport(ticket.id, lead=lead.number or "", unit=ticket.unit_text,
                                   text=ticket.description[:REPORT_EXCERPT]))
    service.refresh_card(lead)
    ticket.ack_due_at, ticket.resolve_due_at = lead.ack_due_at, lead.resolve_due_at
    ticket.assignee_id = lead.assignee_id
    for _status, action in STEPS[:REACHED.get(Status(lead.status), 0)]:
        try:  # (as the office would, on its behalf)
            target = check(action, ticket.status, Role.AGENT)
        except LifecycleError:
            break
        await service._move(ticket, target, SYSTEM, note=lead.number)


async def _leads_planned(service: TicketService, ticket: Ticket, incident: Incident) -> bool:
    """The first report of planned works leads them: the incident's card is its own, its
    deadlines run as any ticket's. False if a report of another transaction led them first
    (this one is then linked to that one)."""
    from tickets.service import SYSTEM

    taken = await Incidents(service.session).take_lead(incident.id, ticket.id)
    await service.session.refresh(incident)
    if not taken:
        return False
    ticket.incident_id, ticket.incident = None, None
    planner = await service.staff.get(incident.opened_by_id) if incident.opened_by_id else None
    scope_text = incident.scope_text or ""
    service._event(ticket, "incident", SYSTEM, note=scope_text,
                   details={"incident_id": incident.id, "scope": incident.scope,
                            "planned": True})
    service._thread(IncidentDeclared(ticket.id, scope=scope_text,
                                     by=planner.name if planner else ""))
    service.refresh_card(ticket)
    await service._start_clocks(ticket)
    return True


async def leads_planned_works(session: AsyncSession, ticket: Ticket) -> bool:
    """Whether this new report leads planned works (its resident hears the office knows)."""
    incident = await Incidents(session).led_by(ticket.id)
    return incident is not None and incident.starts_at is not None


async def for_reports(service: TicketService, lead: Ticket,
                      step: Callable[[Ticket], Awaitable[object]]) -> None:
    """Do to each open report linked to the incident `lead` leads what was done to the lead;
    each resident hears of it once. Reports that cannot take the step now are left as they
    are (one the office waits on its resident for, say)."""
    from tickets.service import TicketError

    incident = await Incidents(service.session).led_by(lead.id)
    if incident is None:
        return
    told = {lead.resident_id} if lead.resident_id is not None else set()
    for report in await Incidents(service.session).reports(incident.id):
        if report.status not in OPEN:
            continue
        with service.quietly(tell_resident=report.resident_id not in told):
            try:
                await step(report)
            except TicketError:
                continue
        if report.resident_id is not None:
            told.add(report.resident_id)
    if lead.status not in OPEN:
        incident.closed_at = service.clock()


async def unlink(service: TicketService, report: Ticket, staff: Staff) -> None:
    """A report linked by mistake (another problem, another place) is a ticket of its own."""
    from tickets.service import Actor, TicketError

    actor = Actor.of_staff(staff)
    service._require(report, Action.UNLINK_INCIDENT, actor, None)
    incident = report.incident
    if incident is None:
        raise TicketError("not_linked")
    lead = (await service.tickets.get(incident.lead_ticket_id)
            if incident.lead_ticket_id is not None else None)
    service._event(report, "incident", actor, note=lead.number if lead else None,
                   details={"incident_id": incident.id, "unlinked": True})
    await _on_its_own(service, report)
    if lead is not None:
        service.refresh_card(lead)


async def _on_its_own(service: TicketService, report: Ticket) -> None:
    """No longer linked: its own card, and the deadlines it had from its own reporting."""
    report.incident_id, report.incident = None, None
    report.ack_due_at, report.resolve_due_at = service.timing.sla.due_times(
        report.created_at, report.category_code, report.priority)
    service.refresh_card(report)
    await service._start_clocks(report)


async def dissolve(service: TicketService, lead: Ticket) -> None:
    """The lead is withdrawn by its resident: the incident ends, and each open report linked
    to it is a ticket of its own again (its card, and the deadlines it had from its own
    reporting)."""
    incident = await Incidents(service.session).led_by(lead.id)
    if incident is None or incident.closed_at is not None:
        return
    incident.closed_at = service.clock()
    for report in await Incidents(service.session).reports(incident.id):
        if report.status not in OPEN:
            continue
        await _on_its_own(service, report)
