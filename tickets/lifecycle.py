"""Ticket statuses and the transitions allowed between them (DESIGN.md "Ticket lifecycle")."""

from __future__ import annotations

from enum import StrEnum

from locales import N_


class Status(StrEnum):
    NEW = "new"
    ACKNOWLEDGED = "acknowledged"
    INVESTIGATING = "investigating"
    WAITING_FOR_RESIDENT = "waiting_for_resident"
    RESOLVING = "resolving"
    RESOLVED = "resolved"
    CLOSED = "closed"
    REOPENED = "reopened"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.NEW: frozenset({Status.ACKNOWLEDGED, Status.REJECTED, Status.WITHDRAWN}),
    Status.ACKNOWLEDGED: frozenset(
        {Status.INVESTIGATING, Status.REJECTED, Status.WITHDRAWN, Status.WAITING_FOR_RESIDENT}
    ),
    Status.INVESTIGATING: frozenset(
        {Status.RESOLVING, Status.WAITING_FOR_RESIDENT, Status.WITHDRAWN}
    ),
    Status.WAITING_FOR_RESIDENT: frozenset(
        {Status.ACKNOWLEDGED, Status.INVESTIGATING, Status.WITHDRAWN}
    ),
    Status.RESOLVING: frozenset({Status.RESOLVED, Status.INVESTIGATING, Status.WITHDRAWN}),
    Status.RESOLVED: frozenset({Status.CLOSED, Status.REOPENED}),
    Status.REOPENED: frozenset({Status.INVESTIGATING, Status.WITHDRAWN}),
    Status.CLOSED: frozenset(),
    Status.REJECTED: frozenset(),
    Status.WITHDRAWN: frozenset(),
}

FINAL = frozenset(s for s, targets in TRANSITIONS.items() if not targets)

# What the resident sees for each status (translated where shown).
STATUS_LABELS: dict[Status, str] = {
    Status.NEW: N_("received"),
    Status.ACKNOWLEDGED: N_("acknowledged"),
    Status.INVESTIGATING: N_("under investigation"),
    Status.WAITING_FOR_RESIDENT: N_("waiting for your reply"),
    Status.RESOLVING: N_("being resolved"),
    Status.RESOLVED: N_("resolved"),
    Status.CLOSED: N_("closed"),
    Status.REOPENED: N_("reopened"),
    Status.REJECTED: N_("rejected"),
    Status.WITHDRAWN: N_("withdrawn"),
}


def can_transition(current: str, target: Status) -> bool:
    return target in TRANSITIONS.get(Status(current), frozenset())


def accepts_information(status: str) -> bool:
    """Residents may add details and evidence while the office is still working on it."""
    return Status(status) not in FINAL and Status(status) != Status.RESOLVED
