"""Mediation between neighbours (complaint-process step 5, 协商和调解): staff reach the other
party of a dispute (a message through the bot, a visit, a call), the other party's answer
comes into the card's thread, and the agreement reached resolves the ticket as a mediation.
The other party never learns who complained.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from storage.models import Resident, Staff, Ticket, TicketParty
from storage.repositories import Residents, Units
from tickets.inputs import Actor, Resolution, TicketError
from tickets.lifecycle import OPEN, Action, Role
from tickets.notices import MediationPost, NoticeFile, PartyMessage, PartySettled
from tickets.offers import is_dispute

if TYPE_CHECKING:
    from tickets.service import TicketService

PARTY_METHODS = ("bot", "visit", "call")


@dataclass(frozen=True)
class Contact:
    """Staff reach the other party of a dispute: their unit as typed, how (a message through
    the bot, a visit, a call), and what the other party reads (bot) or what was said."""

    unit: str
    method: str
    text: str



# --- mediation (complaint-process step 5, 协商和调解) -------------------------------------
async def contact_party(service: TicketService, ticket: Ticket, staff: Staff, contact: Contact,
                        version: int | None = None) -> Ticket:
    """Record the other party of a dispute and how they were reached; a message through
    the bot goes to them as staff wrote it, never naming the complainant."""
    actor = Actor.of_staff(staff)
    service.require(ticket, Action.MEDIATE, actor, version)
    if not is_dispute(ticket):
        raise TicketError("not_dispute")
    if contact.method not in PARTY_METHODS or not contact.unit.strip():
        raise TicketError("bad_value")
    unit = await Units(service.session).by_label(contact.unit)
    other = await Residents(service.session).of_unit(unit.id if unit else None, contact.unit)
    if other is not None and other.id == ticket.resident_id:
        raise TicketError("same_party")
    if contact.method == "bot" and (other is None or not other.reachable):
        raise TicketError("party_not_in_bot")
    label = unit.label if unit else contact.unit.strip()
    party = ticket.party or TicketParty(ticket_id=ticket.id, created_at=service.clock())
    party.unit_text, party.unit_id = label, unit.id if unit else None
    party.resident_id, party.resident, party.method = (
        other.id if other else None), other, contact.method
    ticket.party = party
    service.record_event(ticket, "mediation", actor, note=contact.text, details={
        "step": "contacted", "method": contact.method, "unit": label})
    service.posts.thread(MediationPost(ticket.id, step="contacted", method=contact.method,
                                       unit=label, text=contact.text))
    if contact.method == "bot" and other is not None and other.chat_id is not None:
        service.outbox.enqueue(other.chat_id, PartyMessage(
            ticket.id, text=contact.text, language=other.language or ""))
    service.posts.refresh_card(ticket)
    await service.session.flush()
    return ticket


async def party_answered(service: TicketService, resident: Resident, ticket: Ticket, *,
                         text: str | None = None,
                         media: dict[str, Any] | None = None) -> Ticket:
    """The other party answers the office through the bot: to the card's thread (the
    complainant never sees it)."""
    party = ticket.party
    if party is None or party.resident_id != resident.id:
        raise TicketError("not_found")
    if ticket.status not in OPEN:
        raise TicketError("ticket_closed")
    service.record_event(ticket, "mediation", Actor(Role.RESIDENT, resident.id, resident.name),
                         note=text or (media or {}).get("kind"),
                         details={"step": "answered", "file_id": (media or {}).get("file_id")})
    service.posts.thread(MediationPost(ticket.id, step="answered", unit=party.unit_text,
                                       text=(text or "")[:3000], file=NoticeFile.of(media)))
    await service.session.flush()
    return ticket


async def record_agreement(service: TicketService, ticket: Ticket, staff: Staff, text: str,
                           day: date, version: int | None = None) -> Ticket:
    """The agreement reached resolves the dispute as a mediation: the complainant gets the
    outcome (and the survey), the other party is told it is settled."""
    actor = Actor.of_staff(staff)
    service.require(ticket, Action.AGREE, actor, version)
    party = ticket.party
    if not is_dispute(ticket) or party is None:
        raise TicketError("no_party")
    party.agreement, party.agreed_on = text, day
    service.record_event(ticket, "mediation", actor, note=text, details={
        "step": "agreed", "on": day.isoformat(), "unit": party.unit_text})
    service.posts.thread(MediationPost(ticket.id, step="agreed", unit=party.unit_text, text=text))
    if (party.method == "bot" and party.resident is not None
        and party.resident.chat_id is not None):
        service.outbox.enqueue(party.resident.chat_id, PartySettled(
            ticket.id, text=text, language=party.resident.language or ""))
    return await service.resolve(ticket, staff, Resolution("mediation", text))
