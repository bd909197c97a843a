"""Which staff actions a ticket offers now: the card's buttons and the console's forms show
the same ones (the lifecycle's RULES say what its status allows; a few facts of the ticket
hide more: Take once someone owns it, messages without a resident, a second escalation)."""

from __future__ import annotations

from storage.models import Ticket
from tickets.lifecycle import RULES, Action, Role, Status, allowed

# in the order the card shows them
STAFF_ACTIONS: tuple[Action, ...] = (
    Action.ACKNOWLEDGE, Action.TAKE, Action.ASSIGN, Action.INVESTIGATE, Action.RECORD_FINDINGS,
    Action.RESOLVE, Action.MEDIATE, Action.AGREE, Action.MESSAGE, Action.REQUEST_INFO,
    Action.ESCALATE, Action.DECLARE_INCIDENT, Action.LINK_INCIDENT, Action.REJECT, Action.NOTE,
)
DISPUTE_ONLY = frozenset({Action.MEDIATE, Action.AGREE})


def offered(ticket: Ticket, role: Role | None = None) -> list[Action]:
    """The staff actions this ticket offers now; with `role`, only those that role may do
    (the card is shared by agents and managers, so it shows all and refuses on press)."""
    status = Status(ticket.status)
    shown = []
    for action in STAFF_ACTIONS:
        if status not in RULES[action].sources:
            continue
        if action == Action.TAKE and ticket.assignee_id is not None:
            continue
        if action in (Action.MESSAGE, Action.REQUEST_INFO) and ticket.resident_id is None:
            continue
        if action == Action.ESCALATE and ticket.escalated_at is not None:
            continue
        if action in DISPUTE_ONLY and not is_dispute(ticket):
            continue
        if action in (Action.DECLARE_INCIDENT, Action.LINK_INCIDENT) and (
                ticket.incident_id is not None or leads_incident(ticket)):
            continue
        if role is not None and not allowed(action, status, role):
            continue
        shown.append(action)
    return shown


def is_dispute(ticket: Ticket) -> bool:
    """A dispute between residents (its category says so): the office may mediate."""
    return ticket.category is not None and ticket.category.dispute


def leads_incident(ticket: Ticket) -> bool:
    """Whether staff made this ticket an incident (its timeline says so)."""
    return any(e.kind == "incident" and (e.details or {}).get("scope") for e in ticket.events)
