"""A ticket card's buttons: who pressed, whether the card is current, what the button does.

A card button carries the ticket's version (`keyboards.staff_button`): pressed on an older
card it is refused and the card refreshed. The buttons of a guided action's questions
(`Prefix.STAFF_DIALOG`) come here too and go on to `guided.answer`.
"""

from __future__ import annotations

from conversations.context import Context
from conversations.keyboards import Callback, CardAction, Prefix, grid, staff_button, staff_target
from conversations.notices import CARD_ACTION_CODES, category_name
from conversations.staffdesk.dialog import Guided, GuidedAction
from conversations.staffdesk.guided import answer, begin
from locales import N_
from storage.models import Staff, Ticket
from tickets import incidents
from tickets.inputs import Actor, TicketError
from tickets.lifecycle import STAFF_STATUS_LABELS, Action, Role, Status, allowed
from tickets.offers import DISPUTE_ONLY, is_dispute

# the lifecycle action of each button (the card shows them: notices.CARD_ACTION_CODES)
CARD_CODES: dict[CardAction, Action] = (
    {button: action for action, button in CARD_ACTION_CODES.items()}
    | {CardAction.ASSIGN_TO: Action.ASSIGN, CardAction.UNLINK: Action.UNLINK_INCIDENT,
       CardAction.LINK_TO: Action.LINK_INCIDENT})
# buttons that act whatever changed on the ticket since they were posted (a linked report's
# steps follow its incident: its version moves on without anyone looking at it)
ANY_VERSION = frozenset({CardAction.UNLINK})
# the buttons that begin a guided action straight away (Investigation and Resolve do some
# more first: see act)
GUIDED_BY_BUTTON: dict[CardAction, Guided] = {
    CardAction.MESSAGE: Guided.MESSAGE, CardAction.REQUEST_INFO: Guided.REQUEST_INFO,
    CardAction.REJECT: Guided.REJECT, CardAction.NOTE: Guided.NOTE,
    CardAction.RECORD_FINDINGS: Guided.FINDINGS, CardAction.RESOLVE: Guided.RESOLUTION,
    CardAction.MEDIATE: Guided.PARTY, CardAction.AGREE: Guided.AGREEMENT,
    CardAction.INCIDENT: Guided.INCIDENT,
}


async def press(ctx: Context, staff: Staff | None) -> None:
    _ = ctx._
    callback = Callback.parse(ctx.event.callback_data)
    if callback is None or callback.prefix not in (Prefix.STAFF_CARD, Prefix.STAFF_DIALOG):
        ctx.answer(_("This button is no longer active."))
        return
    if staff is None or not staff.active:
        ctx.answer(_("Only office staff can do this. A manager can add you with "
                     "“residesk staff add”."), alert=True)
        ctx.out.result = "refused"
        return
    if callback.prefix == Prefix.STAFF_DIALOG:
        dialog = GuidedAction.from_json(staff.dialog)
        if dialog is None or callback.arg != dialog.tag:
            ctx.answer(_("This question is not yours, or no longer open."), alert=True)
            ctx.out.result = "refused"
            return
        await answer(ctx, staff, callback.action)
        return
    target = staff_target(callback)
    ticket = await ctx.tickets.tickets.get(target[0]) if target else None
    code = CardAction(callback.action) if callback.action in CARD_CODES else None
    if target is None or ticket is None or code is None:
        ctx.answer(_("This button is no longer active."))
        ctx.out.result = "refused"
        return
    _ticket_id, version, extra = target
    if version != ticket.version and code not in ANY_VERSION:
        ctx.tickets.posts.refresh_card(ticket)
        ctx.out.notify = True
        ctx.answer(_("This ticket has changed meanwhile (now: %(status)s). The card is being "
                     "updated; please look again.") % {
            "status": _(STAFF_STATUS_LABELS[Status(ticket.status)])}, alert=True)
        ctx.out.result = "stale"
        return
    action = CARD_CODES[code]
    if not allowed(action, ticket.status, Role(staff.role)) or (
            action in DISPUTE_ONLY and not is_dispute(ticket)):
        refuse(ctx, ticket, action, staff)
        return
    await act(ctx, staff, ticket, code, extra)


def refuse(ctx: Context, ticket: Ticket, action: Action, staff: Staff) -> None:
    _ = ctx._
    if allowed(action, ticket.status, Role.MANAGER) and not staff.is_manager:
        text = _("Only a manager can do this. You can escalate the ticket instead.")
    else:
        text = _("Not possible now: No. %(number)s is %(status)s.") % {
            "number": ticket.number, "status": _(STAFF_STATUS_LABELS[Status(ticket.status)])}
    ctx.answer(text, alert=True)
    ctx.out.result = "refused"


async def act(ctx: Context, staff: Staff, ticket: Ticket, code: CardAction, extra: str) -> None:
    """The button is allowed to this person in the ticket's status: do it."""
    _ = ctx._
    service = ctx.tickets
    ctx.out.notify = True
    if code == CardAction.ACKNOWLEDGE:
        await service.acknowledge(ticket, staff)
        ctx.answer(_("Acknowledged. The resident has been told."))
    elif code == CardAction.TAKE:
        await _assign(ctx, staff, ticket, staff)
    elif code == CardAction.ASSIGN:
        people = await service.staff.active()
        buttons = [staff_button(p.name, CardAction.ASSIGN_TO, ticket, p.id) for p in people]
        ctx.say(_("No. %(number)s — assign to:") % {"number": ticket.number}, grid(buttons, 3),
                reply_to=ticket.card_message_id)
        ctx.answer()
    elif code == CardAction.ASSIGN_TO:
        assignee = await service.staff.get(int(extra)) if extra.isdigit() else None
        if assignee is None or not assignee.active:
            ctx.answer(_("This person is no longer on the staff list."), alert=True)
            return
        await _assign(ctx, staff, ticket, assignee)
        ctx.say(_("No. %(number)s is assigned to %(name)s.") % {
            "number": ticket.number, "name": assignee.name}, edit=True)
    elif code == CardAction.ESCALATE:
        await service.escalate(ticket, Actor.of_staff(staff))
        ctx.answer(_("Escalated to managers"))
    elif code == CardAction.INVESTIGATE:
        await service.start_investigation(ticket, staff)
        ctx.answer(_("Under investigation. The resident has been told."))
        await begin(ctx, staff, Guided.FINDINGS, ticket)
    elif code == CardAction.UNLINK:
        try:
            await service.unlink_from_incident(ticket, staff)
        except TicketError:
            ctx.answer(_("No. %(number)s is not linked to an incident any more.") % {
                "number": ticket.number}, alert=True)
            return
        ctx.answer(_("No. %(number)s is a ticket of its own again; its card follows.") % {
            "number": ticket.number})
    elif code == CardAction.LINK:
        await _offer_incidents(ctx, ticket)
    elif code == CardAction.LINK_TO:
        await _link(ctx, staff, ticket, extra)
    elif code == CardAction.RESOLVE and ticket.status == Status.INVESTIGATING:
        await service.start_resolving(ticket, staff)
        await begin(ctx, staff, Guided.RESOLUTION, ticket)
    else:
        await begin(ctx, staff, GUIDED_BY_BUTTON[code], ticket)


async def _assign(ctx: Context, staff: Staff, ticket: Ticket, assignee: Staff) -> None:
    try:
        await ctx.tickets.assign(ticket, staff, assignee)
    except TicketError:
        ctx.answer(ctx._("This ticket is already assigned to %(name)s.") % {
            "name": assignee.name})
        return
    ctx.answer(ctx._("Assigned to %(name)s.") % {"name": assignee.name})


# what a refused link by hand says, by TicketError code
LINK_REFUSED = {
    "already_linked": N_("No. %(number)s is linked to an incident already."),
    "is_lead": N_("No. %(number)s leads an incident itself; it cannot be linked to one."),
    "incident_closed": N_("That incident has closed meanwhile. Nothing was changed."),
}


async def _offer_incidents(ctx: Context, ticket: Ticket) -> None:
    """The open incidents to link the report to (its category's first), one button each."""
    _ = ctx._
    found = await incidents.open_to_link(ctx.tickets, ticket)
    if not found:
        ctx.answer(_("No incident is open now. Mark the ticket that leads one with "
                     "“🚨 Incident” first."), alert=True)
        ctx.out.result = "refused"
        return
    buttons = [staff_button(
        " · ".join((_("No. %(number)s") % {"number": o.lead.number},
                   category_name(_, o.incident.category_code),
                   await incidents.scope_words(ctx.session, o.incident, _))),
        CardAction.LINK_TO, ticket, o.incident.id) for o in found[:LINK_CHOICES]]
    ctx.say(_("No. %(number)s — link it to which incident? Its resident will be told the "
              "office already knows, and what is done to the incident reaches them.") % {
        "number": ticket.number}, grid(buttons, 1), reply_to=ticket.card_message_id)
    ctx.answer()


LINK_CHOICES = 10  # incidents offered at once (the newest; rarely more than one or two)


async def _link(ctx: Context, staff: Staff, ticket: Ticket, extra: str) -> None:
    _ = ctx._
    try:
        if not extra.isdigit() or len(extra) > 12:
            raise TicketError("incident_closed")
        incident = await incidents.link_by_hand(ctx.tickets, ticket, int(extra), staff)
    except TicketError as error:
        refused = LINK_REFUSED.get(error.code)
        if refused is None:
            refuse(ctx, ticket, Action.LINK_INCIDENT, staff)
            return
        ctx.answer(_(refused) % {"number": ticket.number}, alert=True)
        ctx.out.result = "refused"
        return
    lead = (await ctx.tickets.tickets.get(incident.lead_ticket_id)
            if incident.lead_ticket_id is not None else None)
    text = _("No. %(number)s is linked to incident No. %(lead)s; its resident has been told."
             ) % {"number": ticket.number, "lead": lead.number if lead else "—"}
    ctx.answer(text)
    ctx.say(text, edit=True)
