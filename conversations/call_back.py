"""The call-back (回访, complaint-process step 6): a while after a ticket closed, the resident
is asked whether the problem stays solved. Its two buttons work from anywhere in the chat and
need no conversation state (see survey.md for the feedback step as a whole)."""

from __future__ import annotations

from conversations.context import Context
from conversations.keyboards import CallBackButton
from tickets.inputs import TicketError
from tickets.policy import CallBackOutcome

ANSWERS = {"held": CallBackOutcome.HELD, "back": CallBackOutcome.RECURRED}


async def press(ctx: Context) -> None:
    _ = ctx._
    callback = ctx.callback
    assert callback is not None
    pressed = CallBackButton.unpack(callback)
    found = await ctx.tickets.call_backs.get(pressed.id) if pressed is not None else None
    if ctx.resident is None or found is None or found.ticket.resident_id != ctx.resident.id:
        ctx.answer(_("Ticket not found."), alert=True)
        return
    outcome = ANSWERS.get(callback.action)
    if outcome is None:
        ctx.answer(_("This button is no longer active."))
        return
    try:
        found, changed = await ctx.tickets.answer_call_back(ctx.resident, found, outcome)
    except TicketError:
        ctx.answer(_("This button is no longer active."))
        return
    if not changed:
        ctx.answer(_("You have already answered this. Thank you!"))
        return
    ctx.answer(_("Thank you!"))
    number = found.ticket.number
    if outcome == CallBackOutcome.HELD:
        ctx.say(_("Good to hear! Thank you for letting us know — ticket No. %(number)s stays "
                  "closed.") % {"number": number}, edit=True)
    elif found.ticket.status == "reopened":
        ctx.say(_("We are sorry it came back. Ticket No. %(number)s is open again, a manager "
                  "has been told, and we will keep you informed here.") % {"number": number},
                edit=True)
    else:  # the ticket moved on meanwhile (reopened another way): the answer is kept
        ctx.say(_("Thank you, we have noted your answer for ticket No. %(number)s.") % {
            "number": number}, edit=True)
