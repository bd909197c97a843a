"""What a ticket's timers are for. A timer is a row (`storage.models.Timer`) that the scheduler
fires once, at its time; its kind says what firing it does (`TicketService.fire_due_timers`).
"""

from __future__ import annotations

from enum import StrEnum


class Stage(StrEnum):
    """The two promises every ticket carries (complaint-process steps 1 and 5): to take it up
    by a time, and to resolve it by a time."""

    ACKNOWLEDGE = "ack"
    RESOLVE = "resolve"


class TimerKind(StrEnum):
    ACK_REMINDER = "ack_reminder"  # the acknowledgement is due soon: remind the staff group
    ACK_OVERDUE = "ack_overdue"  # it was not: escalate, and apologise to the resident
    RESOLVE_REMINDER = "resolve_reminder"
    RESOLVE_OVERDUE = "resolve_overdue"
    SURVEY_REMINDER = "survey_reminder"  # the survey is unanswered: ask once more
    AUTO_CLOSE = "auto_close"  # …still unanswered: close the ticket
    FOLLOW_UP = "follow_up"  # check that the improvement measures hold
    TELL_RESOLVING = "tell_resolving"  # still "being resolved": tell the resident
    CALL_BACK = "call_back"  # 回访: ask the resident whether the problem stays solved
    CALL_BACK_EXPIRE = "call_back_expire"  # …no answer: recorded as unanswered

    @property
    def stage(self) -> Stage | None:
        """The deadline a reminder or an escalation watches; None for the other kinds."""
        return _STAGE_OF.get(self)

    @property
    def is_reminder(self) -> bool:
        return self in (TimerKind.ACK_REMINDER, TimerKind.RESOLVE_REMINDER)

    @classmethod
    def read(cls, stored: str) -> TimerKind | None:
        """The kind of a stored timer; None for one this code does not know."""
        try:
            return cls(stored)
        except ValueError:
            return None


_STAGE_OF = {TimerKind.ACK_REMINDER: Stage.ACKNOWLEDGE, TimerKind.ACK_OVERDUE: Stage.ACKNOWLEDGE,
             TimerKind.RESOLVE_REMINDER: Stage.RESOLVE, TimerKind.RESOLVE_OVERDUE: Stage.RESOLVE}
