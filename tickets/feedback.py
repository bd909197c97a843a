"""Feedback (complaint-process step 6): the resident's survey after a resolution, and the
call-back (回访) some days after closing. A "partly" or "no" reopens and escalates; "it came
back" at the call-back reopens too and counts as a recurrence.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING

from storage.models import CallBack, Resident, Survey, Ticket
from tickets import clocks
from tickets.inputs import SYSTEM, Actor, TicketError
from tickets.lifecycle import Action, Status, check
from tickets.notices import (
    CallBackPost,
    CallBackQuestion,
    ClosedByResident,
    NotFixed,
    SurveyAnswered,
)
from tickets.policy import SURVEY_ANSWERS, CallBackOutcome
from tickets.posts import Managers
from tickets.timers import TimerKind

if TYPE_CHECKING:
    from tickets.service import TicketService


async def answer_survey(service: TicketService, resident: Resident, survey: Survey, *,
                        fixed: str | None = None, rating: int | None = None,
                        comment: str | None = None) -> tuple[Survey, bool]:
    """Record one part of a survey answer; returns (survey, changed). Answers are final."""
    ticket = survey.ticket
    if ticket.resident_id != resident.id:
        raise TicketError("not_found")
    if fixed is not None and fixed not in SURVEY_ANSWERS:
        raise TicketError("bad_value")
    if rating is not None and not 1 <= rating <= 5:
        raise TicketError("bad_value")
    if (fixed and survey.fixed) or (rating and survey.rating) or (
            comment and survey.comment):
        return survey, False
    actor = Actor.of_resident(resident)
    now = service.clock()
    # a rating alone closes; a "partly" / "no" given after it still reopens
    closed_by_rating = (ticket.status == Status.CLOSED and survey.answered_at is not None
                        and survey.fixed is None)
    current_round = survey.round == ticket.reopen_count and (
        ticket.status == Status.RESOLVED or closed_by_rating)
    if fixed is not None:
        survey.fixed = fixed
    if rating is not None:
        survey.rating = rating
        ticket.rating = rating
    if comment is not None:
        survey.comment = comment
        ticket.rating_comment = comment
    survey.answered_at = now
    service.record_event(ticket, "survey", actor, note=comment, details={
        "survey_id": survey.id, "fixed": fixed, "rating": rating})
    if current_round and fixed in ("partly", "no"):
        await service.move(ticket, check(Action.NOT_FIXED, ticket.status, actor.role), actor,
                           note=fixed)
        ticket.reopen_count += 1
        await clocks.fresh_deadlines(service, ticket, now, SYSTEM)
        ticket.escalated_at = now
        await service.timers.cancel(ticket.id, TimerKind.SURVEY_REMINDER, TimerKind.AUTO_CLOSE)
        managers = await service.posts.managers()
        service.posts.alert(NotFixed(ticket.id, answer=fixed, managers=managers.names,
                                     manager_ids=managers.ids,
                                     assignee=ticket.assignee.name if ticket.assignee else ""),
                            managers)
    elif current_round and ticket.status == Status.RESOLVED and (
            fixed == "yes" or (rating is not None and survey.fixed is None)):
        await service.move(ticket, check(Action.CONFIRM_FIXED, ticket.status, actor.role),
                           actor)
        await service.timers.cancel(ticket.id, TimerKind.SURVEY_REMINDER, TimerKind.AUTO_CLOSE)
        service.posts.thread(ClosedByResident(ticket.id, rating=rating or 0))
    else:
        service.posts.refresh_card(ticket)
        service.posts.thread(SurveyAnswered(ticket.id, fixed=fixed or "", rating=rating or 0,
                                            comment=comment or ""))
    await service.session.flush()
    return survey, True


async def answer_call_back(service: TicketService, resident: Resident, call_back: CallBack,
                           outcome: CallBackOutcome) -> tuple[CallBack, bool]:
    """The resident answers the call-back (回访); returns (call_back, changed). Answered
    once; a late answer (after it was recorded as unanswered) still counts. "It came back"
    reopens the ticket, escalates it and counts as a recurrence."""
    ticket = call_back.ticket
    if ticket.resident_id != resident.id:
        raise TicketError("not_found")
    if outcome not in (CallBackOutcome.HELD, CallBackOutcome.RECURRED):
        raise TicketError("bad_value")
    if call_back.outcome not in (None, CallBackOutcome.UNANSWERED):
        return call_back, False
    actor, now = Actor.of_resident(resident), service.clock()
    call_back.outcome, call_back.answered_at = outcome, now
    service.record_event(ticket, "call_back", actor, details={"call_back_id": call_back.id,
                                                              "outcome": outcome})
    await service.timers.cancel(ticket.id, TimerKind.CALL_BACK_EXPIRE)
    managers = Managers()
    current = ticket.status == Status.CLOSED and call_back.round == ticket.reopen_count
    if outcome == CallBackOutcome.RECURRED and current:
        await service.move(ticket, check(Action.RECUR, ticket.status, actor.role), actor,
                           note="it came back")
        ticket.reopen_count += 1
        ticket.escalated_at = now
        await clocks.fresh_deadlines(service, ticket, now, SYSTEM)
        managers = await service.posts.managers()
    service.posts.alert(CallBackPost(ticket.id, outcome=outcome, managers=managers.names,
                                     manager_ids=managers.ids), managers)
    service.posts.refresh_card(ticket)
    await service.session.flush()
    return call_back, True


async def schedule_call_back(service: TicketService, ticket: Ticket, now: datetime) -> None:
    """The call-back (回访) of this closing: on the day, at the office's follow-up hour."""
    days = service.timing.call_back_after(ticket.category_code)
    if not days or ticket.resident_id is None or (
            ticket.resident is not None and ticket.resident.erased_at is not None):
        return
    zone = service.timing.sla.calendar.timezone
    day = now.astimezone(zone).date() + timedelta(days=days)
    at = datetime.combine(day, time(service.timing.follow_up_hour), zone)
    await service.timers.set(ticket.id, TimerKind.CALL_BACK, at, ticket.reopen_count)


async def ask_call_back(service: TicketService, ticket: Ticket, round_: int, now: datetime) -> None:
    if ticket.status != Status.CLOSED or round_ != ticket.reopen_count or (
            ticket.resident is None):
        return  # reopened meanwhile: this closing's call-back is moot
    if await service.call_backs.of_round(ticket.id, round_) is not None:
        return
    call_back = CallBack(ticket_id=ticket.id, round=round_, asked_at=now)
    service.call_backs.add(call_back)
    await service.session.flush()
    days = service.timing.call_back_after(ticket.category_code)
    service.record_event(ticket, "call_back", SYSTEM, details={"call_back_id": call_back.id,
                                                               "outcome": None})
    service.posts.tell_resident(ticket, CallBackQuestion(ticket.id, call_back_id=call_back.id,
                                                         days=days))
    service.posts.thread(CallBackPost(ticket.id, days=days))
    await service.timers.set(ticket.id, TimerKind.CALL_BACK_EXPIRE,
                             now + service.timing.call_back_wait, round_)
