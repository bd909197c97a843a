"""Every ticket of a period as flat rows, streamed from the database (never all in memory)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import SQLCoreOperations

from storage.models import Building, Incident, Resident, Staff, Ticket, TicketDetail, Unit

BATCH = 1000

# the incident a ticket is a linked report of, and that incident's lead; the incident a ticket
# leads itself
LINKED_TO = aliased(Incident, name="linked_to")
LEAD = aliased(Ticket, name="lead")
LEADS = aliased(Incident, name="leads")

# header -> column; the order is the file's
COLUMNS: dict[str, SQLCoreOperations[Any]] = {
    "number": Ticket.number,
    # the incident's lead ticket's number, on the lead and on each report linked to it: an
    # analyst groups an outage's rows by it (the statistics count it once)
    "incident": func.coalesce(LEAD.number, case((LEADS.id.is_not(None), Ticket.number))),
    "created_at": Ticket.created_at,
    "channel": Ticket.channel,
    "status": Ticket.status,
    "priority": Ticket.priority,
    "category": Ticket.category_code,
    "building": Building.name,
    "unit": func.coalesce(Unit.number, Ticket.unit_text),
    "floor": Unit.floor,
    "complainant": func.coalesce(Resident.name, Ticket.contact_name),
    "phone": func.coalesce(Resident.phone, Ticket.contact_phone),
    "description": Ticket.description,
    # the answers to the category's questions, "question=answer; …" (codes, as asked)
    "details": select(func.aggregate_strings(TicketDetail.question + "=" + TicketDetail.value,
                                             "; "))
    .where(TicketDetail.ticket_id == Ticket.id).correlate(Ticket).scalar_subquery(),
    "assignee": Staff.name,
    "ack_due_at": Ticket.ack_due_at,
    "acknowledged_at": Ticket.acknowledged_at,
    "resolve_due_at": Ticket.resolve_due_at,
    "resolved_at": Ticket.resolved_at,
    "closed_at": Ticket.closed_at,
    "escalated_at": Ticket.escalated_at,
    "severity": Ticket.severity,
    "cause_category": Ticket.cause_category,
    "cause": Ticket.cause,
    "resolution_type": Ticket.resolution_type,
    "resolution": Ticket.resolution_text,
    "improvement_measures": Ticket.improvement_measures,
    "follow_up_at": Ticket.follow_up_at,
    "rating": Ticket.rating,
    "rating_comment": Ticket.rating_comment,
    "reopen_count": Ticket.reopen_count,
}
HEADERS: Sequence[str] = tuple(COLUMNS)


async def ticket_rows(session: AsyncSession, start: datetime, end: datetime
                      ) -> AsyncIterator[tuple[Any, ...]]:
    """Tickets created in [start, end), oldest first, one tuple per ticket (HEADERS' order),
    fetched in batches from a server-side cursor."""
    query = (
        select(*COLUMNS.values())
        .select_from(Ticket)
        .outerjoin(Resident, Resident.id == Ticket.resident_id)
        .outerjoin(Unit, Unit.id == Ticket.unit_id)
        .outerjoin(Building, Building.id == Unit.building_id)
        .outerjoin(Staff, Staff.id == Ticket.assignee_id)
        .outerjoin(LINKED_TO, LINKED_TO.id == Ticket.incident_id)
        .outerjoin(LEAD, LEAD.id == LINKED_TO.lead_ticket_id)
        .outerjoin(LEADS, LEADS.lead_ticket_id == Ticket.id)
        .where(Ticket.created_at >= start, Ticket.created_at < end)
        .order_by(Ticket.created_at, Ticket.id)
        .execution_options(yield_per=BATCH)
    )
    result = await session.stream(query)
    async for row in result:
        yield tuple(row)
