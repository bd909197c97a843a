"""The SQL of erasing a resident's personal data (tickets/erasure.py decides what and when)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, or_, select, update

from storage.models import (
    Attachment,
    CallBack,
    ConversationState,
    MessageLink,
    OutboxMessage,
    Resident,
    ResidentChange,
    Survey,
    Ticket,
    TicketDetail,
    TicketEvent,
    TicketParty,
)
from storage.repositories import Repository


@dataclass(frozen=True)
class CopyFacts:
    """Everything the copy is made of, as loaded (PersonalData.copy_facts)."""

    resident: Resident
    tickets: Sequence[Ticket]  # their own
    surveys: Sequence[Survey]
    call_backs: Sequence[CallBack]
    changes: Sequence[ResidentChange]
    as_party: Sequence[Ticket]  # disputes where they were the other party


class PersonalData(Repository):
    async def copy_facts(self, resident: Resident) -> CopyFacts:
        """What a resident's copy of their data is made of."""
        tickets = await self.tickets_of(resident.id)
        own = [t for t in tickets if t.resident_id == resident.id]
        ids = [t.id for t in own]
        surveys = (await self.session.scalars(select(Survey).where(Survey.ticket_id.in_(ids))
                                              .order_by(Survey.id))).all()
        call_backs = (await self.session.scalars(
            select(CallBack).where(CallBack.ticket_id.in_(ids)).order_by(CallBack.id))).all()
        changes = (await self.session.scalars(
            select(ResidentChange).where(ResidentChange.resident_id == resident.id)
            .order_by(ResidentChange.id))).all()
        return CopyFacts(resident, own, surveys, call_backs, changes,
                         [t for t in tickets if t.resident_id != resident.id])

    async def tickets_of(self, resident_id: int) -> Sequence[Ticket]:
        """The resident's own tickets, and those where they were the other party."""
        parties = select(TicketParty.ticket_id).where(TicketParty.resident_id == resident_id)
        return (await self.session.scalars(
            select(Ticket).where(or_(Ticket.resident_id == resident_id, Ticket.id.in_(parties)))
            .order_by(Ticket.id))).unique().all()

    async def forget_chat(self, chat_id: int) -> None:
        """Everything kept about a private chat: its state (drafts, answers), the links of its
        messages, and every message queued or sent to it."""
        for model in (ConversationState, MessageLink, OutboxMessage):
            await self.session.execute(delete(model).where(model.chat_id == chat_id))

    async def forget_changes(self, resident_id: int) -> None:
        """/profile's audit trail keeps that a change happened, not the old or new values."""
        await self.session.execute(update(ResidentChange).where(
            ResidentChange.resident_id == resident_id).values(old=None, new=None))

    async def forget_contact(self, resident_id: int) -> None:
        """The name and phone a ticket taken by phone or at the desk was logged with."""
        await self.session.execute(update(Ticket).where(Ticket.resident_id == resident_id)
                                   .values(contact_name=None, contact_phone=None))

    async def their_events(self, resident_id: int, ticket_ids: Collection[int]
                           ) -> Sequence[TicketEvent]:
        """What the resident did on these tickets (their words are in the notes)."""
        return (await self.session.scalars(select(TicketEvent).where(
            TicketEvent.ticket_id.in_(ticket_ids), TicketEvent.actor_type == "resident",
            TicketEvent.actor_id == resident_id))).all()

    async def forget_ticket_content(self, ticket_ids: Collection[int]) -> None:
        """A finished ticket's description, answers and survey comments (status, dates,
        category and outcome stay: the statistics)."""
        await self.session.execute(update(Ticket).where(Ticket.id.in_(ticket_ids))
                                   .values(description="", rating_comment=None))
        await self.session.execute(delete(TicketDetail).where(
            TicketDetail.ticket_id.in_(ticket_ids)))
        await self.session.execute(update(Survey).where(Survey.ticket_id.in_(ticket_ids))
                                   .values(comment=None))
        await self.forget_delivered(ticket_ids)

    async def forget_delivered(self, ticket_ids: Collection[int]) -> None:
        """What was posted about these tickets is delivered: the outbox's copies of it (to the
        card, its thread, managers' chats: names, what the resident wrote) go."""
        await self.session.execute(delete(OutboxMessage).where(
            OutboxMessage.state != "pending",
            OutboxMessage.payload["ticket_id"].as_integer().in_(ticket_ids)))

    async def evidence_of(self, ticket_ids: Collection[int]) -> Sequence[Attachment]:
        return (await self.session.scalars(select(Attachment).where(
            Attachment.ticket_id.in_(ticket_ids)))).all()

    async def paths_in_use(self, paths: Collection[str], besides: Collection[int]
                           ) -> set[str]:
        """Of these stored files, those other attachments still point to (the store keeps
        the same bytes once, whoever sent them)."""
        if not paths:
            return set()
        found = await self.session.execute(select(Attachment.local_path, Attachment.original_path)
                                           .where(or_(Attachment.local_path.in_(paths),
                                                      Attachment.original_path.in_(paths)),
                                                  Attachment.id.not_in(besides)))
        return {path for row in found for path in row if path in paths}

    async def delete_attachments(self, ids: Collection[int]) -> None:
        await self.session.execute(delete(Attachment).where(Attachment.id.in_(ids)))

    async def inactive(self, before: datetime, among: Collection[int] | None = None
                       ) -> list[int]:
        """Residents not erased whose last ticket activity (or registration) is before
        `before`: none of their tickets was created, changed or closed since. `among`: only
        these (the check again, in the transaction that erases them)."""
        last = (select(func.max(TicketEvent.created_at)).join(Ticket)
                .where(Ticket.resident_id == Resident.id).scalar_subquery())
        query = select(Resident.id).where(Resident.erased_at.is_(None),
                                          Resident.created_at < before,
                                          or_(last.is_(None), last < before))
        if among is not None:
            query = query.where(Resident.id.in_(among))
        return list((await self.session.scalars(query.order_by(Resident.id))).all())

    async def expired_evidence(self, closed_before: datetime, finished: Collection[str],
                               among: Collection[int] | None = None) -> list[tuple[int, int]]:
        """Evidence (attachment id, ticket id) of tickets finished (in one of the `finished`
        statuses) before `closed_before` — one reopened since is not finished — or of an
        erased resident's finished ticket (a crash between its files and the commit leaves
        some behind)."""
        erased = select(Resident.id).where(Resident.erased_at.is_not(None))
        query = select(Attachment.id, Attachment.ticket_id).join(Ticket).where(
            Ticket.status.in_(finished),
            or_(Ticket.closed_at < closed_before, Ticket.resident_id.in_(erased)))
        if among is not None:
            query = query.where(Attachment.id.in_(among))
        return [(a, t) for a, t in await self.session.execute(query.order_by(Attachment.id))]

    async def attachments(self, ids: Collection[int]) -> Sequence[Attachment]:
        return (await self.session.scalars(select(Attachment).where(Attachment.id.in_(ids))
                                           .order_by(Attachment.id))).all()
