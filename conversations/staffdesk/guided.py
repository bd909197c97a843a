"""A guided action: begin it, ask its questions one by one, take the answers, finish it.

The dialog in progress is a `GuidedAction` on the staff member's row, written back after every
step, so it survives restarts; one at a time per person (beginning another replaces it).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from conversations.context import Context
from conversations.keyboards import Prefix, button, grid
from conversations.notices import category_name
from conversations.staffdesk import templates
from conversations.staffdesk.answers import text_value, value_of
from conversations.staffdesk.dialog import Guided, GuidedAction
from conversations.staffdesk.questions import CANCEL, DIALOG_ACTIONS, DIALOGS, SKIP, Ask
from storage.models import ReplyTemplate, Staff, Ticket
from tickets import incidents
from tickets.inputs import Intake, Investigation, Resolution, TicketError
from tickets.lifecycle import STAFF_STATUS_LABELS, Role, Status, allowed
from tickets.mediation import Contact
from tickets.scope import ScopeKind


async def begin(ctx: Context, staff: Staff, kind: Guided, ticket: Ticket | None) -> None:
    if ctx.event.callback_id is not None and ctx.out.callback_answer is None:
        ctx.answer()
    action = GuidedAction(kind=kind, ticket=ticket.id if ticket else None,
                          anchor=(ticket.card_message_id if ticket else ctx.event.message_id),
                          key=uuid.uuid4().hex)
    await _next(ctx, staff, action, ticket)


async def _next(ctx: Context, staff: Staff, action: GuidedAction, ticket: Ticket | None) -> None:
    """Ask the next question that applies, or finish when none is left."""
    asks = DIALOGS[action.kind]
    step = action.step + 1
    while step < len(asks) and not asks[step].applies(action.answers):
        step += 1
    action = action.at(step)
    staff.dialog = action.to_json()
    if step >= len(asks):
        await finish(ctx, staff, action, ticket)
        return
    await _ask(ctx, staff, action, asks[step], ticket)


async def _ask(ctx: Context, staff: Staff, action: GuidedAction, ask: Ask,
               ticket: Ticket | None, problem: str | None = None,
               shown: ReplyTemplate | None = None) -> None:
    _ = ctx._
    head = (_("No. %(number)s") % {"number": ticket.number} + " · ") if ticket else ""
    text = f"{staff.name}, {head}{_(ask.prompt)}"
    if "%(min)d" in ask.prompt:
        text = text % {"min": ask.min_len}
    if shown is not None and ticket is not None:
        text += "\n\n" + templates.preview(ctx, shown, templates.filled(ctx, shown, ticket))
    if problem:
        text = f"{problem}\n\n{text}"
    choices = ask.choices
    if ask.key == "category":
        choices = tuple((c.code, category_name(_, c.code))
                        for c in await ctx.categories.active())
    # bound to this person's question: a button of another one's (or an older) question
    # is refused instead of answering the wrong thing
    buttons = [button(_(label) if ask.key != "category" else label, Prefix.STAFF_DIALOG, value,
                      action.tag)
               for value, label in choices]
    if ticket is not None:
        buttons += templates.buttons(ctx, await templates.offered(ctx, ask.templates, ticket),
                                     action.tag, shown)
    if ask.optional:
        buttons.append(button(_("Skip"), Prefix.STAFF_DIALOG, SKIP, action.tag))
    buttons.append(button(_("Cancel"), Prefix.STAFF_DIALOG, CANCEL, action.tag))
    ctx.say(text, grid(buttons, 3), reply_to=action.anchor)


async def answer(ctx: Context, staff: Staff, pressed: str | None = None) -> None:
    """The staff member answered the current question (typed, sent a file, or pressed)."""
    _ = ctx._
    action = GuidedAction.from_json(staff.dialog)
    if action is None:
        ctx.answer(_("This question is no longer open."))
        return
    ticket = await ctx.tickets.tickets.get(action.ticket) if action.ticket else None
    if action.ticket and ticket is None:
        staff.dialog = None
        return
    ask = DIALOGS[action.kind][action.step]
    if pressed is not None:
        ctx.answer()
    if pressed == CANCEL:
        staff.dialog = None
        ctx.say(_("Cancelled. Nothing was saved."), edit=True)
        return
    if (template := templates.pressed_template(pressed)) is not None:
        chosen = next((t for t in await templates.offered(ctx, ask.templates, ticket)
                       if t.id == template[1]), None)
        if chosen is None or ticket is None:  # (disabled meanwhile, or a forged button)
            await _ask(ctx, staff, action, ask, ticket,
                       _("That template is no longer offered."))
            return
        if template[0] == "show":
            await _ask(ctx, staff, action, ask, ticket, shown=chosen)
            return
        value, problem = text_value(ctx, ask, templates.filled(ctx, chosen, ticket))
    else:
        value, problem = value_of(ctx, staff, ask, pressed)
    if problem is not None:
        await _ask(ctx, staff, action, ask, ticket, problem)
        return
    action = action.answered(ask.key, value)
    staff.dialog = action.to_json()
    await _next(ctx, staff, action, ticket)


async def finish(ctx: Context, staff: Staff, action: GuidedAction,
                 ticket: Ticket | None) -> None:
    """All questions answered: make the change (or say why it cannot be made now)."""
    _ = ctx._
    staff.dialog = None
    ctx.out.notify = True
    try:
        if action.kind == Guided.INTAKE:
            answers = action.answers
            created, _new = await ctx.tickets.take_intake(staff, Intake(
                key=action.key, name=answers["name"], phone=answers["phone"],
                unit=answers["unit"], category=answers["category"],
                description=answers["description"], channel=answers["channel"]))
            if created.incident is not None:  # one outage, many reports
                ctx.say(_("Logged as No. %(number)s and linked to the incident it belongs to; "
                          "it shows under that incident's card.") % {
                    "number": created.number}, reply_to=action.anchor)
                return
            ctx.say(_("Logged as No. %(number)s. Its card follows.") % {
                "number": created.number}, reply_to=action.anchor)
            return
        assert ticket is not None
        if not allowed(DIALOG_ACTIONS[action.kind], ticket.status, Role(staff.role)):
            raise TicketError("changed")  # someone else moved the ticket on meanwhile
        done = await _change(ctx, staff, action, ticket)
    except TicketError as error:
        if ticket is not None and error.code in ("changed", "not_now"):
            status = _(STAFF_STATUS_LABELS[Status(ticket.status)])
            done = _("No. %(number)s changed while you were entering this (now: %(status)s). "
                     "Nothing was saved.") % {"number": ticket.number, "status": status}
            ctx.out.result = "stale"
        elif error.code == "unknown_category":
            done = _("That category is no longer offered. Nothing was saved.")
        elif error.code == "party_not_in_bot":
            done = _("Nobody of that flat uses the bot (or they blocked it). Nothing was sent: "
                     "reach them by a visit or a call.")
            ctx.out.result = "refused"
        elif error.code == "not_on_list":
            done = _("This ticket's flat is not on the office's unit list, so its building "
                     "is not known: mark the incident for the whole property. Nothing was "
                     "saved.")
            ctx.out.result = "refused"
        elif error.code == "bad_floors":
            done = _("Those floors could not be read (write them as 3-7, or 3, 5, 9). "
                     "Nothing was saved.")
            ctx.out.result = "refused"
        elif error.code == "bad_units":
            done = _("Those flats are not all on the office's unit list (write them as 0301, "
                     "0302, or 2-0301). Nothing was saved.")
            ctx.out.result = "refused"
        elif error.code == "same_party":
            done = _("That is the complainant's own flat. Nothing was saved.")
            ctx.out.result = "refused"
        else:
            done = _("This could not be saved. Please check the ticket and try again.")
            ctx.out.result = "refused"
    head = _("No. %(number)s") % {"number": ticket.number} if ticket else ""
    ctx.say(f"{head} · {done}" if head else done, reply_to=action.anchor)


async def _change(ctx: Context, staff: Staff, action: GuidedAction, ticket: Ticket) -> str:
    """Make a ticket's guided action; what to tell the staff member."""
    _ = ctx._
    service = ctx.tickets
    answers = action.answers
    if action.kind == Guided.MESSAGE:
        message = answers["text"]
        await service.message_resident(ticket, staff, message["text"] or None, message["file"])
        return _("Sent to the resident.")
    if action.kind == Guided.REQUEST_INFO:
        await service.request_information(ticket, staff, answers["text"])
        return _("Sent to the resident; the ticket waits for their answer.")
    if action.kind == Guided.REJECT:
        await service.reject(ticket, staff, answers["text"])
        return _("Rejected. The resident has been told the reason.")
    if action.kind == Guided.NOTE:
        await service.add_note(ticket, staff, answers["text"])
        return _("Note saved (internal).")
    if action.kind == Guided.FINDINGS:
        visit = answers.get("visit_at")
        await service.record_investigation(ticket, staff, Investigation(
            site_visit_at=datetime.fromisoformat(visit) if visit else None,
            site_visit_by=answers.get("visit_by"), findings=answers["findings"],
            interviewed=answers.get("interviewed"), severity=answers["severity"],
            cause_category=answers["cause_category"], cause=answers["cause"]))
        return _("Investigation recorded.")
    if action.kind == Guided.PARTY:
        await service.contact_party(ticket, staff, Contact(answers["unit"], answers["method"],
                                                           answers["text"]))
        return (_("Sent to the other party; their answer will come here.")
                if answers["method"] == "bot" else _("Contact with the other party recorded."))
    if action.kind == Guided.AGREEMENT:
        await service.record_agreement(ticket, staff, answers["text"],
                                       datetime.fromisoformat(answers["on"]).date())
        return _("Agreement recorded; resolved as a mediation. Both sides have been told.")
    if action.kind == Guided.INCIDENT:
        return await _incident(ctx, staff, ticket, answers)
    assert action.kind == Guided.RESOLUTION
    follow_up = answers.get("follow_up")
    await service.resolve(ticket, staff, Resolution(
        type=answers["type"], text=answers["text"], measures=answers.get("measures"),
        follow_up_at=datetime.fromisoformat(follow_up) if follow_up else None))
    return _("Resolved. The resident has been sent the outcome and the survey.")


async def _incident(ctx: Context, staff: Staff, ticket: Ticket, answers: Mapping[str, Any]
                    ) -> str:
    """The ticket leads an incident for the scope chosen."""
    _ = ctx._
    scope, words = await incidents.scope_for(ctx.session, ticket, ScopeKind(answers["scope"]),
                                             answers.get("floors") or answers.get("units")
                                             or "", _)
    await ctx.tickets.declare_incident(ticket, staff, scope, words)
    return _("Marked as an incident for %(scope)s: new reports of this category from there "
             "are linked to it.") % {"scope": words}
