"""The single gate for creating tickets and changing their status.

Chat, staff group, CLI and any later API call these methods, so the audit trail (ticket
events) and the notifications are written in the same transaction as the change itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Attachment, Resident, Ticket, TicketEvent, utcnow
from storage.repositories import Categories, Outbox, Tickets
from tickets.lifecycle import Status, accepts_information, can_transition
from tickets.policy import PRIORITIES, due_times


class TicketError(Exception):
    """A change the rules do not allow; `code` says which rule."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class Actor:
    type: str  # resident | staff | system
    id: int | None = None


@dataclass
class Submission:
    key: str  # one draft, one ticket: a repeated submit returns the first ticket
    category: str
    description: str
    priority: str = "normal"
    evidence: list[dict[str, Any]] = field(default_factory=list)


def attachment_from(media: dict[str, Any]) -> Attachment:
    return Attachment(
        kind=media["kind"],
        file_id=media["file_id"],
        file_unique_id=media["file_unique_id"],
        mime_type=media.get("mime_type"),
        size=int(media.get("size") or 0),
        sha256=media.get("sha256"),
        local_path=media.get("local_path"),
    )


class TicketService:
    def __init__(self, session: AsyncSession, *, staff_chat_id: int | None = None) -> None:
        self.tickets = Tickets(session)
        self.categories = Categories(session)
        self.outbox = Outbox(session)
        self.session = session
        self.staff_chat_id = staff_chat_id

    async def submit(
        self, resident: Resident, submission: Submission, now: datetime | None = None
    ) -> tuple[Ticket, bool]:
        """Store a resident's report; returns (ticket, created). Idempotent per submission key."""
        existing = await self.tickets.by_submission(submission.key)
        if existing is not None:
            return existing, False
        category = await self.categories.by_code(submission.category)
        if category is None or not category.active:
            raise TicketError("unknown_category")
        if submission.priority not in PRIORITIES:
            raise TicketError("unknown_priority")
        now = now or utcnow()
        ack_due, resolve_due = due_times(
            now, category.ack_hours, category.resolve_hours, submission.priority
        )
        ticket = Ticket(
            submission_key=submission.key,
            resident_id=resident.id,
            unit_id=resident.unit_id,
            unit_text=resident.unit_label,
            category_code=category.code,
            description=submission.description,
            channel="telegram",
            status=Status.NEW,
            priority=submission.priority,
            created_at=now,
            ack_due_at=ack_due,
            resolve_due_at=resolve_due,
            events=[],
            attachments=[attachment_from(m) for m in submission.evidence],
        )
        ticket.events.append(
            TicketEvent(
                kind="status", to_status=Status.NEW, actor_type="resident",
                actor_id=resident.id, note=None, created_at=now,
            )
        )
        self.tickets.add(ticket)
        await self.session.flush()
        ticket.number = f"{now:%y%m}-{ticket.id:04d}"
        self._tell_staff("new_ticket", ticket)
        await self.session.flush()
        return ticket, True

    def _tell_staff(self, kind: str, ticket: Ticket, **details: object) -> None:
        """Queue a staff-group notice in this transaction (the notifier sends it later)."""
        if self.staff_chat_id is not None:
            self.outbox.enqueue(self.staff_chat_id,
                                {"kind": kind, "ticket_id": ticket.id, **details})

    async def transition(
        self, ticket: Ticket, target: Status, actor: Actor, note: str | None = None
    ) -> Ticket:
        if not can_transition(ticket.status, target):
            raise TicketError("transition_not_allowed")
        now = utcnow()
        previous = ticket.status
        ticket.status = target
        if target == Status.ACKNOWLEDGED and ticket.acknowledged_at is None:
            ticket.acknowledged_at = now
        elif target == Status.RESOLVED:
            ticket.resolved_at = now
        elif target in (Status.CLOSED, Status.WITHDRAWN, Status.REJECTED):
            ticket.closed_at = now
        elif target == Status.REOPENED:
            ticket.reopen_count += 1
        ticket.events.append(
            TicketEvent(
                kind="status", from_status=previous, to_status=target,
                actor_type=actor.type, actor_id=actor.id, note=note, created_at=now,
            )
        )
        await self.session.flush()
        return ticket

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
        await self.transition(ticket, Status.WITHDRAWN, Actor("resident", resident.id))
        self._tell_staff("withdrawn", ticket)
        return ticket

    async def add_information(
        self,
        resident: Resident,
        ticket: Ticket,
        *,
        text: str | None = None,
        media: dict[str, Any] | None = None,
    ) -> Ticket:
        if ticket.resident_id != resident.id:
            raise TicketError("not_found")
        if not accepts_information(ticket.status):
            raise TicketError("ticket_closed")
        now = utcnow()
        if media is not None:
            if len(ticket.attachments) >= 30:
                raise TicketError("too_many_files")
            ticket.attachments.append(attachment_from(media))
        ticket.events.append(
            TicketEvent(
                kind="evidence" if media is not None else "message",
                actor_type="resident", actor_id=resident.id,
                note=text if media is None else (text or media["kind"]), created_at=now,
            )
        )
        self._tell_staff("resident_added", ticket, text=(text or "")[:500],
                         file=media["kind"] if media else None)
        await self.session.flush()
        return ticket
