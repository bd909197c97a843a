"""Incidents: one outage, many residents (a lift stops, the water is cut).

Staff mark a ticket an incident for a scope (tickets/scope.py); that ticket leads it. While
it is open, a new report of its category from its scope is linked to it at once: the
resident hears that the office already knows, the staff group gets one line in the lead's
thread instead of a new card, and the report gets no deadlines of its own. What staff do to
the lead — take it up, investigate, resolve, reject — is done to every open linked report
too, through the same service, and each resident hears it once (once per resident, however
many of their reports are linked); a resolution gives each their own survey. The incident
closes when its lead is resolved or rejected.

Staff may also link a report by hand (`link_by_hand`: from its card or the console) to any
open incident, of its category or not — a resident who files a power cut under "lift" reports
the same outage, and a person has looked — and unlink one (`unlink`). A report linked by hand
hears what one linked at once hears, its card becomes a line in the lead's thread, and from
then on it is worked with the incident.

Planned works (an announcement's, tickets/announcements.py) are an incident opened before
anyone reports: its scope, category and window are known, its lead is not. The first report
of its category from its scope within the window leads it (the resident is told the office
knows, and staff get its card as an incident's); later ones are linked to it as to any
incident. After the window nothing more is linked; planned works nobody reported are closed
by the scheduler (`close_finished`), and ones with a lead stay with staff until they resolve it.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from locales import Gettext
from storage.incidents import Incidents
from storage.models import Incident, Staff, Ticket, Unit
from storage.repositories import Units
from tickets import clocks
from tickets.inputs import SYSTEM, Actor, TicketError
from tickets.lifecycle import OPEN, Action, LifecycleError, Role, Status, check
from tickets.notices import Card, IncidentDeclared, IncidentReport, JoinedIncident
from tickets.scope import Scope, ScopeError, ScopeKind, floors_from
from tickets.timers import TimerKind

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
    actor = Actor.of_staff(staff)
    service.require(ticket, Action.DECLARE_INCIDENT, actor, version)
    if ticket.incident_id is not None or await Incidents(service.session).led_by(ticket.id):
        raise TicketError("already_incident")
    incident = Incident(lead_ticket_id=ticket.id, category_code=ticket.category_code,
                        scope=scope.to_json(), opened_by_id=staff.id, opened_at=service.clock())
    service.session.add(incident)
    await service.session.flush()
    service.record_event(ticket, "incident", actor, note=scope_text,
                         details={"incident_id": incident.id, "scope": scope.to_json()})
    service.posts.thread(IncidentDeclared(ticket.id, scope=scope_text, by=staff.name))
    service.posts.refresh_card(ticket)
    await service.session.flush()
    return incident


async def scope_for(session: AsyncSession, ticket: Ticket, kind: ScopeKind, typed: str,
                    _: Gettext) -> tuple[Scope, str]:
    """The scope staff chose for the incident `ticket` leads (its own building, some floors
    of it or some flats as `typed`, or the whole property), and it in words. A flat may be
    typed as on the unit list ("2-0301") or, in the ticket's building, by its number alone."""
    units = Units(session)
    unit = await units.get(ticket.unit_id) if ticket.unit_id else None
    labels: tuple[str, ...] = ()
    if kind == ScopeKind.PROPERTY:
        scope = Scope(kind)
    elif kind == ScopeKind.UNITS:
        found: dict[int, str] = {}
        for word in re.split(r"[,，;；\s]+", typed):
            if not word:
                continue
            flat = await units.by_label(word) or (
                await units.find(unit.building_id, word) if unit is not None else None)
            if flat is None:
                raise TicketError("bad_units")
            found[flat.id] = flat.label
        if not found:
            raise TicketError("bad_units")
        scope, labels = Scope(kind, unit_ids=tuple(found)), tuple(found.values())
    elif unit is None or kind not in (ScopeKind.BUILDING, ScopeKind.FLOORS):
        raise TicketError("not_on_list")  # (its building is not known)
    else:
        try:
            scope = Scope(kind, unit.building_id,
                          floors_from(typed) if kind == ScopeKind.FLOORS else ())
        except ScopeError:
            raise TicketError("bad_floors") from None
    return scope, scope.describe(_, unit.building.name if unit else "", labels)


async def scope_words(session: AsyncSession, incident: Incident, _: Gettext) -> str:
    """The incident's scope in words, in the reader's language."""
    try:
        scope = Scope.from_json(incident.scope)
    except ScopeError:
        return "—"  # (a scope a newer release wrote)
    units = Units(session)
    building = await units.building(scope.building_id) if scope.building_id else None
    labels = [u.label for i in scope.unit_ids if (u := await units.get(i)) is not None]
    return scope.describe(_, building.name if building else "", tuple(labels))


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


async def linked(service: TicketService, ticket: Ticket, incident: Incident,
                 by: Actor | None = None) -> None:
    """A report just linked (at once, or `by` a staff member): the line in the lead's
    thread, and the lead's stage reached (the steps the report has not taken yet)."""
    if incident.lead_ticket_id is None and await _leads_planned(service, ticket, incident):
        return
    assert incident.lead_ticket_id is not None
    lead = await service.tickets.get(incident.lead_ticket_id)
    assert lead is not None
    details = {"incident_id": incident.id, "lead": lead.number}
    service.record_event(ticket, "incident", by or SYSTEM, note=lead.number,
                         details=details | ({"by_hand": True} if by else {}))
    service.posts.thread(IncidentReport(ticket.id, lead=lead.number or "", unit=ticket.unit_text,
                                        text=ticket.description[:REPORT_EXCERPT]))
    service.posts.refresh_card(lead)
    ticket.ack_due_at, ticket.resolve_due_at = lead.ack_due_at, lead.resolve_due_at
    ticket.assignee_id = lead.assignee_id or ticket.assignee_id
    taken = REACHED.get(Status(ticket.status), 0)
    for _status, action in STEPS[taken:REACHED.get(Status(lead.status), 0)]:
        try:  # (as the office would, on its behalf)
            target = check(action, ticket.status, Role.AGENT)
        except LifecycleError:
            break
        await service.move(ticket, target, SYSTEM, note=lead.number)


async def _leads_planned(service: TicketService, ticket: Ticket, incident: Incident) -> bool:
    """The first report of planned works leads them: the incident's card is its own, its
    deadlines run as any ticket's. False if a report of another transaction led them first
    (this one is then linked to that one)."""
    taken = await Incidents(service.session).take_lead(incident.id, ticket.id)
    await service.session.refresh(incident)
    if not taken:
        return False
    ticket.incident_id, ticket.incident = None, None
    planner = await service.staff.get(incident.opened_by_id) if incident.opened_by_id else None
    scope_text = incident.scope_text or ""
    service.record_event(ticket, "incident", SYSTEM, note=scope_text,
                         details={"incident_id": incident.id, "scope": incident.scope,
                                  "planned": True})
    service.posts.thread(IncidentDeclared(ticket.id, scope=scope_text,
                                          by=planner.name if planner else ""))
    service.posts.refresh_card(ticket)
    await clocks.start_clocks(service, ticket)
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
    # (held: a report being linked by hand meanwhile is either seen here, or refused there)
    incident = await Incidents(service.session).led_by(lead.id, lock=True)
    if incident is None:
        return
    told = {lead.resident_id} if lead.resident_id is not None else set()
    for report in await Incidents(service.session).reports(incident.id):
        if report.status not in OPEN:
            continue
        with service.posts.quietly(tell_resident=report.resident_id not in told):
            try:
                await step(report)
            except TicketError:
                continue
        if report.resident_id is not None:
            told.add(report.resident_id)
    if lead.status not in OPEN:
        incident.closed_at = service.clock()


@dataclass(frozen=True)
class OpenIncident:
    """An incident a report may be linked to by hand, with its lead."""

    incident: Incident
    lead: Ticket


async def open_to_link(service: TicketService, report: Ticket) -> list[OpenIncident]:
    """The open incidents this report could join: those of its category first (the likelier
    ones), then the newest. Not the one it leads, nor planned works nobody reported yet (the
    first report of their kind leads them)."""
    found = []
    for incident in await Incidents(service.session).still_open():
        if incident.lead_ticket_id is None:
            continue
        lead = await service.tickets.get(incident.lead_ticket_id)
        if lead is not None and lead.id != report.id and lead.status in OPEN:
            found.append(OpenIncident(incident, lead))
    found.sort(key=lambda o: o.incident.category_code != report.category_code)
    return found


async def link_by_hand(service: TicketService, report: Ticket, incident_id: int, staff: Staff,
                       version: int | None = None) -> Incident:
    """A staff member links a report to an open incident: the resident hears the office
    already knows, its card gives way to a line in the lead's thread, and what is done to
    the lead from now on is done to it. Refused (TicketError): a finished ticket ("not_now"),
    one linked already ("already_linked"), one that leads an incident itself ("is_lead"), an
    incident that is unknown or closed meanwhile ("incident_closed")."""
    actor = Actor.of_staff(staff)
    service.require(report, Action.LINK_INCIDENT, actor, version)
    if report.incident_id is not None:
        raise TicketError("already_linked")
    repository = Incidents(service.session)
    if await repository.led_by(report.id) is not None:
        raise TicketError("is_lead")
    incident = await repository.locked(incident_id)  # (see for_reports)
    lead = (await service.tickets.get(incident.lead_ticket_id)
            if incident is not None and incident.lead_ticket_id is not None else None)
    if incident is None or lead is None:
        raise TicketError("incident_closed")
    await service.session.refresh(lead)  # (its status as of the lock, not as first read)
    if incident.closed_at is not None or lead.status not in OPEN:
        raise TicketError("incident_closed")
    had_card = report.card_message_id is not None
    report.incident_id, report.incident = incident.id, incident
    report.resolve_paused_at = None  # (no deadlines of its own while linked)
    await service.timers.cancel(report.id, *DEADLINE_TIMERS)
    await linked(service, report, incident, by=actor)
    service.posts.tell_resident(report, JoinedIncident(report.id))
    if had_card and service.staff_chat_id is not None:
        # its own card, drawn once more: now only a pointer to the incident's card
        service.outbox.enqueue(service.staff_chat_id, Card(report.id))
    await service.session.flush()
    return incident


DEADLINE_TIMERS = (TimerKind.ACK_REMINDER, TimerKind.ACK_OVERDUE, TimerKind.RESOLVE_REMINDER,
                   TimerKind.RESOLVE_OVERDUE)


async def unlink(service: TicketService, report: Ticket, staff: Staff) -> None:
    """A report linked by mistake (another problem, another place) is a ticket of its own."""
    actor = Actor.of_staff(staff)
    service.require(report, Action.UNLINK_INCIDENT, actor, None)
    incident = report.incident
    if incident is None:
        raise TicketError("not_linked")
    lead = (await service.tickets.get(incident.lead_ticket_id)
            if incident.lead_ticket_id is not None else None)
    service.record_event(report, "incident", actor, note=lead.number if lead else None,
                         details={"incident_id": incident.id, "unlinked": True})
    await _on_its_own(service, report)
    if lead is not None:
        service.posts.refresh_card(lead)


async def _on_its_own(service: TicketService, report: Ticket) -> None:
    """No longer linked: its own card, and the deadlines it had from its own reporting."""
    report.incident_id, report.incident = None, None
    sla = service.timing.sla
    report.ack_due_at, report.resolve_due_at = sla.due_times(
        report.created_at, report.category_code, report.priority)
    service.posts.refresh_card(report)
    if not await Incidents(service.session).had_clocks(report.id):
        await clocks.start_clocks(service, report)
        return
    # linked by hand after it had its own: they run again, from its reporting
    await service.timers.restart(report.id, clocks.deadline_timers(service, report,
                                                                   report.created_at))


async def dissolve(service: TicketService, lead: Ticket) -> None:
    """The lead is withdrawn by its resident: the incident ends, and each open report linked
    to it is a ticket of its own again (its card, and the deadlines it had from its own
    reporting)."""
    incident = await Incidents(service.session).led_by(lead.id, lock=True)  # (see for_reports)
    if incident is None or incident.closed_at is not None:
        return
    incident.closed_at = service.clock()
    for report in await Incidents(service.session).reports(incident.id):
        if report.status not in OPEN:
            continue
        await _on_its_own(service, report)
