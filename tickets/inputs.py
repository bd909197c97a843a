"""What callers hand the ticket service, and what it answers when a rule says no.

The chat, the staff group, the console, the CLI and the timers build these; `TicketService`
(tickets/service.py) and the steps beside it take them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from storage.models import Attachment, Resident, Staff, TicketDetail
from tickets.lifecycle import Role
from tickets.questions import CODE_MAX, DETAIL_TEXT_MAX, QUESTIONS_MAX, Detail


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
