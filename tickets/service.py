"""The single gate for creating tickets and changing them.

Chat, staff group, console, CLI and timers call these methods. Each change is checked by the
lifecycle (`tickets.lifecycle.check`, through `require`), recorded as a ticket event (actor,
time, note: the timeline and audit trail) and announced through outbox rows written in the same
transaction (tickets/posts.py); the notifier delivers them later, so a crash loses nothing.

The steps of one family live beside it and take the service: mediation (tickets/mediation.py),
the survey and the call-back (tickets/feedback.py), deadlines and timers (tickets/clocks.py),
incidents (tickets/incidents.py), erasure (tickets/erasure.py). What callers pass in is in
tickets/inputs.py.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    CallBack,
    Incident,
    Resident,
    Staff,
    Survey,
    Ticket,
    TicketEvent,
    utcnow,
)
from storage.personal_data import PersonalData
from storage.repositories import (
    CallBacks,
    Categories,
    Outbox,
    StaffMembers,
    Surveys,
    Tickets,
    Timers,
)
from tickets import clocks, erasure, feedback, incidents, mediation
from tickets.erasure import ErasedBy, ErasureSummary
from tickets.inputs import (
    SYSTEM,
    Actor,
    Intake,
    Investigation,
    Resolution,
    Submission,
    TicketError,
    attachment_from,
    details_from,
)
from tickets.lifecycle import (
    CLOCK_RUNNING,
    FINAL,
    OPEN,
    Action,
    LifecycleError,
    Status,
    accepts_information,
    after_waiting,
    check,
)
from tickets.mediation import Contact
from tickets.notices import (
    Acknowledged,
    Assigned,
    Escalated,
    InformationRequested,
    Investigating,
    InvestigationRecorded,
    Linked,
    NoticeFile,
    Rejected,
    ResidentAdded,
    ResidentNotice,
    Resolved,
    StaffMessage,
    Withdrawn,
)
from tickets.policy import (
    CAUSES,
    CHANNELS,
    DEFAULT_PHONE_REGION,
    PRIORITIES,
    RESOLUTIONS,
    SEVERITIES,
    CallBackOutcome,
    Timing,
    normalize_phone,
)
from tickets.posts import Posts
from tickets.scope import Scope
from tickets.timers import TimerKind

MAX_ATTACHMENTS = 30


class TicketService:
    def __init__(self, session: AsyncSession, *, staff_chat_id: int | None = None,
                 timing: Timing | None = None,
                 phone_region: str = DEFAULT_PHONE_REGION,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.tickets = Tickets(session)
        self.categories = Categories(session)
        self.outbox = Outbox(session)
        self.staff = StaffMembers(session)
        self.surveys = Surveys(session)
        self.timers = Timers(session)
        self.call_backs = CallBacks(session)
        self.session = session
        self.staff_chat_id = staff_chat_id
        self.timing = timing or Timing()
        self.phone_region = phone_region  # how a number without a country code is read
        self.clock = clock  # (tests pass a clock of their own to live through days)
        self.posts = Posts(session, self.outbox, self.staff, staff_chat_id)

    # --- intake ----------------------------------------------------------------------------
    async def submit(
        self, resident: Resident, submission: Submission, now: datetime | None = None
    ) -> tuple[Ticket, bool]:
        """Store a resident's report; returns (ticket, created). Idempotent per submission key."""
        existing = await self.tickets.by_submission(submission.key)
        if existing is not None:
            return existing, False
        ticket = await self._new_ticket(
            submission.key, submission.category, submission.description, submission.priority,
            "telegram", Actor.of_resident(resident), now)
        ticket.resident_id, ticket.resident = resident.id, resident
        ticket.unit_id, ticket.unit_text = resident.unit_id, resident.unit_label
        ticket.attachments = [attachment_from(m) for m in submission.evidence]
        ticket.details = details_from(submission.details)
        await self._join_incident(ticket)
        await self._numbered(ticket)
        await self._started(ticket)
        self.posts.evidence(ticket, ticket.attachments)
        return ticket, True

    async def take_intake(self, staff: Staff, intake: Intake) -> tuple[Ticket, bool]:
        """A staff member logs a complaint for a caller; it is theirs once they register."""
        existing = await self.tickets.by_submission(intake.key)
        if existing is not None:
            return existing, False
        if intake.channel not in CHANNELS:
            raise TicketError("unknown_channel")
        phone = normalize_phone(intake.phone, self.phone_region)
        if phone is None:
            raise TicketError("bad_phone")
        ticket = await self._new_ticket(intake.key, intake.category, intake.description,
                                        intake.priority, intake.channel, Actor.of_staff(staff),
                                        None)
        ticket.contact_name, ticket.contact_phone = intake.name, phone
        ticket.unit_text, ticket.unit_id = intake.unit, intake.unit_id
        ticket.assignee_id = staff.id
        if intake.resident is not None:
            ticket.resident_id, ticket.resident = intake.resident.id, intake.resident
        ticket.attachments = [attachment_from(m) for m in intake.evidence]
        await self._join_incident(ticket)
        await self._numbered(ticket)
        await self._started(ticket)
        self.posts.evidence(ticket, ticket.attachments)
        return ticket, True

    async def _join_incident(self, ticket: Ticket) -> None:
        """A new report of an open incident's category and scope belongs to it."""
        incident = await incidents.matching(self, ticket.category_code, ticket.unit_id,
                                            ticket.created_at)
        if incident is not None:
            ticket.incident_id, ticket.incident = incident.id, incident

    async def _started(self, ticket: Ticket) -> None:
        """A new ticket's deadlines run; a report linked to an incident follows its lead's."""
        if ticket.incident is not None:
            await incidents.linked(self, ticket, ticket.incident)
        else:
            await clocks.start_clocks(self, ticket)

    async def _new_ticket(self, key: str, category_code: str, description: str, priority: str,
                          channel: str, actor: Actor, now: datetime | None) -> Ticket:
        category = await self.categories.by_code(category_code)
        if category is None or not category.active:
            raise TicketError("unknown_category")
        if priority not in PRIORITIES:
            raise TicketError("unknown_priority")
        now = now or self.clock()
        ack_due, resolve_due = self.timing.sla.due_times(now, category.code, priority)
        ticket = Ticket(
            submission_key=key, category_code=category.code, description=description,
            channel=channel, status=Status.NEW, priority=priority, created_at=now,
            ack_due_at=ack_due, resolve_due_at=resolve_due, events=[], attachments=[],
            unit_text="",
        )
        ticket.events.append(TicketEvent(
            kind="status", to_status=Status.NEW, actor_type=actor.type, actor_id=actor.id,
            note=channel if channel != "telegram" else None, created_at=now))
        return ticket

    async def _numbered(self, ticket: Ticket) -> None:
        self.tickets.add(ticket)
        await self.session.flush()
        ticket.number = f"{ticket.created_at:%y%m}-{ticket.id:04d}"
        self.posts.refresh_card(ticket)
        await self.session.flush()

    async def claim_by_phone(self, resident: Resident) -> list[Ticket]:
        """A newly registered resident takes over the complaints logged for their number."""
        found = list(await self.tickets.unclaimed_with_phone([resident.phone]))
        for ticket in found:
            ticket.resident_id, ticket.resident = resident.id, resident
            self.record_event(ticket, "linked", Actor.of_resident(resident),
                              note=resident.name)
            self.posts.refresh_card(ticket)
            self.posts.thread(Linked(ticket.id, name=resident.name))
        await self.session.flush()
        return found

    # --- staff actions ---------------------------------------------------------------------
    def require(self, ticket: Ticket, action: Action, actor: Actor,
                version: int | None) -> Status | None:
        if version is not None and version != ticket.version:
            raise TicketError("changed")
        try:
            return check(action, ticket.status, actor.role)
        except LifecycleError as error:
            raise TicketError(error.code) from error

    async def acknowledge(self, ticket: Ticket, staff: Staff, version: int | None = None,
                          ) -> Ticket:
        return await self._take_up(ticket, staff, Action.ACKNOWLEDGE, version, Acknowledged)

    async def _take_up(self, ticket: Ticket, staff: Staff, action: Action,
                       version: int | None, notice: type[ResidentNotice]) -> Ticket:
        """A status step that tells the resident; whoever first works the ticket owns it."""
        actor = Actor.of_staff(staff)
        target = self.require(ticket, action, actor, version)
        if ticket.assignee_id is None:
            ticket.assignee_id = staff.id
        await self.move(ticket, target, actor)
        self.posts.tell_resident(ticket, notice(ticket.id))
        await incidents.for_reports(self, ticket, lambda report: self._take_up(
            report, staff, action, None, notice))
        return ticket

    async def assign(self, ticket: Ticket, staff: Staff, assignee: Staff,
                     version: int | None = None) -> Ticket:
        actor = Actor.of_staff(staff)
        action = Action.TAKE if assignee.id == staff.id else Action.ASSIGN
        self.require(ticket, action, actor, version)
        if not assignee.active:
            raise TicketError("not_staff")
        if ticket.assignee_id == assignee.id:
            raise TicketError("already_assigned")
        ticket.assignee_id = assignee.id
        ticket.assignee = assignee
        self.record_event(ticket, "assigned", actor, note=assignee.name,
                          details={"staff_id": assignee.id})
        self.posts.refresh_card(ticket)
        self.posts.thread(Assigned(ticket.id, name=assignee.name, by=staff.name))
        await self.session.flush()
        return ticket

    async def message_resident(self, ticket: Ticket, staff: Staff, text: str | None,
                               media: dict[str, Any] | None = None,
                               version: int | None = None) -> Ticket:
        actor = Actor.of_staff(staff)
        self.require(ticket, Action.MESSAGE, actor, version)
        if ticket.resident_id is None:
            raise TicketError("no_resident")
        self.record_event(ticket, "staff_message", actor, note=text or (media or {}).get("kind"),
                          details={"file": media} if media else None)
        self.posts.tell_resident(ticket, StaffMessage(ticket.id, text=text or "", staff=staff.name,
                                                      file=NoticeFile.of(media)))
        await self.session.flush()
        return ticket

    async def request_information(self, ticket: Ticket, staff: Staff, text: str,
                                  version: int | None = None) -> Ticket:
        actor = Actor.of_staff(staff)
        target = self.require(ticket, Action.REQUEST_INFO, actor, version)
        if ticket.resident_id is None:
            raise TicketError("no_resident")
        if ticket.acknowledged_at is None:
            ticket.acknowledged_at = self.clock()
        if ticket.assignee_id is None:
            ticket.assignee_id = staff.id
        await self.move(ticket, target, actor, note=text)
        self.posts.tell_resident(ticket, InformationRequested(ticket.id, text=text,
                                                              staff=staff.name))
        return ticket

    async def start_investigation(self, ticket: Ticket, staff: Staff,
                                  version: int | None = None) -> Ticket:
        return await self._take_up(ticket, staff, Action.INVESTIGATE, version, Investigating)

    async def record_investigation(self, ticket: Ticket, staff: Staff, record: Investigation,
                                   version: int | None = None) -> Ticket:
        actor = Actor.of_staff(staff)
        self.require(ticket, Action.RECORD_FINDINGS, actor, version)
        if record.severity not in SEVERITIES or record.cause_category not in CAUSES:
            raise TicketError("bad_value")
        ticket.site_visit_at, ticket.site_visit_by = record.site_visit_at, record.site_visit_by
        ticket.findings, ticket.interviewed = record.findings, record.interviewed
        ticket.severity, ticket.cause_category = record.severity, record.cause_category
        ticket.cause = record.cause
        self.record_event(ticket, "investigation", actor, note=record.findings, details={
            "site_visit_at": record.site_visit_at.isoformat() if record.site_visit_at else None,
            "site_visit_by": record.site_visit_by, "interviewed": record.interviewed,
            "severity": record.severity, "cause_category": record.cause_category,
            "cause": record.cause})
        self.posts.refresh_card(ticket)
        self.posts.thread(InvestigationRecorded(ticket.id, by=staff.name))
        await self.session.flush()
        return ticket

    async def start_resolving(self, ticket: Ticket, staff: Staff,
                              version: int | None = None) -> Ticket:
        actor = Actor.of_staff(staff)
        target = self.require(ticket, Action.START_RESOLVING, actor, version)
        await self.move(ticket, target, actor)
        # told only when it stays so: the card's Resolve asks its questions in this status,
        # and a resolution a minute later needs no "working on it" first
        await self.timers.restart(ticket.id, {
            TimerKind.TELL_RESOLVING: self.clock() + self.timing.tell_resolving_after})
        await incidents.for_reports(self, ticket,
                                    lambda report: self.start_resolving(report, staff))
        return ticket

    async def resolve(self, ticket: Ticket, staff: Staff, resolution: Resolution,
                      version: int | None = None) -> Ticket:
        actor = Actor.of_staff(staff)
        target = self.require(ticket, Action.RESOLVE, actor, version)
        if resolution.type not in RESOLUTIONS:
            raise TicketError("bad_value")
        now = self.clock()
        ticket.resolution_type, ticket.resolution_text = resolution.type, resolution.text
        ticket.improvement_measures = resolution.measures
        ticket.follow_up_at = resolution.follow_up_at
        await self.move(ticket, target, actor, note=resolution.text, details={
            "type": resolution.type, "measures": resolution.measures,
            "follow_up_at": (resolution.follow_up_at.isoformat()
                             if resolution.follow_up_at else None)})
        round_ = ticket.reopen_count
        if ticket.resident_id is not None:
            survey = await self.surveys.of_round(ticket.id, round_)
            if survey is None:  # exactly one survey per resolution
                survey = Survey(ticket_id=ticket.id, round=round_, sent_at=now)
                self.surveys.add(survey)
                await self.session.flush()
            self.posts.tell_resident(ticket, Resolved(ticket.id, survey_id=survey.id))
            await self.timers.set(ticket.id, TimerKind.SURVEY_REMINDER,
                                  now + self.timing.survey_reminder_after, round_)
        else:  # nobody to ask: closes after the same wait
            await self.timers.set(ticket.id, TimerKind.AUTO_CLOSE,
                                  now + self.timing.survey_reminder_after
                                  + self.timing.survey_close_after, round_)
        if resolution.follow_up_at is not None:
            await self.timers.set(ticket.id, TimerKind.FOLLOW_UP, resolution.follow_up_at, round_)
        await incidents.for_reports(self, ticket, lambda report: self.resolve(
            report, staff, replace(resolution, follow_up_at=None)))
        return ticket


    # --- mediation (tickets/mediation.py) --------------------------------------------------
    async def contact_party(self, ticket: Ticket, staff: Staff, contact: Contact,
                            version: int | None = None) -> Ticket:
        return await mediation.contact_party(self, ticket, staff, contact, version)

    async def party_answered(self, resident: Resident, ticket: Ticket, *,
                             text: str | None = None,
                             media: dict[str, Any] | None = None) -> Ticket:
        return await mediation.party_answered(self, resident, ticket, text=text, media=media)

    async def record_agreement(self, ticket: Ticket, staff: Staff, text: str, day: date,
                               version: int | None = None) -> Ticket:
        return await mediation.record_agreement(self, ticket, staff, text, day, version)

    async def reject(self, ticket: Ticket, staff: Staff, reason: str,
                     version: int | None = None) -> Ticket:
        actor = Actor.of_staff(staff)
        target = self.require(ticket, Action.REJECT, actor, version)
        await self.move(ticket, target, actor, note=reason)
        self.posts.tell_resident(ticket, Rejected(ticket.id, text=reason))
        await incidents.for_reports(self, ticket,
                                    lambda report: self.reject(report, staff, reason))
        return ticket

    async def escalate(self, ticket: Ticket, actor: Actor, reason: str | None = None,
                       version: int | None = None) -> Ticket:
        self.require(ticket, Action.ESCALATE, actor, version)
        ticket.escalated_at = self.clock()
        self.record_event(ticket, "escalated", actor, note=reason)
        self.posts.refresh_card(ticket)
        managers = await self.posts.managers()
        self.posts.alert(Escalated(ticket.id, by=actor.name, reason=reason or "",
                                   managers=managers.names, manager_ids=managers.ids), managers)
        await self.session.flush()
        return ticket

    async def declare_incident(self, ticket: Ticket, staff: Staff, scope: Scope,
                               scope_text: str, version: int | None = None) -> Incident:
        """The ticket leads an incident for `scope` (tickets/incidents.py)."""
        return await incidents.declare(self, ticket, staff, scope, scope_text, version)

    async def unlink_from_incident(self, report: Ticket, staff: Staff) -> Ticket:
        """A report linked by mistake is a ticket of its own again (tickets/incidents.py)."""
        await incidents.unlink(self, report, staff)
        await self.session.flush()
        return report

    async def add_note(self, ticket: Ticket, staff: Staff, text: str,
                       version: int | None = None) -> Ticket:
        actor = Actor.of_staff(staff)
        self.require(ticket, Action.NOTE, actor, version)
        self.record_event(ticket, "note", actor, note=text)
        await self.session.flush()
        return ticket

    # --- the resident's side ---------------------------------------------------------------
    async def set_reachable(self, resident: Resident, reachable: bool) -> None:
        """The resident blocked the bot, or wrote to it again after unblocking it. The cards
        of their live tickets say so; once reachable, what they missed meanwhile goes out."""
        if resident.reachable == reachable:
            return
        resident.reachable = reachable
        if reachable and resident.chat_id is not None:
            await self.outbox.resend_to_chat(resident.chat_id)
        await self.refresh_cards_of(resident)

    async def refresh_cards_of(self, resident: Resident) -> None:
        """The cards of a resident's live tickets show their name and phone as they are now."""
        if self.staff_chat_id is None:
            return
        for ticket in await self.tickets.live_of_resident(resident.id,
                                                          OPEN | {Status.RESOLVED}):
            self.posts.refresh_card(ticket)

    async def of_resident(self, resident: Resident, ticket_id: int) -> Ticket | None:
        """A resident sees only their own tickets; anyone else's number is simply not found."""
        return await self.tickets.for_resident(resident.id, ticket_id)

    async def page(
        self, resident: Resident, page: int, per_page: int
    ) -> tuple[Sequence[Ticket], int]:
        return await self.tickets.page_for_resident(resident.id, page * per_page, per_page)

    async def withdraw(self, resident: Resident, ticket: Ticket) -> Ticket:
        if ticket.resident_id != resident.id:
            raise TicketError("not_found")
        actor = Actor.of_resident(resident)
        target = self.require(ticket, Action.WITHDRAW, actor, None)
        await self.move(ticket, target, actor)
        self.posts.thread(Withdrawn(ticket.id))
        await incidents.dissolve(self, ticket)  # (its reports are on their own again)
        return ticket

    async def add_information(
        self,
        resident: Resident,
        ticket: Ticket,
        *,
        text: str | None = None,
        media: dict[str, Any] | None = None,
    ) -> Ticket:
        """The resident adds details or a file (also their answer to a staff message)."""
        if ticket.resident_id != resident.id:
            raise TicketError("not_found")
        if not accepts_information(ticket.status):
            raise TicketError("ticket_closed")
        actor = Actor.of_resident(resident)
        if media is not None:
            if len(ticket.attachments) >= MAX_ATTACHMENTS:
                raise TicketError("too_many_files")
            ticket.attachments.append(attachment_from(media))
        self.record_event(ticket, "evidence" if media is not None else "message", actor,
                          note=text if media is None else (text or media["kind"]),
                          details={"file_id": media["file_id"]} if media else None)
        self.posts.thread(ResidentAdded(ticket.id, text=(text or "")[:3000],
                                        file=NoticeFile.of(media)))
        if ticket.status == Status.WAITING_FOR_RESIDENT:
            previous = next((e.from_status for e in reversed(ticket.events)
                             if e.kind == "status" and e.to_status == Status.WAITING_FOR_RESIDENT),
                            None)
            await self.move(ticket, after_waiting(previous), actor, note="answered")
        await self.session.flush()
        return ticket


    # --- plumbing --------------------------------------------------------------------------
    # --- feedback and time (tickets/feedback.py, tickets/clocks.py) ------------------------
    async def answer_survey(self, resident: Resident, survey: Survey, *,
                            fixed: str | None = None, rating: int | None = None,
                            comment: str | None = None) -> tuple[Survey, bool]:
        """Record one part of a survey answer; returns (survey, changed). Answers are final."""
        return await feedback.answer_survey(self, resident, survey, fixed=fixed, rating=rating,
                                            comment=comment)

    async def answer_call_back(self, resident: Resident, call_back: CallBack,
                               outcome: CallBackOutcome) -> tuple[CallBack, bool]:
        return await feedback.answer_call_back(self, resident, call_back, outcome)

    async def fire_due_timers(self, now: datetime | None = None) -> int:
        """Do what is due (reminders, auto-close, follow-ups); each timer fires exactly once."""
        return await clocks.fire_due(self, now)

    # --- the steps' plumbing (for tickets/ only) -------------------------------------------
    async def move(self, ticket: Ticket, target: Status | None, actor: Actor,
                   note: str | None = None, details: dict[str, Any] | None = None) -> None:
        if target is None:
            return
        now = self.clock()
        previous = ticket.status
        ticket.status = target
        if target == Status.WAITING_FOR_RESIDENT:
            await clocks.pause_resolve_clock(self, ticket, now)
        elif ticket.resolve_paused_at is not None and target in CLOCK_RUNNING:
            await clocks.resume_resolve_clock(self, ticket, now, actor)
        else:
            ticket.resolve_paused_at = None  # (ended: no deadline to resume)
        if target == Status.ACKNOWLEDGED and ticket.acknowledged_at is None:
            ticket.acknowledged_at = now
        elif target == Status.RESOLVED:
            ticket.resolved_at = now
        elif target in (Status.CLOSED, Status.WITHDRAWN, Status.REJECTED):
            ticket.closed_at = now
        if target == Status.CLOSED:
            await feedback.schedule_call_back(self, ticket, now)
        ticket.events.append(TicketEvent(
            kind="status", from_status=previous, to_status=target, actor_type=actor.type,
            actor_id=actor.id, note=note, details=details, created_at=now))
        if target in FINAL:  # what an erased resident left on it was kept until now
            await erasure.forget_finished(self.session, ticket)
        self.posts.refresh_card(ticket)
        await self.session.flush()

    # --- personal data ---------------------------------------------------------------------
    async def erasure_summary(self, resident: Resident) -> ErasureSummary:
        return await erasure.summary(PersonalData(self.session), resident)

    async def forget_resident(self, resident: Resident, by: ErasedBy,
                              staff: Staff | None = None) -> ErasureSummary:
        """Erase a resident's personal data (tickets/erasure.py says what goes, and when)."""
        return await erasure.forget_resident(self, resident, by, self.clock(), staff)

    def record_erasure(self, ticket: Ticket, by: ErasedBy, staff: Staff | None) -> None:
        """The ticket's timeline says its complainant's data was erased (nothing more)."""
        self.record_event(ticket, "erased", Actor.of_staff(staff) if staff else SYSTEM,
                          details={"by": str(by)})
        self.posts.refresh_card(ticket)

    def record_event(self, ticket: Ticket, kind: str, actor: Actor, *, note: str | None = None,
                     details: dict[str, Any] | None = None) -> None:
        ticket.events.append(TicketEvent(kind=kind, actor_type=actor.type, actor_id=actor.id,
                                         note=note, details=details, created_at=self.clock()))
