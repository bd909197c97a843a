"""What a step tells, written as outbox rows in the step's own transaction (the notifier
sends them later, so a crash loses nothing): the card in the staff group and posts in its
thread, alerts to managers, notices to the resident."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Attachment, Ticket
from storage.repositories import Outbox, StaffMembers
from tickets.evidence import ALBUM_MAX, EvidenceKind, album_class
from tickets.notices import Card, Evidence, ResidentNotice, TicketNotice


@dataclass(frozen=True)
class Managers:
    """The managers an alert names: as the post shows them, their Telegram ids (mentioned, so
    that Telegram notifies each), and the private chats of those who want alerts there too."""

    names: str = ""
    ids: tuple[int, ...] = ()
    private_chats: tuple[int, ...] = ()



class Posts:
    def __init__(self, session: AsyncSession, outbox: Outbox, staff: StaffMembers,
                 staff_chat_id: int | None) -> None:
        self.session, self.outbox, self.staff = session, outbox, staff
        self.staff_chat_id = staff_chat_id
        # an incident's step done to its linked reports: no thread posts of theirs, and each
        # resident told once (tickets/incidents.py)
        self.quiet_thread = self.quiet_resident = False

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
        before = self.quiet_thread, self.quiet_resident
        self.quiet_thread, self.quiet_resident = True, not tell_resident
        try:
            yield
        finally:
            self.quiet_thread, self.quiet_resident = before

    def evidence(self, ticket: Ticket, attachments: Sequence[Attachment]) -> None:
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
                    self.thread(Evidence(ticket.id, files=tuple(run)))

    async def managers(self) -> Managers:
        managers = list(await self.staff.managers())
        return Managers(", ".join(m.name for m in managers),
                        tuple(m.telegram_user_id for m in managers),
                        tuple(m.telegram_user_id for m in managers if m.alerts_in_private))

    def alert(self, notice: TicketNotice, managers: Managers) -> None:
        """An alert in the card's thread, and in the private chat of each manager who asked
        for alerts there (/alerts private)."""
        self.thread(notice)
        for chat_id in managers.private_chats:
            self.outbox.enqueue(chat_id, notice)

    def thread(self, notice: TicketNotice) -> None:
        """A post in the card's thread in the staff group."""
        if self.staff_chat_id is not None and not self.quiet_thread:
            self.outbox.enqueue(self.staff_chat_id, notice)

    def tell_resident(self, ticket: Ticket, notice: ResidentNotice) -> None:
        resident = ticket.resident
        if resident is not None and resident.chat_id is not None and not self.quiet_resident:
            self.outbox.enqueue(resident.chat_id, notice)  # (no chat: erased)
