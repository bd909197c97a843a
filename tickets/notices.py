"""What the outbox carries: one frozen dataclass per kind of message, made where the reason
for it arises (mostly `TicketService`), stored as a JSON payload in the same transaction, and
read back and rendered when it is sent (`conversations/notices.py`, in the reader's language
and with the ticket as it is then).

Adding a kind is one class here and one renderer there. The payload keeps the shape rows
had before these classes (`{"kind": …, "ticket_id": …, "to": "resident", …fields}`), so rows
queued before an upgrade are read after it; a row whose kind or fields this code does not
know reads as None (nothing to send), never as an exception in the notifier.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date
from enum import Enum, StrEnum
from typing import Any, ClassVar, get_origin, get_type_hints

from tickets.timers import Stage

Payload = dict[str, Any]


class Audience(StrEnum):
    STAFF = "staff"  # the staff group: the card, and posts in its thread
    RESIDENT = "resident"  # the ticket's resident, in their chat


@dataclass(frozen=True)
class NoticeFile:
    """A file that goes with a message, by its Telegram id (sent again, not uploaded); with
    `path`, uploaded from that stored copy instead: a picture whose location was taken out,
    which Telegram's file still holds."""

    kind: str  # photo, video, voice, document…
    file_id: str
    path: str | None = None

    @classmethod
    def of(cls, media: dict[str, Any] | None) -> NoticeFile | None:
        """From a media record (conversations.report.media_record) or a stored payload."""
        if not media:
            return None
        path = media.get("path") or (media.get("local_path") if media.get("received_sha256")
                                     else None)
        return cls(str(media["kind"]), str(media["file_id"]), str(path) if path else None)


@dataclass(frozen=True)
class TicketNotice:
    """A message about one ticket. Subclasses name their `KIND` (stored, and remembered with
    the sent message: a staff reply to some kinds is relayed to the resident) and their
    `AUDIENCE`."""

    KIND: ClassVar[str]
    AUDIENCE: ClassVar[Audience] = Audience.STAFF
    _KINDS: ClassVar[dict[tuple[Audience, str], type[TicketNotice]]] = {}
    ticket_id: int

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "KIND" not in cls.__dict__:
            return  # a base of kinds (ResidentNotice), never sent itself
        key = (cls.AUDIENCE, cls.KIND)
        assert key not in TicketNotice._KINDS, f"two notice classes for {key}"
        TicketNotice._KINDS[key] = cls

    @staticmethod
    def kinds() -> list[type[TicketNotice]]:
        """Every kind there is."""
        return list(TicketNotice._KINDS.values())

    def to_payload(self) -> Payload:
        payload: Payload = {"kind": self.KIND}
        if self.AUDIENCE == Audience.RESIDENT:
            payload["to"] = "resident"
        for item in dataclasses.fields(self):
            value = getattr(self, item.name)
            payload[item.name] = (dataclasses.asdict(value) if isinstance(value, NoticeFile)
                                  else list(value) if isinstance(value, tuple) else value)
        return payload

    @classmethod
    def read(cls, payload: Payload) -> TicketNotice | None:
        """The notice a stored payload stands for; None for one this code cannot read."""
        audience = Audience.RESIDENT if payload.get("to") == "resident" else Audience.STAFF
        kind = TicketNotice._KINDS.get((audience, str(payload.get("kind"))))
        if kind is None:
            return None
        hints = _field_types(kind)
        values: dict[str, Any] = {}
        try:
            for item in dataclasses.fields(kind):
                if item.name not in payload:
                    continue  # an older row: the field's default
                value = payload[item.name]
                hint = hints[item.name]
                if hint in (NoticeFile, NoticeFile | None):
                    value = NoticeFile.of(value) if isinstance(value, dict) else None
                elif isinstance(hint, type) and issubclass(hint, Enum):
                    value = hint(value)
                elif get_origin(hint) is tuple:  # stored as a JSON list
                    if not isinstance(value, list):
                        raise TypeError(f"{item.name}: not a list")
                    value = tuple(value)
                values[item.name] = value
            return kind(**values)
        except (TypeError, KeyError, ValueError):
            return None


_FIELD_TYPES: dict[type[TicketNotice], dict[str, Any]] = {}


def _field_types(kind: type[TicketNotice]) -> dict[str, Any]:
    """A kind's field types, resolved once (the notifier reads every row through them)."""
    if kind not in _FIELD_TYPES:
        _FIELD_TYPES[kind] = get_type_hints(kind)
    return _FIELD_TYPES[kind]


# --- to the staff group ---------------------------------------------------------------------


@dataclass(frozen=True)
class Card(TicketNotice):
    """Post the ticket's card, or bring the posted one up to date."""

    KIND = "card"


@dataclass(frozen=True)
class Evidence(TicketNotice):
    """A group of the resident's files, under the card: an album of photos and videos, a group
    of documents or of audio files, or one voice note (Telegram groups no other way). `files`
    are attachment ids, in the order sent; a row queued before groups existed has none and
    stands for the ticket's first files, as it did then."""

    KIND = "evidence"
    files: tuple[int, ...] = ()


@dataclass(frozen=True)
class Linked(TicketNotice):
    """A resident registered in the bot and now follows a ticket the office logged."""

    KIND = "linked"
    name: str = ""


@dataclass(frozen=True)
class IncidentDeclared(TicketNotice):
    """The ticket leads an incident now: new reports of its scope are linked to it."""

    KIND = "incident"
    scope: str = ""  # in words
    by: str = ""


@dataclass(frozen=True)
class IncidentReport(TicketNotice):
    """This report is linked to an incident: one post under the lead's card instead of a
    card of its own (a reply to it reaches this report's resident)."""

    KIND = "incident_report"
    lead: str = ""  # the lead's number
    unit: str = ""
    text: str = ""


@dataclass(frozen=True)
class Assigned(TicketNotice):
    KIND = "assigned"
    name: str = ""
    by: str = ""


@dataclass(frozen=True)
class InvestigationRecorded(TicketNotice):
    KIND = "investigation"
    by: str = ""


@dataclass(frozen=True)
class Escalated(TicketNotice):
    KIND = "escalated"
    by: str = ""  # empty: the system
    reason: str = ""
    managers: str = ""
    manager_ids: tuple[int, ...] = ()  # their Telegram ids: mentioned, so notified


@dataclass(frozen=True)
class Withdrawn(TicketNotice):
    KIND = "withdrawn"


@dataclass(frozen=True)
class ResidentAdded(TicketNotice):
    """The resident wrote more about their ticket (text, a file, or both)."""

    KIND = "resident_added"
    text: str = ""
    file: NoticeFile | None = None


@dataclass(frozen=True)
class NotFixed(TicketNotice):
    """The survey says the problem is not (or only partly) fixed: the ticket reopens."""

    KIND = "not_fixed"
    answer: str = ""
    managers: str = ""
    manager_ids: tuple[int, ...] = ()  # their Telegram ids: mentioned, so notified
    assignee: str = ""


@dataclass(frozen=True)
class ClosedByResident(TicketNotice):
    KIND = "closed_by_resident"
    rating: int = 0


@dataclass(frozen=True)
class SurveyAnswered(TicketNotice):
    KIND = "survey_answer"
    fixed: str = ""
    rating: int = 0
    comment: str = ""


@dataclass(frozen=True)
class FollowUpDue(TicketNotice):
    KIND = "follow_up"
    measures: str = ""


@dataclass(frozen=True)
class CallBackPost(TicketNotice):
    """The call-back (回访) in the card's thread: asked, or what the resident answered."""

    KIND = "call_back"
    outcome: str = ""  # "" (asked) or a CallBackOutcome
    days: int = 0  # after closing
    managers: str = ""  # (when it came back: they are told)
    manager_ids: tuple[int, ...] = ()  # their Telegram ids: mentioned, so notified


@dataclass(frozen=True)
class MediationPost(TicketNotice):
    """The mediation in the card's thread: the other party contacted, their answer, the
    agreement."""

    KIND = "mediation"
    step: str = ""  # contacted | answered | agreed
    method: str = ""  # bot | visit | call (contacted)
    unit: str = ""  # the other party's unit
    text: str = ""
    file: NoticeFile | None = None  # (answered: a file they sent)


@dataclass(frozen=True)
class DeadlineNear(TicketNotice):
    KIND = "deadline_reminder"
    stage: Stage = Stage.ACKNOWLEDGE
    due: str = ""  # ISO time
    assignee: str = ""


@dataclass(frozen=True)
class Overdue(TicketNotice):
    KIND = "overdue"
    stage: Stage = Stage.ACKNOWLEDGE
    managers: str = ""
    manager_ids: tuple[int, ...] = ()  # their Telegram ids: mentioned, so notified
    assignee: str = ""


@dataclass(frozen=True)
class DeliveryFailed(TicketNotice):
    """A message to the ticket's resident could not go out."""

    KIND = "delivery_failed"
    error: str = ""


# --- to the resident ------------------------------------------------------------------------


@dataclass(frozen=True)
class ResidentNotice(TicketNotice):
    AUDIENCE = Audience.RESIDENT


@dataclass(frozen=True)
class Acknowledged(ResidentNotice):
    KIND = "acknowledged"


@dataclass(frozen=True)
class Investigating(ResidentNotice):
    KIND = "investigating"


@dataclass(frozen=True)
class Resolving(ResidentNotice):
    """The office has found what to do and is working on the fix."""

    KIND = "resolving"


@dataclass(frozen=True)
class JoinedIncident(ResidentNotice):
    """Staff linked the report by hand to the incident it is part of: the office already
    knows and will say when it is fixed (what a report linked at once hears on sending)."""

    KIND = "incident_joined"


@dataclass(frozen=True)
class StaffMessage(ResidentNotice):
    KIND = "staff_message"
    text: str = ""
    staff: str = ""
    file: NoticeFile | None = None


@dataclass(frozen=True)
class InformationRequested(ResidentNotice):
    KIND = "info_requested"
    text: str = ""
    staff: str = ""


@dataclass(frozen=True)
class SurveyQuestion(ResidentNotice):
    """A message that asks the survey: a reply to it is a survey comment."""

    survey_id: int = 0


@dataclass(frozen=True)
class Resolved(SurveyQuestion):
    """Resolved: what was done, and the satisfaction survey."""

    KIND = "resolved"


@dataclass(frozen=True)
class SurveyReminder(SurveyQuestion):
    KIND = "survey_reminder"


@dataclass(frozen=True)
class CallBackQuestion(ResidentNotice):
    """The call-back (回访): is the problem still solved? (Its buttons answer it.)"""

    KIND = "call_back"
    call_back_id: int = 0
    days: int = 0


@dataclass(frozen=True)
class PartyNotice(ResidentNotice):
    """To the other party of a dispute (not the ticket's resident), in their language. It
    never names the complainant: only what staff wrote for them."""

    language: str = ""


@dataclass(frozen=True)
class PartyMessage(PartyNotice):
    """The office writes to the other party; a reply to it goes back to the ticket."""

    KIND = "party_message"
    text: str = ""


@dataclass(frozen=True)
class PartySettled(PartyNotice):
    KIND = "party_settled"
    text: str = ""  # the agreement


@dataclass(frozen=True)
class Rejected(ResidentNotice):
    KIND = "rejected"
    text: str = ""


@dataclass(frozen=True)
class Apology(ResidentNotice):
    """A deadline passed: we are sorry, and here is the new expected time."""

    KIND = "apology"
    stage: Stage = Stage.ACKNOWLEDGE
    promised: str = ""  # ISO time


@dataclass(frozen=True)
class AutoClosed(ResidentNotice):
    KIND = "auto_closed"


# --- not about one ticket -------------------------------------------------------------------


@dataclass(frozen=True)
class StatisticsReport:
    """The office's figures for a period, drawn when sent (the weekly report, /stats)."""

    KIND: ClassVar[str] = "report"
    first: date
    last: date
    weekly: bool = False

    def to_payload(self) -> Payload:
        return {"kind": self.KIND, "first": self.first.isoformat(),
                "last": self.last.isoformat(), "weekly": self.weekly}

    @classmethod
    def read(cls, payload: Payload) -> StatisticsReport | None:
        if payload.get("kind") != cls.KIND:
            return None
        try:
            return cls(date.fromisoformat(str(payload["first"])),
                       date.fromisoformat(str(payload["last"])), bool(payload.get("weekly")))
        except (KeyError, ValueError):
            return None


@dataclass(frozen=True)
class ReplyLost:
    """Our answer to a resident's message could not be delivered, even after retries (an
    outage): said once, through the outbox, when Telegram takes messages again."""

    KIND: ClassVar[str] = "reply_lost"
    lang: str

    def to_payload(self) -> Payload:
        return {"kind": self.KIND, "lang": self.lang}

    @classmethod
    def read(cls, payload: Payload) -> ReplyLost | None:
        return cls(str(payload.get("lang") or "en")) if payload.get("kind") == cls.KIND else None


@dataclass(frozen=True)
class PersonalDataCopy:
    """One file of a resident's copy of their data (/mydata), made when sent: part 0 is the
    JSON of their profile and tickets, parts 1… the ZIPs of their evidence files."""

    KIND: ClassVar[str] = "data_copy"
    resident_id: int
    part: int
    parts: int  # how many files the copy has in all
    files: tuple[int, ...] = ()  # the attachments a ZIP part holds
    lang: str = "en"

    def to_payload(self) -> Payload:
        return {"kind": self.KIND, "resident_id": self.resident_id, "part": self.part,
                "parts": self.parts, "files": list(self.files), "lang": self.lang}

    @classmethod
    def read(cls, payload: Payload) -> PersonalDataCopy | None:
        if payload.get("kind") != cls.KIND:
            return None
        try:
            return cls(int(payload["resident_id"]), int(payload["part"]),
                       int(payload["parts"]), tuple(int(i) for i in payload.get("files") or ()),
                       str(payload.get("lang") or "en"))
        except (KeyError, TypeError, ValueError):
            return None


@dataclass(frozen=True)
class AnnouncementNotice:
    """One resident's copy of an office announcement (tickets/announcements.py), in their
    language as it was when queued."""

    KIND: ClassVar[str] = "announcement"
    announcement_id: int
    lang: str = "en"

    def to_payload(self) -> Payload:
        return {"kind": self.KIND, "announcement_id": self.announcement_id, "lang": self.lang}

    @classmethod
    def read(cls, payload: Payload) -> AnnouncementNotice | None:
        if payload.get("kind") != cls.KIND:
            return None
        try:
            return cls(int(payload["announcement_id"]), str(payload.get("lang") or "en"))
        except (KeyError, TypeError, ValueError):
            return None


OutboxNotice = (TicketNotice | StatisticsReport | ReplyLost | PersonalDataCopy
                | AnnouncementNotice)


def read_payload(payload: Payload) -> OutboxNotice | None:
    """What an outbox row stands for; None for a row this code cannot read."""
    kind = payload.get("kind")
    if kind == StatisticsReport.KIND:
        return StatisticsReport.read(payload)
    if kind == ReplyLost.KIND:
        return ReplyLost.read(payload)
    if kind == PersonalDataCopy.KIND:
        return PersonalDataCopy.read(payload)
    if kind == AnnouncementNotice.KIND:
        return AnnouncementNotice.read(payload)
    return TicketNotice.read(payload)
