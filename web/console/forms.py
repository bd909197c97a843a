"""The ticket page's action forms: what each asks, and reading what was posted.

Each form reads into the same value the chat's guided questions build (`Investigation`,
`Resolution`, a text), or into the errors to show next to its fields; what was typed is kept
either way, so a refused form is shown again as it was.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from enum import StrEnum
from zoneinfo import ZoneInfo

from locales import N_
from storage.models import utcnow
from tickets.inputs import Investigation, Resolution
from tickets.lifecycle import Action
from tickets.mediation import Contact
from tickets.policy import (
    CAUSE_LABELS,
    CAUSES,
    NAME_MAX,
    RESOLUTION_LABELS,
    RESOLUTIONS,
    SEVERITIES,
    SEVERITY_LABELS,
    STAFF_TEXT_MAX,
    UNIT_TEXT_MAX,
)
from tickets.scope import ScopeKind


class Form(StrEnum):
    """A ticket action as the console's URL names it (/console/tickets/7/<form>)."""

    ACKNOWLEDGE = "acknowledge"
    TAKE = "take"
    ASSIGN = "assign"
    INVESTIGATE = "investigate"
    FINDINGS = "findings"
    RESOLVE = "resolve"
    MESSAGE = "message"
    REQUEST_INFO = "request-info"
    ESCALATE = "escalate"
    REJECT = "reject"
    NOTE = "note"
    PARTY = "other-party"  # a dispute: reach the other party
    AGREEMENT = "agreement"  # a dispute: the agreement reached
    INCIDENT = "incident"  # the ticket leads an incident for a scope
    LINK = "link-incident"  # by hand: a report joins an open incident
    UNLINK = "unlink-incident"  # a linked report is a ticket of its own again


FORM_OF: dict[Action, Form] = {
    Action.ACKNOWLEDGE: Form.ACKNOWLEDGE, Action.TAKE: Form.TAKE, Action.ASSIGN: Form.ASSIGN,
    Action.INVESTIGATE: Form.INVESTIGATE, Action.RECORD_FINDINGS: Form.FINDINGS,
    Action.RESOLVE: Form.RESOLVE, Action.MESSAGE: Form.MESSAGE,
    Action.REQUEST_INFO: Form.REQUEST_INFO, Action.ESCALATE: Form.ESCALATE,
    Action.REJECT: Form.REJECT, Action.NOTE: Form.NOTE, Action.MEDIATE: Form.PARTY,
    Action.AGREE: Form.AGREEMENT, Action.DECLARE_INCIDENT: Form.INCIDENT,
    Action.LINK_INCIDENT: Form.LINK, Action.UNLINK_INCIDENT: Form.UNLINK,
}
ACTION_OF: dict[Form, Action] = {form: action for action, form in FORM_OF.items()}

# what the resident is told, or what happened, after each (shown on the page that follows)
DONE: dict[Form, str] = {
    Form.ACKNOWLEDGE: N_("Acknowledged. The resident has been told."),
    Form.TAKE: N_("The ticket is yours now."),
    Form.ASSIGN: N_("Assigned."),
    Form.INVESTIGATE: N_("Under investigation. The resident has been told."),
    Form.FINDINGS: N_("The investigation record is saved."),
    Form.RESOLVE: N_("Resolved. The resident has been asked whether it is fixed."),
    Form.MESSAGE: N_("The message is on its way to the resident."),
    Form.REQUEST_INFO: N_("The resident has been asked for the information."),
    Form.ESCALATE: N_("Escalated to managers."),
    Form.REJECT: N_("Rejected. The resident has been told why."),
    Form.NOTE: N_("The internal note is saved."),
    Form.PARTY: N_("The contact with the other party is recorded."),
    Form.AGREEMENT: N_("Resolved as a mediation. Both sides have been told."),
    Form.INCIDENT: N_("Marked as an incident: new reports of this category from its scope are "
                      "linked to it, and what is done to it reaches everyone who reported."),
    Form.LINK: N_("Linked to the incident. The resident has been told the office already "
                  "knows."),
    Form.UNLINK: N_("A ticket of its own again, with its own deadlines."),
}

# the ones with fields (the others are a single button)
TEXT_PROMPTS: dict[Form, str] = {
    Form.MESSAGE: N_("Message for the resident"),
    Form.REQUEST_INFO: N_("What information or evidence do you need from the resident?"),
    Form.REJECT: N_("Why is the complaint rejected? The resident will see this reason."),
    Form.NOTE: N_("Internal note (residents never see it)"),
    Form.ESCALATE: N_("Why escalate? (optional)"),
}
CHOICES: dict[str, tuple[tuple[str, str], ...]] = {
    "severity": tuple((v, SEVERITY_LABELS[v]) for v in SEVERITIES),
    "cause_category": tuple((v, CAUSE_LABELS[v]) for v in CAUSES),
    "type": tuple((v, RESOLUTION_LABELS[v]) for v in RESOLUTIONS),
    "method": (("bot", N_("Message through the bot")), ("visit", N_("A visit")),
               ("call", N_("A call"))),
    # an incident's scope, as the staff group offers it (tickets.incidents.scope_for)
    "scope": (("building", N_("This building")), ("floors", N_("Some floors of it")),
              ("units", N_("Some flats")), ("property", N_("The whole property"))),
}

REQUIRED = N_("Please fill this in.")
TOO_LONG = N_("Please keep it under %(max)d characters.")
NOT_A_CHOICE = N_("Please choose one of the options.")
BAD_DATE = N_("Please give a date as 2026-12-31.")
BAD_MOMENT = N_("Please give a date and time, e.g. 2026-11-28 15:30.")
NOT_IN_FUTURE = N_("This date must be in the future.")
NOT_IN_PAST = N_("The site visit cannot be in the future.")


@dataclass
class Posted:
    """One posted form: its values as typed, and the error of each field that has one."""

    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)  # field -> message (untranslated)
    error_args: dict[str, dict[str, object]] = field(default_factory=dict)

    def error(self, key: str, message: str, **args: object) -> None:
        """Say what is wrong with a field (its first problem is the one shown)."""
        self.errors.setdefault(key, message)
        self.error_args.setdefault(key, args)

    def text(self, name: str, *, required: bool = True, max_len: int = STAFF_TEXT_MAX
             ) -> str | None:
        value = self.values.get(name, "").replace("\x00", "").strip()
        if not value:
            if required:
                self.error(name, REQUIRED)
            return None
        if len(value) > max_len:
            self.error(name, TOO_LONG, max=max_len)
            return None
        return value

    def choice(self, name: str) -> str:
        value = self.values.get(name, "")
        if value not in {v for v, _label in CHOICES[name]}:
            self.error(name, NOT_A_CHOICE)
        return value

    def day(self, name: str) -> date | None:
        raw = self.values.get(name, "").strip()
        if not raw:
            return None
        try:
            return date.fromisoformat(raw)
        except ValueError:
            self.error(name, BAD_DATE)
            return None

    def moment(self, name: str, timezone: ZoneInfo) -> datetime | None:
        raw = self.values.get(name, "").strip().replace("T", " ")
        if not raw:
            return None
        try:
            parsed = datetime.fromisoformat(raw)
        except ValueError:
            self.error(name, BAD_MOMENT)
            return None
        return parsed.replace(tzinfo=timezone) if parsed.tzinfo is None else parsed


def read_posted(form: Mapping[str, object]) -> Posted:
    return Posted({k: v for k, v in form.items() if isinstance(v, str)})


def investigation(posted: Posted, timezone: ZoneInfo, me: str) -> Investigation | None:
    visit_at = posted.moment("visit_at", timezone)
    if visit_at is not None and visit_at > utcnow():
        posted.error("visit_at", NOT_IN_PAST)
    visit_by = posted.text("visit_by", required=False, max_len=NAME_MAX)
    if visit_at is not None and visit_by is None and "visit_by" not in posted.errors:
        visit_by = me
    record = Investigation(
        site_visit_at=visit_at, site_visit_by=visit_by if visit_at else None,
        findings=posted.text("findings") or "",
        interviewed=posted.text("interviewed", required=False),
        severity=posted.choice("severity"), cause_category=posted.choice("cause_category"),
        cause=posted.text("cause") or "")
    return None if posted.errors else record


def resolution(posted: Posted, timezone: ZoneInfo) -> Resolution | None:
    kind = posted.choice("type")
    text = posted.text("text")
    measures = posted.text("measures", required=False)
    follow_up = posted.day("follow_up")
    follow_up_at = datetime.combine(follow_up, time(9), timezone) if follow_up else None
    if follow_up_at is not None and follow_up_at <= utcnow():
        posted.error("follow_up", NOT_IN_FUTURE)
    if posted.errors:
        return None
    return Resolution(kind, text or "", measures, follow_up_at if measures else None)


def contact(posted: Posted) -> Contact | None:
    """The other party of a dispute, and how they were reached."""
    found = Contact(posted.text("unit", max_len=UNIT_TEXT_MAX * 2) or "",
                    posted.choice("method"), posted.text("text") or "")
    return None if posted.errors else found


def agreement(posted: Posted) -> tuple[str, date] | None:
    """What was agreed, and on which day (default: today)."""
    text = posted.text("text")
    day = posted.day("agreed_on") or utcnow().date()
    return None if posted.errors or text is None else (text, day)


def incident_scope(posted: Posted) -> tuple[ScopeKind, str] | None:
    """The scope chosen for an incident, and its floors or flats as typed (read by
    scope_for)."""
    kind = posted.choice("scope")
    floors = posted.text("floors", required=kind == ScopeKind.FLOORS, max_len=100) or ""
    flats = posted.text("units", required=kind == ScopeKind.UNITS, max_len=300) or ""
    return None if posted.errors else (ScopeKind(kind), flats if kind == ScopeKind.UNITS
                                       else floors)


def chosen_id(posted: Posted, name: str) -> int | None:
    """The id a select posted (an incident to link to: whether it may still be chosen is
    the domain's to say, as of now)."""
    raw = posted.values.get(name, "")
    if not raw.isdigit() or len(raw) > 12:
        posted.error(name, NOT_A_CHOICE)
        return None
    return int(raw)


def translated_errors(posted: Posted, gettext: Callable[[str], str]) -> dict[str, str]:
    return {name: gettext(message) % posted.error_args.get(name, {})
            for name, message in posted.errors.items()}
