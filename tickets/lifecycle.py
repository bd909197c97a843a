"""The ticket lifecycle: statuses, the actions that move a ticket, and who may take them.

Every change of a ticket is an `Action`. `RULES` says, for each action, from which statuses it
may be taken, which status it leads to (None: the status stays), and which roles may take it.
`check()` is the one place that decides; the service calls it before any change.
"""

from __future__ import annotations

from dataclasses import dataclass
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


class Role(StrEnum):
    RESIDENT = "resident"
    AGENT = "agent"
    MANAGER = "manager"
    SYSTEM = "system"  # timers: reminders, auto-close


class Action(StrEnum):
    ACKNOWLEDGE = "acknowledge"
    TAKE = "take"  # assign to oneself
    ASSIGN = "assign"
    MESSAGE = "message"  # staff -> resident
    REQUEST_INFO = "request_info"
    INVESTIGATE = "investigate"  # start the investigation
    RECORD_FINDINGS = "record_findings"
    START_RESOLVING = "start_resolving"
    RESOLVE = "resolve"
    REJECT = "reject"
    ESCALATE = "escalate"
    NOTE = "note"  # internal, never shown to the resident
    ANSWER = "answer"  # the resident adds information (ends "waiting for resident")
    WITHDRAW = "withdraw"
    CONFIRM_FIXED = "confirm_fixed"  # survey: yes, or a rating alone
    NOT_FIXED = "not_fixed"  # survey: partly / no
    AUTO_CLOSE = "auto_close"  # survey unanswered
    RECUR = "recur"  # the call-back (回访): the problem came back after closing
    MEDIATE = "mediate"  # a dispute: contact the other party (message, visit, call)
    AGREE = "agree"  # a dispute settled: the agreement reached resolves it (mediation)
    DECLARE_INCIDENT = "declare_incident"  # one outage: new reports of its scope link to it
    UNLINK_INCIDENT = "unlink_incident"  # a report linked by mistake: a ticket of its own again
    LINK_INCIDENT = "link_incident"  # by hand: a report of an outage joins its open incident


S = Status
STAFF = frozenset({Role.AGENT, Role.MANAGER})
OPEN = frozenset({S.NEW, S.ACKNOWLEDGED, S.INVESTIGATING, S.WAITING_FOR_RESIDENT,
                  S.RESOLVING, S.REOPENED})
FINAL = frozenset({S.CLOSED, S.REJECTED, S.WITHDRAWN})
# The resolve clock stands still while the office waits for the resident's answer: a ticket
# waiting for them is late for nothing (tickets.sla.SlaPolicy.resumed gives the time back).
CLOCK_RUNNING = OPEN - {S.WAITING_FOR_RESIDENT}


@dataclass(frozen=True)
class Rule:
    sources: frozenset[Status]
    target: Status | None  # None: the status does not change
    roles: frozenset[Role]


RULES: dict[Action, Rule] = {
    Action.ACKNOWLEDGE: Rule(frozenset({S.NEW}), S.ACKNOWLEDGED, STAFF),
    Action.TAKE: Rule(OPEN, None, STAFF),
    Action.ASSIGN: Rule(OPEN, None, STAFF),
    Action.MESSAGE: Rule(OPEN | {S.RESOLVED}, None, STAFF),
    Action.REQUEST_INFO: Rule(
        frozenset({S.NEW, S.ACKNOWLEDGED, S.INVESTIGATING, S.RESOLVING, S.REOPENED}),
        S.WAITING_FOR_RESIDENT, STAFF),
    # from RESOLVING too: a fix that turns out to need more investigation goes back
    Action.INVESTIGATE: Rule(
        frozenset({S.ACKNOWLEDGED, S.WAITING_FOR_RESIDENT, S.RESOLVING, S.REOPENED}),
        S.INVESTIGATING, STAFF),
    Action.RECORD_FINDINGS: Rule(frozenset({S.INVESTIGATING, S.RESOLVING}), None, STAFF),
    Action.START_RESOLVING: Rule(frozenset({S.INVESTIGATING}), S.RESOLVING, STAFF),
    Action.RESOLVE: Rule(frozenset({S.INVESTIGATING, S.RESOLVING}), S.RESOLVED, STAFF),
    # Turning a complaint down is a manager's decision; an agent escalates instead.
    Action.REJECT: Rule(
        frozenset({S.NEW, S.ACKNOWLEDGED, S.INVESTIGATING, S.WAITING_FOR_RESIDENT, S.REOPENED}),
        S.REJECTED, frozenset({Role.MANAGER})),
    Action.ESCALATE: Rule(OPEN, None, STAFF | {Role.SYSTEM}),
    Action.NOTE: Rule(OPEN | {S.RESOLVED} | FINAL, None, STAFF),
    Action.DECLARE_INCIDENT: Rule(OPEN - {S.WAITING_FOR_RESIDENT}, None, STAFF),
    Action.UNLINK_INCIDENT: Rule(OPEN, None, STAFF),
    Action.LINK_INCIDENT: Rule(OPEN, None, STAFF),
    # The target of ANSWER is where the ticket was before it waited (see `after_waiting`).
    # also once resolved: the resident may answer the office's message about the outcome
    Action.ANSWER: Rule(OPEN | {S.RESOLVED}, None, frozenset({Role.RESIDENT})),
    Action.WITHDRAW: Rule(OPEN, S.WITHDRAWN, frozenset({Role.RESIDENT})),
    Action.CONFIRM_FIXED: Rule(frozenset({S.RESOLVED}), S.CLOSED, frozenset({Role.RESIDENT})),
    # from CLOSED only when the same survey closed it by a rating a moment before (the service
    # checks that): the resident then answers "partly" / "no" to "is it fixed?"
    Action.NOT_FIXED: Rule(frozenset({S.RESOLVED, S.CLOSED}), S.REOPENED,
                           frozenset({Role.RESIDENT})),
    Action.AUTO_CLOSE: Rule(frozenset({S.RESOLVED}), S.CLOSED, frozenset({Role.SYSTEM})),
    Action.RECUR: Rule(frozenset({S.CLOSED}), S.REOPENED, frozenset({Role.RESIDENT})),
    # (offered on dispute tickets only: tickets.offers)
    Action.MEDIATE: Rule(OPEN - {S.NEW}, None, STAFF),
    Action.AGREE: Rule(frozenset({S.INVESTIGATING, S.RESOLVING}), S.RESOLVED, STAFF),
}


class LifecycleError(Exception):
    """An action the rules refuse. code: "not_now" (wrong status) or "not_permitted" (role)."""

    def __init__(self, code: str, action: Action, status: Status) -> None:
        super().__init__(f"{code}: {action} from {status}")
        self.code, self.action, self.status = code, action, status


def allowed(action: Action, status: str, role: Role) -> bool:
    rule = RULES[action]
    return Status(status) in rule.sources and role in rule.roles


def check(action: Action, status: str, role: Role) -> Status | None:
    """The status `action` leads to from `status` (None: unchanged), or LifecycleError."""
    rule = RULES[action]
    current = Status(status)
    if current not in rule.sources:
        raise LifecycleError("not_now", action, current)
    if role not in rule.roles:
        raise LifecycleError("not_permitted", action, current)
    return rule.target


def after_waiting(previous: str | None) -> Status:
    """Where a ticket goes back to once the resident answered a request for information."""
    if previous in (S.INVESTIGATING, S.RESOLVING, S.REOPENED):
        return S.INVESTIGATING
    return S.ACKNOWLEDGED


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


# What staff see: the same, except where the resident's words would mislead the office.
STAFF_STATUS_LABELS: dict[Status, str] = {
    **STATUS_LABELS,
    Status.WAITING_FOR_RESIDENT: N_("waiting for the resident"),
}


def can_withdraw(status: str) -> bool:
    return allowed(Action.WITHDRAW, status, Role.RESIDENT)


def accepts_information(status: str) -> bool:
    """Residents may add details and evidence until the ticket is closed."""
    return allowed(Action.ANSWER, status, Role.RESIDENT)


def mermaid() -> str:
    """The lifecycle's state diagram, drawn from RULES (tickets/lifecycle.md holds it)."""
    lines = ["stateDiagram-v2", "    [*] --> new: a report (chat, or the office's intake)"]
    for action, rule in RULES.items():
        roles = ", ".join(sorted(rule.roles))
        if rule.target is not None:
            lines += [f"    {source} --> {rule.target}: {action} ({roles})"
                      for source in sorted(rule.sources)]
        elif action == Action.ANSWER:  # back where the ticket was before it waited
            for target in sorted({after_waiting(s) for s in RULES[Action.REQUEST_INFO].sources}):
                lines.append(f"    {S.WAITING_FOR_RESIDENT} --> {target}: {action} ({roles})")
    lines += [f"    {status} --> [*]" for status in sorted(FINAL)]
    return "\n".join(lines)
