"""Erasure of a resident's personal data (PIPL art. 47, GDPR art. 17) and the retention periods.

Erasing a resident (/forget, `residesk residents forget`, the console, or RESIDENT_RETENTION_YEARS
of no activity) replaces their name with a pseudonym and removes their phone, their Telegram
ids, their chat's state and everything queued or sent to it. Their tickets stay, anonymised,
so the statistics stay true. A finished ticket loses at once what they wrote (description,
answers, messages, survey comments) and its evidence files; an open one keeps them until it
is finished, since the office is still working on the problem (TicketService._move calls
`forget_finished` then). Evidence of any ticket closed EVIDENCE_RETENTION_MONTHS ago is
deleted by the daily retention run (`apply_retention`).

Files are deleted inside the transaction, before the rows that point to them: should the
commit fail, the rows are still there and the next run deletes them (a missing file is fine).
"""

from __future__ import annotations

import asyncio
import logging
from calendar import monthrange
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Attachment, Resident, Staff, Ticket
from storage.personal_data import PersonalData
from storage.repositories import Residents
from tickets.lifecycle import FINAL
from tickets.privacy import Retention

if TYPE_CHECKING:
    from tickets.service import TicketService

log = logging.getLogger(__name__)


def pseudonym(resident: Resident) -> str:
    """What an erased resident is called from then on (their row's number says nothing)."""
    return f"R-{resident.id}"


class ErasedBy(StrEnum):
    """Who had a resident's data erased (the audit trail keeps it, and when)."""

    RESIDENT = "resident"  # /forget
    STAFF = "staff"  # asked by phone, letter or at the desk: the console or the command line
    RETENTION = "retention"  # no ticket activity for RESIDENT_RETENTION_YEARS


@dataclass(frozen=True)
class ErasureSummary:
    """What an erasure removes now and what it leaves (the second confirmation says it)."""

    open_tickets: tuple[str, ...]  # numbers: kept whole until they are finished
    finished_tickets: int
    files: int  # evidence files deleted now


@dataclass
class RetentionReport:
    """What a retention run removed (or, dry, would remove)."""

    residents: list[int] = field(default_factory=list)  # ids of the residents anonymised
    files: int = 0  # evidence files deleted
    tickets: set[int] = field(default_factory=set)  # whose evidence went


async def summary(data: PersonalData, resident: Resident) -> ErasureSummary:
    """What erasing this resident now would remove (and leave until later)."""
    return await summary_of(data, [t for t in await data.tickets_of(resident.id)
                                   if t.resident_id == resident.id])


async def summary_of(data: PersonalData, tickets: Sequence[Ticket]) -> ErasureSummary:
    finished = [t for t in tickets if t.status in FINAL]
    files = await data.evidence_of([t.id for t in finished])
    return ErasureSummary(tuple(t.number or "" for t in tickets if t.status not in FINAL),
                          len(finished), len(files))


async def forget_resident(service: TicketService, resident: Resident, by: ErasedBy,
                          now: datetime, staff: Staff | None = None) -> ErasureSummary:
    """Erase a resident's personal data now. The audit trail keeps who asked (and the staff
    member who did it, when known) and when, nothing of the resident."""
    data = PersonalData(service.session)
    before = await summary(data, resident)
    if resident.chat_id is not None:
        await data.forget_chat(resident.chat_id)
    await data.forget_changes(resident.id)
    await data.forget_contact(resident.id)
    resident.name, resident.phone = pseudonym(resident), ""
    resident.telegram_user_id = resident.chat_id = None
    resident.reachable, resident.erased_at = False, now
    Residents(service.session).record_change(
        resident, "erased", None, by + (f" #{staff.id}" if staff is not None else ""))
    await service.session.flush()
    tickets = await data.tickets_of(resident.id)
    await data.forget_delivered([t.id for t in tickets])
    for ticket in tickets:
        for event in ticket.events:  # their name, where a complaint taken by phone became theirs
            if event.kind == "linked" and event.actor_id == resident.id:
                event.note = None
        service.record_erasure(ticket, by, staff)
        if ticket.status in FINAL:
            await forget_finished(service.session, ticket)
    return before


async def gather_caller(service: TicketService, phone: str) -> Resident | None:
    """Someone whose complaints the office took by phone or at the desk and who never used
    the bot: their tickets gathered under a resident row of their own (no Telegram ids), so
    that they are erased as any resident is — their open tickets' content when finished."""
    tickets = await service.tickets.unclaimed_with_phone([phone])
    if not tickets:
        return None
    latest = tickets[-1]
    caller = Resident(name=latest.contact_name or phone, phone=phone, language="en",
                      reachable=False, unit_id=latest.unit_id, unit_text=latest.unit_text[:64])
    service.session.add(caller)
    await service.session.flush()
    for ticket in tickets:
        ticket.resident_id, ticket.resident = caller.id, caller
    return caller


async def forget_finished(session: AsyncSession, ticket: Ticket) -> int:
    """A finished ticket of an erased resident (or where one was the other party): what they
    wrote on it goes, and if it was theirs, its content and evidence files; the number of
    files deleted."""
    data = PersonalData(session)
    # (a ticket made in this transaction has no party loaded, nor one to load)
    party = None if "party" in inspect(ticket).unloaded else ticket.party
    erased = [r for r in (ticket.resident, party.resident if party else None)
              if r is not None and r.erased_at is not None]
    for resident in erased:
        for event in await data.their_events(resident.id, [ticket.id]):
            event.note = None
            if event.details:  # Telegram's ids of what they sent
                event.details = {k: v for k, v in event.details.items() if k != "file_id"}
    if ticket.resident not in erased:
        return 0
    await data.forget_ticket_content([ticket.id])
    return await delete_evidence(data, await data.evidence_of([ticket.id]))


async def delete_evidence(data: PersonalData, attachments: Sequence[Attachment]) -> int:
    """Delete these attachments and their files (those no other attachment shares)."""
    if not attachments:
        return 0
    ids = [a.id for a in attachments]
    paths = {p for a in attachments for p in (a.local_path, a.original_path) if p}
    shared = await data.paths_in_use(paths, ids)
    await asyncio.to_thread(_unlink, paths - shared)
    await data.delete_attachments(ids)
    return len(attachments)


def _unlink(paths: Collection[str]) -> None:
    for path in paths:
        try:
            Path(path).unlink(missing_ok=True)
        except OSError as error:  # (the row goes all the same: the file is found by a sweep)
            log.error("could not delete an evidence file: %s", error.strerror)


def months_before(moment: datetime, months: int) -> datetime:
    """The same day and time `months` earlier (the month's last day when it is shorter)."""
    month_index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(month_index, 12)
    day = min(moment.day, monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


@dataclass(frozen=True)
class RetentionDue:
    """What the retention periods remove now, as found by one read."""

    residents: tuple[int, ...]
    evidence: tuple[int, ...]  # attachment ids
    tickets: frozenset[int] = frozenset()  # whose evidence it is


async def retention_due(data: PersonalData, retention: Retention, now: datetime
                        ) -> RetentionDue:
    """Who and what is due (a read: a deployment's writers need not wait for it)."""
    evidence = await data.expired_evidence(months_before(now, retention.evidence_months), FINAL)
    return RetentionDue(
        tuple(await data.inactive(months_before(now, 12 * retention.resident_years))),
        tuple(a for a, _t in evidence), frozenset(t for _a, t in evidence))


async def apply_retention(service: TicketService, retention: Retention, now: datetime,
                          due: RetentionDue) -> RetentionReport:
    """Erase the residents and delete the evidence in `due` (one batch of it), each checked
    again first: what changed since the read is left alone."""
    data = PersonalData(service.session)
    report = RetentionReport()
    for resident_id in await data.inactive(months_before(now, 12 * retention.resident_years),
                                           among=due.residents):
        resident = await service.session.get(Resident, resident_id)
        assert resident is not None
        await forget_resident(service, resident, ErasedBy.RETENTION, now)
        report.residents.append(resident_id)
    expired = await data.attachments([a for a, _t in await data.expired_evidence(
        months_before(now, retention.evidence_months), FINAL, among=due.evidence)])
    report.tickets |= {a.ticket_id for a in expired}
    report.files = await delete_evidence(data, expired)
    return report
