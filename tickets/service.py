"""The single gate for creating tickets and changing them.

Chat, staff group, CLI and timers call these methods. Each change is checked by the lifecycle
(`tickets.lifecycle.check`), recorded as a ticket event (actor, time, note: the timeline and
audit trail) and announced through outbox rows written in the same transaction; the notifier
delivers them later, so a crash loses nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    Attachment,
    CallBack,
    Incident,
    Resident,
    Staff,
    Survey,
    Ticket,
    TicketDetail,
    TicketEvent,
    TicketParty,
    utcnow,
)
from storage.personal_data import PersonalData
from storage.repositories import (
    CallBacks,
    Categories,
    Outbox,
    Residents,
    StaffMembers,
    Surveys,
    Tickets,
    Timers,
    Units,
)
from tickets import erasure, incidents
from tickets.erasure import ErasedBy, ErasureSummary
from tickets.evidence import ALBUM_MAX, EvidenceKind, album_class
from tickets.lifecycle import (
    CLOCK_RUNNING,
    FINAL,
    OPEN,
    Action,
    LifecycleError,
    Role,
    Status,
    accepts_information,
    after_waiting,
    check,
)
from tickets.notices import (
    Acknowledged,
    Apology,
    Assigned,
    AutoClosed,
    CallBackPost,
    CallBackQuestion,
    Card,
    ClosedByResident,
    DeadlineNear,
    Escalated,
    Evidence,
    FollowUpDue,
    InformationRequested,
    Investigating,
    InvestigationRecorded,
    Linked,
    MediationPost,
    NotFixed,
    NoticeFile,
    Overdue,
    PartyMessage,
    PartySettled,
    Rejected,
    ResidentAdded,
    ResidentNotice,
    Resolved,
    Resolving,
    StaffMessage,
    SurveyAnswered,
    SurveyReminder,
    TicketNotice,
    Withdrawn,
)
from tickets.offers import is_dispute
from tickets.policy import (
    CAUSES,
    CHANNELS,
    DEFAULT_PHONE_REGION,
    PRIORITIES,
    RESOLUTIONS,
    SEVERITIES,
    SURVEY_ANSWERS,
    CallBackOutcome,
    Timing,
    normalize_phone,
)
from tickets.questions import CODE_MAX, DETAIL_TEXT_MAX, QUESTIONS_MAX, Detail
from tickets.scope import Scope
from tickets.timers import Stage, TimerKind

MAX_ATTACHMENTS = 30


class TicketError(Exception):
    """A change the rules do not allow; `code` says which rule."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class Actor:
    role: Role
    id: int | None = None  # the resident's or the staff member's id
    name: str = ""

    @property
    def type(self) -> str:
        return {Role.AGENT: "staff", Role.MANAGER: "staff"}.get(self.role, self.role.value)

    @classmethod
    def of_staff(cls, staff: Staff) -> Actor:
        return cls(Role(staff.role), staff.id, staff.name)

    @classmethod
    def of_resident(cls, resident: Resident) -> Actor:
        return cls(Role.RESIDENT, resident.id, resident.name)


SYSTEM = Actor(Role.SYSTEM)


@dataclass
class Submission:
    key: str  # one draft, one ticket: a repeated submit returns the first ticket
    category: str
    description: str
    priority: str = "normal"
    evidence: list[dict[str, Any]] = field(default_factory=list)
    details: tuple[Detail, ...] = ()  # answers to the category's questions


@dataclass(frozen=True)
class Intake:
    """A complaint taken by phone, e-mail or at the desk, for someone who may not use the bot."""

    key: str
    name: str
    phone: str  # as typed; stored in E.164 (read in the office's PHONE_REGION)
    unit: str  # as typed: the unit's label, or free text (unverified) without `unit_id`
    category: str
    description: str
    channel: str
    priority: str = "normal"
    unit_id: int | None = None  # a unit of the office's list
    resident: Resident | None = None  # a resident already in the bot: told in the chat
    evidence: tuple[dict[str, Any], ...] = ()  # files kept from the form (MediaStore)


PARTY_METHODS = ("bot", "visit", "call")


@dataclass(frozen=True)
class Contact:
    """Staff reach the other party of a dispute: their unit as typed, how (a message through
    the bot, a visit, a call), and what the other party reads (bot) or what was said."""

    unit: str
    method: str
    text: str


@dataclass(frozen=True)
class Managers:
    """The managers an alert names: as the post shows them, their Telegram ids (mentioned, so
    that Telegram notifies each), and the private chats of those who want alerts there too."""

    names: str = ""
    ids: tuple[int, ...] = ()
    private_chats: tuple[int, ...] = ()


@dataclass(frozen=True)
class Investigation:
    site_visit_at: datetime | None
    site_visit_by: str | None
    findings: str
    interviewed: str | None
    severity: str
    cause_category: str
    cause: str


@dataclass(frozen=True)
class Resolution:
    type: str
    text: str
    measures: str | None = None
    follow_up_at: datetime | None = None


def attachment_from(media: dict[str, Any]) -> Attachment:
    return Attachment(
        kind=media["kind"],
        file_id=media["file_id"],
        file_unique_id=media["file_unique_id"],
        mime_type=media.get("mime_type"),
        size=int(media.get("size") or 0),
        sha256=media.get("sha256"),
        received_sha256=media.get("received_sha256"),
        local_path=media.get("local_path"),
        original_path=media.get("original_path"),
    )


def details_from(details: Sequence[Detail]) -> list[TicketDetail]:
    """The rows of a report's answers (the dialogue checked them against the questions)."""
    return [TicketDetail(question=d.question[:CODE_MAX], value=d.value[:DETAIL_TEXT_MAX])
            for d in details[:QUESTIONS_MAX]]


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
        # an incident's step done to its linked reports: no thread posts of theirs, and each
        # resident told once (tickets/incidents.py)
        self._quiet_thread = self._quiet_resident = False

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
        self._post_evidence(ticket, ticket.attachments)
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
        self._post_evidence(ticket, ticket.attachments)
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
            await self._start_clocks(ticket)

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
        self.refresh_card(ticket)
        await self.session.flush()

    async def _start_clocks(self, ticket: Ticket) -> None:
        """The deadline timers (a reminder before each, an escalation after), and the link to
        earlier complaints of the same unit and category."""
        sla = self.timing.sla
        deadlines = sla.for_ticket(ticket.category_code, ticket.priority)
        start = ticket.created_at
        self.timers.start(ticket.id, {
            TimerKind.ACK_REMINDER: sla.reminder(start, deadlines.acknowledge),
            TimerKind.ACK_OVERDUE: ticket.ack_due_at,
            TimerKind.RESOLVE_REMINDER: sla.reminder(start, deadlines.resolve),
            TimerKind.RESOLVE_OVERDUE: ticket.resolve_due_at})
        if ticket.unit_text and sla.repeat_window:
            earlier = await self.tickets.earlier_of_unit(ticket, start - sla.repeat_window)
            if earlier:
                ticket.repeat_of_id = earlier[0][0]
                numbers = [number for _, number in earlier]
                self._event(ticket, "repeat", SYSTEM, note=", ".join(numbers),
                            details={"earlier": numbers, "days": sla.repeat_window.days})
        await self.session.flush()

    async def claim_by_phone(self, resident: Resident) -> list[Ticket]:
        """A newly registered resident takes over the complaints logged for their number."""
        found = list(await self.tickets.unclaimed_with_phone([resident.phone]))
        for ticket in found:
            ticket.resident_id, ticket.resident = resident.id, resident
            self._event(ticket, "linked", Actor.of_resident(resident),
                        note=resident.name)
            self.refresh_card(ticket)
            self._thread(Linked(ticket.id, name=resident.name))
        await self.session.flush()
        return found

    # --- staff actions ---------------------------------------------------------------------
    def _require(self, ticket: Ticket, action: Action, actor: Actor,
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
        target = self._require(ticket, action, actor, version)
        if ticket.assignee_id is None:
            ticket.assignee_id = staff.id
        await self._move(ticket, target, actor)
        self._tell_resident(ticket, notice(ticket.id))
        await incidents.for_reports(self, ticket, lambda report: self._take_up(
            report, staff, action, None, notice))
        return ticket

    async def assign(self, ticket: Ticket, staff: Staff, assignee: Staff,
                     version: int | None = None) -> Ticket:
        actor = Actor.of_staff(staff)
        action = Action.TAKE if assignee.id == staff.id else Action.ASSIGN
        self._require(ticket, action, actor, version)
        if not assignee.active:
            raise TicketError("not_staff")
        if ticket.assignee_id == assignee.id:
            raise TicketError("already_assigned")
        ticket.assignee_id = assignee.id
        ticket.assignee = assignee
        self._event(ticket, "assigned", actor, note=assignee.name,
                    details={"staff_id": assignee.id})
        self.refresh_card(ticket)
        self._thread(Assigned(ticket.id, name=assignee.name, by=staff.name))
        await self.session.flush()
        return ticket

    async def message_resident(self, ticket: Ticket, staff: Staff, text: str | None,
                               media: dict[str, Any] | None = None,
                               version: int | None = None) -> Ticket:
        actor = Actor.of_staff(staff)
        self._require(ticket, Action.MESSAGE, actor, version)
        if ticket.resident_id is None:
            raise TicketError("no_resident")
        self._event(ticket, "staff_message", actor, note=text or (media or {}).get("kind"),
                    details={"file": media} if media else None)
        self._tell_resident(ticket, StaffMessage(ticket.id, text=text or "", staff=staff.name,
                                                 file=NoticeFile.of(media)))
        await self.session.flush()
        return ticket

    async def request_information(self, ticket: Ticket, staff: Staff, text: str,
                                  version: int | None = None) -> Ticket:
        actor = Actor.of_staff(staff)
        target = self._require(ticket, Action.REQUEST_INFO, actor, version)
        if ticket.resident_id is None:
            raise TicketError("no_resident")
        if ticket.acknowledged_at is None:
            ticket.acknowledged_at = self.clock()
        if ticket.assignee_id is None:
            ticket.assignee_id = staff.id
        await self._move(ticket, target, actor, note=text)
        self._tell_resident(ticket, InformationRequested(ticket.id, text=text, staff=staff.name))
        return ticket

    async def start_investigation(self, ticket: Ticket, staff: Staff,
                                  version: int | None = None) -> Ticket:
        return await self._take_up(ticket, staff, Action.INVESTIGATE, version, Investigating)

    async def record_investigation(self, ticket: Ticket, staff: Staff, record: Investigation,
                                   version: int | None = None) -> Ticket:
        actor = Actor.of_staff(staff)
        self._require(ticket, Action.RECORD_FINDINGS, actor, version)
        if record.severity not in SEVERITIES or record.cause_category not in CAUSES:
            raise TicketError("bad_value")
        ticket.site_visit_at, ticket.site_visit_by = record.site_visit_at, record.site_visit_by
        ticket.findings, ticket.interviewed = record.findings, record.interviewed
        ticket.severity, ticket.cause_category = record.severity, record.cause_category
        ticket.cause = record.cause
        self._event(ticket, "investigation", actor, note=record.findings, details={
            "site_visit_at": record.site_visit_at.isoformat() if record.site_visit_at else None,
            "site_visit_by": record.site_visit_by, "interviewed": record.interviewed,
            "severity": record.severity, "cause_category": record.cause_category,
            "cause": record.cause})
        self.refresh_card(ticket)
        self._thread(InvestigationRecorded(ticket.id, by=staff.name))
        await self.session.flush()
        return ticket

    async def start_resolving(self, ticket: Ticket, staff: Staff,
                              version: int | None = None) -> Ticket:
        actor = Actor.of_staff(staff)
        target = self._require(ticket, Action.START_RESOLVING, actor, version)
        await self._move(ticket, target, actor)
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
        target = self._require(ticket, Action.RESOLVE, actor, version)
        if resolution.type not in RESOLUTIONS:
            raise TicketError("bad_value")
        now = self.clock()
        ticket.resolution_type, ticket.resolution_text = resolution.type, resolution.text
        ticket.improvement_measures = resolution.measures
        ticket.follow_up_at = resolution.follow_up_at
        await self._move(ticket, target, actor, note=resolution.text, details={
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
            self._tell_resident(ticket, Resolved(ticket.id, survey_id=survey.id))
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

    # --- mediation (complaint-process step 5, 协商和调解) -------------------------------------
    async def contact_party(self, ticket: Ticket, staff: Staff, contact: Contact,
                            version: int | None = None) -> Ticket:
        """Record the other party of a dispute and how they were reached; a message through
        the bot goes to them as staff wrote it, never naming the complainant."""
        actor = Actor.of_staff(staff)
        self._require(ticket, Action.MEDIATE, actor, version)
        if not is_dispute(ticket):
            raise TicketError("not_dispute")
        if contact.method not in PARTY_METHODS or not contact.unit.strip():
            raise TicketError("bad_value")
        unit = await Units(self.session).by_label(contact.unit)
        other = await Residents(self.session).of_unit(unit.id if unit else None, contact.unit)
        if other is not None and other.id == ticket.resident_id:
            raise TicketError("same_party")
        if contact.method == "bot" and (other is None or not other.reachable):
            raise TicketError("party_not_in_bot")
        label = unit.label if unit else contact.unit.strip()
        party = ticket.party or TicketParty(ticket_id=ticket.id, created_at=self.clock())
        party.unit_text, party.unit_id = label, unit.id if unit else None
        party.resident_id, party.resident, party.method = (
            other.id if other else None), other, contact.method
        ticket.party = party
        self._event(ticket, "mediation", actor, note=contact.text, details={
            "step": "contacted", "method": contact.method, "unit": label})
        self._thread(MediationPost(ticket.id, step="contacted", method=contact.method,
                                   unit=label, text=contact.text))
        if contact.method == "bot" and other is not None and other.chat_id is not None:
            self.outbox.enqueue(other.chat_id, PartyMessage(
                ticket.id, text=contact.text, language=other.language or ""))
        self.refresh_card(ticket)
        await self.session.flush()
        return ticket

    async def party_answered(self, resident: Resident, ticket: Ticket, *,
                             text: str | None = None,
                             media: dict[str, Any] | None = None) -> Ticket:
        """The other party answers the office through the bot: to the card's thread (the
        complainant never sees it)."""
        party = ticket.party
        if party is None or party.resident_id != resident.id:
            raise TicketError("not_found")
        if ticket.status not in OPEN:
            raise TicketError("ticket_closed")
        self._event(ticket, "mediation", Actor(Role.RESIDENT, resident.id, resident.name),
                    note=text or (media or {}).get("kind"),
                    details={"step": "answered", "file_id": (media or {}).get("file_id")})
        self._thread(MediationPost(ticket.id, step="answered", unit=party.unit_text,
                                   text=(text or "")[:3000], file=NoticeFile.of(media)))
        await self.session.flush()
        return ticket

    async def record_agreement(self, ticket: Ticket, staff: Staff, text: str, day: date,
                               version: int | None = None) -> Ticket:
        """The agreement reached resolves the dispute as a mediation: the complainant gets the
        outcome (and the survey), the other party is told it is settled."""
        actor = Actor.of_staff(staff)
        self._require(ticket, Action.AGREE, actor, version)
        party = ticket.party
        if not is_dispute(ticket) or party is None:
            raise TicketError("no_party")
        party.agreement, party.agreed_on = text, day
        self._event(ticket, "mediation", actor, note=text, details={
            "step": "agreed", "on": day.isoformat(), "unit": party.unit_text})
        self._thread(MediationPost(ticket.id, step="agreed", unit=party.unit_text, text=text))
        if (party.method == "bot" and party.resident is not None
                and party.resident.chat_id is not None):
            self.outbox.enqueue(party.resident.chat_id, PartySettled(
                ticket.id, text=text, language=party.resident.language or ""))
        return await self.resolve(ticket, staff, Resolution("mediation", text))

    async def reject(self, ticket: Ticket, staff: Staff, reason: str,
                     version: int | None = None) -> Ticket:
        actor = Actor.of_staff(staff)
        target = self._require(ticket, Action.REJECT, actor, version)
        await self._move(ticket, target, actor, note=reason)
        self._tell_resident(ticket, Rejected(ticket.id, text=reason))
        await incidents.for_reports(self, ticket,
                                    lambda report: self.reject(report, staff, reason))
        return ticket

    async def escalate(self, ticket: Ticket, actor: Actor, reason: str | None = None,
                       version: int | None = None) -> Ticket:
        self._require(ticket, Action.ESCALATE, actor, version)
        ticket.escalated_at = self.clock()
        self._event(ticket, "escalated", actor, note=reason)
        self.refresh_card(ticket)
        managers = await self._managers()
        self._alert(Escalated(ticket.id, by=actor.name, reason=reason or "",
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
        self._require(ticket, Action.NOTE, actor, version)
        self._event(ticket, "note", actor, note=text)
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
            self.refresh_card(ticket)

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
        target = self._require(ticket, Action.WITHDRAW, actor, None)
        await self._move(ticket, target, actor)
        self._thread(Withdrawn(ticket.id))
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
        self._event(ticket, "evidence" if media is not None else "message", actor,
                    note=text if media is None else (text or media["kind"]),
                    details={"file_id": media["file_id"]} if media else None)
        self._thread(ResidentAdded(ticket.id, text=(text or "")[:3000],
                                   file=NoticeFile.of(media)))
        if ticket.status == Status.WAITING_FOR_RESIDENT:
            previous = next((e.from_status for e in reversed(ticket.events)
                             if e.kind == "status" and e.to_status == Status.WAITING_FOR_RESIDENT),
                            None)
            await self._move(ticket, after_waiting(previous), actor, note="answered")
        await self.session.flush()
        return ticket

    async def answer_survey(self, resident: Resident, survey: Survey, *,
                            fixed: str | None = None, rating: int | None = None,
                            comment: str | None = None) -> tuple[Survey, bool]:
        """Record one part of a survey answer; returns (survey, changed). Answers are final."""
        ticket = survey.ticket
        if ticket.resident_id != resident.id:
            raise TicketError("not_found")
        if fixed is not None and fixed not in SURVEY_ANSWERS:
            raise TicketError("bad_value")
        if rating is not None and not 1 <= rating <= 5:
            raise TicketError("bad_value")
        if (fixed and survey.fixed) or (rating and survey.rating) or (
                comment and survey.comment):
            return survey, False
        actor = Actor.of_resident(resident)
        now = self.clock()
        # a rating alone closes; a "partly" / "no" given after it still reopens
        closed_by_rating = (ticket.status == Status.CLOSED and survey.answered_at is not None
                            and survey.fixed is None)
        current_round = survey.round == ticket.reopen_count and (
            ticket.status == Status.RESOLVED or closed_by_rating)
        if fixed is not None:
            survey.fixed = fixed
        if rating is not None:
            survey.rating = rating
            ticket.rating = rating
        if comment is not None:
            survey.comment = comment
            ticket.rating_comment = comment
        survey.answered_at = now
        self._event(ticket, "survey", actor, note=comment, details={
            "survey_id": survey.id, "fixed": fixed, "rating": rating})
        if current_round and fixed in ("partly", "no"):
            await self._move(ticket, check(Action.NOT_FIXED, ticket.status, actor.role), actor,
                             note=fixed)
            ticket.reopen_count += 1
            await self._fresh_deadlines(ticket, now, SYSTEM)
            ticket.escalated_at = now
            await self.timers.cancel(ticket.id, TimerKind.SURVEY_REMINDER, TimerKind.AUTO_CLOSE)
            managers = await self._managers()
            self._alert(NotFixed(ticket.id, answer=fixed, managers=managers.names,
                                 manager_ids=managers.ids,
                                 assignee=ticket.assignee.name if ticket.assignee else ""),
                        managers)
        elif current_round and ticket.status == Status.RESOLVED and (
                fixed == "yes" or (rating is not None and survey.fixed is None)):
            await self._move(ticket, check(Action.CONFIRM_FIXED, ticket.status, actor.role),
                             actor)
            await self.timers.cancel(ticket.id, TimerKind.SURVEY_REMINDER, TimerKind.AUTO_CLOSE)
            self._thread(ClosedByResident(ticket.id, rating=rating or 0))
        else:
            self.refresh_card(ticket)
            self._thread(SurveyAnswered(ticket.id, fixed=fixed or "", rating=rating or 0,
                                        comment=comment or ""))
        await self.session.flush()
        return survey, True

    async def answer_call_back(self, resident: Resident, call_back: CallBack,
                               outcome: CallBackOutcome) -> tuple[CallBack, bool]:
        """The resident answers the call-back (回访); returns (call_back, changed). Answered
        once; a late answer (after it was recorded as unanswered) still counts. "It came back"
        reopens the ticket, escalates it and counts as a recurrence."""
        ticket = call_back.ticket
        if ticket.resident_id != resident.id:
            raise TicketError("not_found")
        if outcome not in (CallBackOutcome.HELD, CallBackOutcome.RECURRED):
            raise TicketError("bad_value")
        if call_back.outcome not in (None, CallBackOutcome.UNANSWERED):
            return call_back, False
        actor, now = Actor.of_resident(resident), self.clock()
        call_back.outcome, call_back.answered_at = outcome, now
        self._event(ticket, "call_back", actor, details={"call_back_id": call_back.id,
                                                         "outcome": outcome})
        await self.timers.cancel(ticket.id, TimerKind.CALL_BACK_EXPIRE)
        managers = Managers()
        current = ticket.status == Status.CLOSED and call_back.round == ticket.reopen_count
        if outcome == CallBackOutcome.RECURRED and current:
            await self._move(ticket, check(Action.RECUR, ticket.status, actor.role), actor,
                             note="it came back")
            ticket.reopen_count += 1
            ticket.escalated_at = now
            await self._fresh_deadlines(ticket, now, SYSTEM)
            managers = await self._managers()
        self._alert(CallBackPost(ticket.id, outcome=outcome, managers=managers.names,
                                 manager_ids=managers.ids), managers)
        self.refresh_card(ticket)
        await self.session.flush()
        return call_back, True

    async def _schedule_call_back(self, ticket: Ticket, now: datetime) -> None:
        """The call-back (回访) of this closing: on the day, at the office's follow-up hour."""
        days = self.timing.call_back_after(ticket.category_code)
        if not days or ticket.resident_id is None or (
                ticket.resident is not None and ticket.resident.erased_at is not None):
            return
        zone = self.timing.sla.calendar.timezone
        day = now.astimezone(zone).date() + timedelta(days=days)
        at = datetime.combine(day, time(self.timing.follow_up_hour), zone)
        await self.timers.set(ticket.id, TimerKind.CALL_BACK, at, ticket.reopen_count)

    async def _ask_call_back(self, ticket: Ticket, round_: int, now: datetime) -> None:
        if ticket.status != Status.CLOSED or round_ != ticket.reopen_count or (
                ticket.resident is None):
            return  # reopened meanwhile: this closing's call-back is moot
        if await self.call_backs.of_round(ticket.id, round_) is not None:
            return
        call_back = CallBack(ticket_id=ticket.id, round=round_, asked_at=now)
        self.call_backs.add(call_back)
        await self.session.flush()
        days = self.timing.call_back_after(ticket.category_code)
        self._event(ticket, "call_back", SYSTEM, details={"call_back_id": call_back.id,
                                                         "outcome": None})
        self._tell_resident(ticket, CallBackQuestion(ticket.id, call_back_id=call_back.id,
                                                     days=days))
        self._thread(CallBackPost(ticket.id, days=days))
        await self.timers.set(ticket.id, TimerKind.CALL_BACK_EXPIRE,
                              now + self.timing.call_back_wait, round_)

    # --- timers ----------------------------------------------------------------------------
    async def fire_due_timers(self, now: datetime | None = None) -> int:
        """Do what is due (reminders, auto-close, follow-ups); each timer fires exactly once."""
        now = now or self.clock()
        fired = 0
        for timer in await self.timers.due(now):
            timer.fired_at = now
            ticket = await self.tickets.get(timer.ticket_id)
            if ticket is None:
                continue
            fired += 1
            await self._fire(ticket, timer.kind, timer.round, now)
        await self.session.flush()
        return fired

    async def _fire(self, ticket: Ticket, stored_kind: str, round_: int, now: datetime
                    ) -> None:
        kind = TimerKind.read(stored_kind)  # an unknown kind (a newer release's) does nothing
        resolved = ticket.status == Status.RESOLVED
        if kind == TimerKind.SURVEY_REMINDER and resolved:
            survey = await self.surveys.of_round(ticket.id, round_)
            if survey is not None and survey.answered_at is None:
                self._tell_resident(ticket, SurveyReminder(ticket.id, survey_id=survey.id))
                self._event(ticket, "reminder", SYSTEM, note="survey")
            await self.timers.set(ticket.id, TimerKind.AUTO_CLOSE,
                                  now + self.timing.survey_close_after, round_)
        elif kind == TimerKind.AUTO_CLOSE and resolved:
            target = check(Action.AUTO_CLOSE, ticket.status, Role.SYSTEM)
            await self._move(ticket, target, SYSTEM, note="no answer to the survey")
            self._tell_resident(ticket, AutoClosed(ticket.id))
        elif kind == TimerKind.TELL_RESOLVING and ticket.status == Status.RESOLVING:
            self._tell_resident(ticket, Resolving(ticket.id))
        elif kind == TimerKind.CALL_BACK:
            await self._ask_call_back(ticket, round_, now)
        elif kind == TimerKind.CALL_BACK_EXPIRE:
            call_back = await self.call_backs.of_round(ticket.id, round_)
            if call_back is not None and call_back.outcome is None:
                call_back.outcome = CallBackOutcome.UNANSWERED
                self._event(ticket, "call_back", SYSTEM, details={
                    "call_back_id": call_back.id, "outcome": CallBackOutcome.UNANSWERED})
                self._thread(CallBackPost(ticket.id, outcome=CallBackOutcome.UNANSWERED))
        elif kind == TimerKind.FOLLOW_UP:
            self._event(ticket, "follow_up", SYSTEM, note=ticket.improvement_measures)
            self._thread(FollowUpDue(ticket.id, measures=ticket.improvement_measures or ""))
        elif kind is not None and (stage := kind.stage) and _deadline_open(ticket, stage):
            due = ticket.ack_due_at if stage == Stage.ACKNOWLEDGE else ticket.resolve_due_at
            if not kind.is_reminder:
                await self._overdue(ticket, stage, now)
            elif now < due:  # (late, say nothing: the escalation is due)
                self._remind(ticket, stage, due)

    def _remind(self, ticket: Ticket, stage: Stage, due: datetime) -> None:
        self._event(ticket, "reminder", SYSTEM, note=f"{stage} deadline",
                    details={"stage": stage})
        self._thread(DeadlineNear(ticket.id, stage=stage, due=due.isoformat(),
                                  assignee=ticket.assignee.name if ticket.assignee else ""))

    async def _overdue(self, ticket: Ticket, stage: Stage, now: datetime) -> None:
        """A deadline passed: managers are alerted, the resident gets an apology and a new
        expected time."""
        sla = self.timing.sla
        deadlines = sla.for_ticket(ticket.category_code, ticket.priority)
        promised = sla.extended(now, deadlines.acknowledge if stage == Stage.ACKNOWLEDGE
                                else deadlines.resolve)
        if ticket.escalated_at is None:
            ticket.escalated_at = now
        self._event(ticket, "escalated", SYSTEM, note=f"{stage} deadline passed",
                    details={"stage": stage, "promised": promised.isoformat()})
        self.refresh_card(ticket)
        managers = await self._managers()
        self._alert(Overdue(ticket.id, stage=stage, managers=managers.names,
                            manager_ids=managers.ids,
                            assignee=ticket.assignee.name if ticket.assignee else ""), managers)
        self._tell_resident(ticket, Apology(ticket.id, stage=stage,
                                            promised=promised.isoformat()))

    # --- plumbing --------------------------------------------------------------------------
    async def _move(self, ticket: Ticket, target: Status | None, actor: Actor,
                    note: str | None = None, details: dict[str, Any] | None = None) -> None:
        if target is None:
            return
        now = self.clock()
        previous = ticket.status
        ticket.status = target
        if target == Status.WAITING_FOR_RESIDENT:
            await self._pause_resolve_clock(ticket, now)
        elif ticket.resolve_paused_at is not None and target in CLOCK_RUNNING:
            await self._resume_resolve_clock(ticket, now, actor)
        else:
            ticket.resolve_paused_at = None  # (ended: no deadline to resume)
        if target == Status.ACKNOWLEDGED and ticket.acknowledged_at is None:
            ticket.acknowledged_at = now
        elif target == Status.RESOLVED:
            ticket.resolved_at = now
        elif target in (Status.CLOSED, Status.WITHDRAWN, Status.REJECTED):
            ticket.closed_at = now
        if target == Status.CLOSED:
            await self._schedule_call_back(ticket, now)
        ticket.events.append(TicketEvent(
            kind="status", from_status=previous, to_status=target, actor_type=actor.type,
            actor_id=actor.id, note=note, details=details, created_at=now))
        if target in FINAL:  # what an erased resident left on it was kept until now
            await erasure.forget_finished(self.session, ticket)
        self.refresh_card(ticket)
        await self.session.flush()

    async def _pause_resolve_clock(self, ticket: Ticket, now: datetime) -> None:
        """The office waits for the resident: the resolve deadline stands still."""
        ticket.resolve_paused_at = now
        await self.timers.cancel(ticket.id, TimerKind.RESOLVE_REMINDER,
                                 TimerKind.RESOLVE_OVERDUE)

    async def _resume_resolve_clock(self, ticket: Ticket, now: datetime, actor: Actor) -> None:
        """The wait is over: the resolve deadline goes on with the time it had left."""
        paused_at, ticket.resolve_paused_at = ticket.resolve_paused_at, None
        assert paused_at is not None
        sla = self.timing.sla
        span = sla.for_ticket(ticket.category_code, ticket.priority).resolve
        due, reminder = sla.resumed(paused_at, ticket.resolve_due_at, now, span)
        if due <= now:  # missed before the wait began: escalated then, nothing to resume
            return
        if due != ticket.resolve_due_at:
            ticket.resolve_due_at = due
            self._event(ticket, "deadline", actor, details={
                "stage": Stage.RESOLVE, "due": due.isoformat(),
                "paused_from": paused_at.isoformat(),
                "paused_seconds": round((now - paused_at).total_seconds())})
        await self.timers.restart(ticket.id, {TimerKind.RESOLVE_REMINDER: reminder,
                                              TimerKind.RESOLVE_OVERDUE: due})

    async def _fresh_deadlines(self, ticket: Ticket, now: datetime, actor: Actor) -> None:
        """A reopened ticket starts over: to be taken up again and resolved within the times
        the policy gives a new ticket."""
        sla = self.timing.sla
        deadlines = sla.for_ticket(ticket.category_code, ticket.priority)
        ticket.ack_due_at, ticket.resolve_due_at = sla.due_times(now, ticket.category_code,
                                                                 ticket.priority)
        ticket.resolved_at = None  # not resolved now; the next resolution sets it again
        self._event(ticket, "deadline", actor, details={
            "stage": "reopened", "ack_due": ticket.ack_due_at.isoformat(),
            "due": ticket.resolve_due_at.isoformat()})
        await self.timers.restart(ticket.id, {
            TimerKind.ACK_REMINDER: sla.reminder(now, deadlines.acknowledge),
            TimerKind.ACK_OVERDUE: ticket.ack_due_at,
            TimerKind.RESOLVE_REMINDER: sla.reminder(now, deadlines.resolve),
            TimerKind.RESOLVE_OVERDUE: ticket.resolve_due_at})

    # --- personal data ---------------------------------------------------------------------
    async def erasure_summary(self, resident: Resident) -> ErasureSummary:
        return await erasure.summary(PersonalData(self.session), resident)

    async def forget_resident(self, resident: Resident, by: ErasedBy,
                              staff: Staff | None = None) -> ErasureSummary:
        """Erase a resident's personal data (tickets/erasure.py says what goes, and when)."""
        return await erasure.forget_resident(self, resident, by, self.clock(), staff)

    def record_erasure(self, ticket: Ticket, by: ErasedBy, staff: Staff | None) -> None:
        """The ticket's timeline says its complainant's data was erased (nothing more)."""
        self._event(ticket, "erased", Actor.of_staff(staff) if staff else SYSTEM,
                    details={"by": str(by)})
        self.refresh_card(ticket)

    def _event(self, ticket: Ticket, kind: str, actor: Actor, *, note: str | None = None,
               details: dict[str, Any] | None = None) -> None:
        ticket.events.append(TicketEvent(kind=kind, actor_type=actor.type, actor_id=actor.id,
                                         note=note, details=details, created_at=self.clock()))

    def refresh_card(self, ticket: Ticket) -> None:
        """Post the card, or bring the posted one up to date (the notifier renders it then,
        as it is by then: one card row a transaction). A report linked to an incident has no
        card of its own: its lead's shows it."""
        lead = ticket.incident.lead_ticket_id if ticket.incident is not None else None
        card = lead if lead is not None else ticket.id  # (planned works' first report leads)
        queued: set[int] = self.session.info.setdefault("cards_queued", set())
        if self.staff_chat_id is not None and card not in queued:
            queued.add(card)
            self.outbox.enqueue(self.staff_chat_id, Card(card))

    @contextmanager
    def quietly(self, *, tell_resident: bool) -> Iterator[None]:
        """Within: no posts in the thread, and the resident told only if `tell_resident`."""
        before = self._quiet_thread, self._quiet_resident
        self._quiet_thread, self._quiet_resident = True, not tell_resident
        try:
            yield
        finally:
            self._quiet_thread, self._quiet_resident = before

    def _post_evidence(self, ticket: Ticket, attachments: Sequence[Attachment]) -> None:
        """Every file under the card, grouped as Telegram allows (photos with videos, documents
        with documents, audio files with audio files, each voice note alone; ten at most
        a group), the groups in the order their first file was sent."""
        groups: dict[str, list[list[int]]] = {}
        for attachment in attachments:
            kind = album_class(attachment.kind)
            runs = groups.setdefault(kind, [[]])
            if kind == EvidenceKind.VOICE or len(runs[-1]) == ALBUM_MAX:
                runs.append([])
            runs[-1].append(attachment.id)
        for runs in groups.values():
            for run in runs:
                if run:
                    self._thread(Evidence(ticket.id, files=tuple(run)))

    async def _managers(self) -> Managers:
        managers = list(await self.staff.managers())
        return Managers(", ".join(m.name for m in managers),
                        tuple(m.telegram_user_id for m in managers),
                        tuple(m.telegram_user_id for m in managers if m.alerts_in_private))

    def _alert(self, notice: TicketNotice, managers: Managers) -> None:
        """An alert in the card's thread, and in the private chat of each manager who asked
        for alerts there (/alerts private)."""
        self._thread(notice)
        for chat_id in managers.private_chats:
            self.outbox.enqueue(chat_id, notice)

    def _thread(self, notice: TicketNotice) -> None:
        """A post in the card's thread in the staff group."""
        if self.staff_chat_id is not None and not self._quiet_thread:
            self.outbox.enqueue(self.staff_chat_id, notice)

    def _tell_resident(self, ticket: Ticket, notice: ResidentNotice) -> None:
        resident = ticket.resident
        if resident is not None and resident.chat_id is not None and not self._quiet_resident:
            self.outbox.enqueue(resident.chat_id, notice)  # (no chat: erased)


def _deadline_open(ticket: Ticket, stage: Stage) -> bool:
    """Whether the deadline a timer watches is still to be met. A reopened ticket is to be
    taken up again; one waiting for the resident has its resolve clock stopped."""
    if stage == Stage.ACKNOWLEDGE:
        return ticket.status == Status.REOPENED or (
            ticket.status in OPEN and ticket.acknowledged_at is None)
    return ticket.status in CLOCK_RUNNING

