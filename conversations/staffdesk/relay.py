"""A staff member's reply in a card's thread goes to the resident, marked with the number."""

from __future__ import annotations

from conversations.context import Context
from conversations.notices import RELAYED_FROM
from storage.models import Staff
from tickets.inputs import TicketError
from tickets.lifecycle import STAFF_STATUS_LABELS, Status
from tickets.policy import STAFF_TEXT_MAX


async def relay(ctx: Context, staff: Staff) -> None:
    """Replies to the card or to the resident's posts go out; replies to the staff's own posts
    (assignments, escalations, alerts) stay among the staff."""
    _ = ctx._
    event = ctx.event
    assert event.reply_to_message_id is not None
    link = await ctx.links.ticket_of(event.sender.chat_id, event.reply_to_message_id)
    if link is None or link.kind not in RELAYED_FROM:
        ctx.out.result = "ignored"  # staff talking among themselves
        return
    ticket = await ctx.tickets.tickets.get(link.ticket_id)
    if ticket is None:
        return
    text = (event.text or "").strip() or None
    file = ({"kind": event.media.kind, "file_id": event.media.file_id}
            if event.media is not None else None)
    if text is None and file is None:
        ctx.say(_("Only text, photos, videos, voice notes and files can be sent to the "
                  "resident."), reply_to=event.message_id)
        return
    if text is not None and len(text) > STAFF_TEXT_MAX:
        ctx.say(_("That is too long: %(length)d characters, at most %(limit)d.") % {
            "length": len(text), "limit": STAFF_TEXT_MAX}, reply_to=event.message_id)
        return
    if ticket.resident_id is None:
        ctx.say(_("No. %(number)s was logged by the office and the resident is not in the "
                  "bot: please phone them.") % {"number": ticket.number},
                reply_to=event.message_id)
        return
    try:
        await ctx.tickets.message_resident(ticket, staff, text, file)
    except TicketError:
        ctx.say(_("No. %(number)s is %(status)s; the resident is no longer messaged about "
                  "it.") % {"number": ticket.number,
                            "status": _(STAFF_STATUS_LABELS[Status(ticket.status)])},
                reply_to=event.message_id)
        return
    ctx.out.notify = True
    ctx.say("✉️ " + _("Sent to the resident of No. %(number)s.") % {"number": ticket.number},
            reply_to=event.message_id)
