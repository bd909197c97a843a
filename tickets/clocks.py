"""What time does to a ticket: its deadlines (a reminder before each, an escalation and an
apology after), the resolve clock stopped while the office waits for the resident, fresh
deadlines for a reopened ticket, and the timers that fire (survey reminders, auto-close, the
call-back, follow-ups). Each timer fires exactly once (storage: `Timers.due`).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from storage.models import Ticket
from tickets import feedback
from tickets.inputs import SYSTEM, Actor
from tickets.lifecycle import CLOCK_RUNNING, OPEN, Action, Role, Status, check
from tickets.notices import (
    Apology,
    AutoClosed,
    CallBackPost,
    DeadlineNear,
    FollowUpDue,
    Overdue,
    Resolving,
    SurveyReminder,
)
from tickets.policy import CallBackOutcome
from tickets.timers import Stage, TimerKind

if TYPE_CHECKING:
    from tickets.service import TicketService


def deadline_timers(service: TicketService, ticket: Ticket, start: datetime
                    ) -> dict[str, datetime]:
    """A ticket's deadline timers from `start`: a reminder before each deadline (the
    policy's share of its span), an escalation at it."""
    sla = service.timing.sla
    deadlines = sla.for_ticket(ticket.category_code, ticket.priority)
    return {TimerKind.ACK_REMINDER: sla.reminder(start, deadlines.acknowledge),
            TimerKind.ACK_OVERDUE: ticket.ack_due_at,
            TimerKind.RESOLVE_REMINDER: sla.reminder(start, deadlines.resolve),
            TimerKind.RESOLVE_OVERDUE: ticket.resolve_due_at}


async def start_clocks(service: TicketService, ticket: Ticket) -> None:
    """The deadline timers (a reminder before each, an escalation after), and the link to
    earlier complaints of the same unit and category."""
    sla = service.timing.sla
    start = ticket.created_at
    service.timers.start(ticket.id, deadline_timers(service, ticket, start))
    if ticket.unit_text and sla.repeat_window:
        earlier = await service.tickets.earlier_of_unit(ticket, start - sla.repeat_window)
        if earlier:
            ticket.repeat_of_id = earlier[0][0]
            numbers = [number for _, number in earlier]
            service.record_event(ticket, "repeat", SYSTEM, note=", ".join(numbers),
                                 details={"earlier": numbers, "days": sla.repeat_window.days})
    await service.session.flush()


# --- timers ----------------------------------------------------------------------------
async def fire_due(service: TicketService, now: datetime | None = None) -> int:
    """Do what is due (reminders, auto-close, follow-ups); each timer fires exactly once."""
    now = now or service.clock()
    fired = 0
    for timer in await service.timers.due(now):
        timer.fired_at = now
        ticket = await service.tickets.get(timer.ticket_id)
        if ticket is None:
            continue
        fired += 1
        await _fire(service, ticket, timer.kind, timer.round, now)
    await service.session.flush()
    return fired


async def _fire(service: TicketService, ticket: Ticket, stored_kind: str, round_: int,
                now: datetime) -> None:
    kind = TimerKind.read(stored_kind)  # an unknown kind (a newer release's) does nothing
    resolved = ticket.status == Status.RESOLVED
    if kind == TimerKind.SURVEY_REMINDER and resolved:
        survey = await service.surveys.of_round(ticket.id, round_)
        if survey is not None and survey.answered_at is None:
            service.posts.tell_resident(ticket, SurveyReminder(ticket.id, survey_id=survey.id))
            service.record_event(ticket, "reminder", SYSTEM, note="survey")
        await service.timers.set(ticket.id, TimerKind.AUTO_CLOSE,
                                 now + service.timing.survey_close_after, round_)
    elif kind == TimerKind.AUTO_CLOSE and resolved:
        target = check(Action.AUTO_CLOSE, ticket.status, Role.SYSTEM)
        await service.move(ticket, target, SYSTEM, note="no answer to the survey")
        service.posts.tell_resident(ticket, AutoClosed(ticket.id))
    elif kind == TimerKind.TELL_RESOLVING and ticket.status == Status.RESOLVING:
        service.posts.tell_resident(ticket, Resolving(ticket.id))
    elif kind == TimerKind.CALL_BACK:
        await feedback.ask_call_back(service, ticket, round_, now)
    elif kind == TimerKind.CALL_BACK_EXPIRE:
        call_back = await service.call_backs.of_round(ticket.id, round_)
        if call_back is not None and call_back.outcome is None:
            call_back.outcome = CallBackOutcome.UNANSWERED
            service.record_event(ticket, "call_back", SYSTEM, details={
                "call_back_id": call_back.id, "outcome": CallBackOutcome.UNANSWERED})
            service.posts.thread(CallBackPost(ticket.id, outcome=CallBackOutcome.UNANSWERED))
    elif kind == TimerKind.FOLLOW_UP:
        service.record_event(ticket, "follow_up", SYSTEM, note=ticket.improvement_measures)
        service.posts.thread(FollowUpDue(ticket.id, measures=ticket.improvement_measures or ""))
    elif kind is not None and (stage := kind.stage) and _deadline_open(ticket, stage):
        due = ticket.ack_due_at if stage == Stage.ACKNOWLEDGE else ticket.resolve_due_at
        if not kind.is_reminder:
            await _overdue(service, ticket, stage, now)
        elif now < due:  # (late, say nothing: the escalation is due)
            _remind(service, ticket, stage, due)


def _remind(service: TicketService, ticket: Ticket, stage: Stage, due: datetime) -> None:
    service.record_event(ticket, "reminder", SYSTEM, note=f"{stage} deadline",
                         details={"stage": stage})
    service.posts.thread(DeadlineNear(ticket.id, stage=stage, due=due.isoformat(),
                                      assignee=ticket.assignee.name if ticket.assignee else ""))


async def _overdue(service: TicketService, ticket: Ticket, stage: Stage, now: datetime) -> None:
    """A deadline passed: managers are alerted, the resident gets an apology and a new
    expected time."""
    sla = service.timing.sla
    deadlines = sla.for_ticket(ticket.category_code, ticket.priority)
    promised = sla.extended(now, deadlines.acknowledge if stage == Stage.ACKNOWLEDGE
                            else deadlines.resolve)
    if ticket.escalated_at is None:
        ticket.escalated_at = now
    service.record_event(ticket, "escalated", SYSTEM, note=f"{stage} deadline passed",
                         details={"stage": stage, "promised": promised.isoformat()})
    service.posts.refresh_card(ticket)
    managers = await service.posts.managers()
    service.posts.alert(Overdue(ticket.id, stage=stage, managers=managers.names,
                                manager_ids=managers.ids,
                                assignee=ticket.assignee.name if ticket.assignee else ""), managers)
    service.posts.tell_resident(ticket, Apology(ticket.id, stage=stage,
                                                promised=promised.isoformat()))


async def pause_resolve_clock(service: TicketService, ticket: Ticket, now: datetime) -> None:
    """The office waits for the resident: the resolve deadline stands still."""
    ticket.resolve_paused_at = now
    await service.timers.cancel(ticket.id, TimerKind.RESOLVE_REMINDER,
                                TimerKind.RESOLVE_OVERDUE)


async def resume_resolve_clock(service: TicketService, ticket: Ticket, now: datetime,
                               actor: Actor) -> None:
    """The wait is over: the resolve deadline goes on with the time it had left."""
    paused_at, ticket.resolve_paused_at = ticket.resolve_paused_at, None
    assert paused_at is not None
    sla = service.timing.sla
    span = sla.for_ticket(ticket.category_code, ticket.priority).resolve
    due, reminder = sla.resumed(paused_at, ticket.resolve_due_at, now, span)
    if due <= now:  # missed before the wait began: escalated then, nothing to resume
        return
    if due != ticket.resolve_due_at:
        ticket.resolve_due_at = due
        service.record_event(ticket, "deadline", actor, details={
            "stage": Stage.RESOLVE, "due": due.isoformat(),
            "paused_from": paused_at.isoformat(),
            "paused_seconds": round((now - paused_at).total_seconds())})
    await service.timers.restart(ticket.id, {TimerKind.RESOLVE_REMINDER: reminder,
                                             TimerKind.RESOLVE_OVERDUE: due})


async def fresh_deadlines(service: TicketService, ticket: Ticket, now: datetime,
                          actor: Actor) -> None:
    """A reopened ticket starts over: to be taken up again and resolved within the times
    the policy gives a new ticket."""
    sla = service.timing.sla
    ticket.ack_due_at, ticket.resolve_due_at = sla.due_times(now, ticket.category_code,
                                                             ticket.priority)
    ticket.resolved_at = None  # not resolved now; the next resolution sets it again
    service.record_event(ticket, "deadline", actor, details={
        "stage": "reopened", "ack_due": ticket.ack_due_at.isoformat(),
        "due": ticket.resolve_due_at.isoformat()})
    await service.timers.restart(ticket.id, deadline_timers(service, ticket, now))


def _deadline_open(ticket: Ticket, stage: Stage) -> bool:
    """Whether the deadline a timer watches is still to be met. A reopened ticket is to be
    taken up again; one waiting for the resident has its resolve clock stopped."""
    if stage == Stage.ACKNOWLEDGE:
        return ticket.status == Status.REOPENED or (
            ticket.status in OPEN and ticket.acknowledged_at is None)
    return ticket.status in CLOCK_RUNNING
