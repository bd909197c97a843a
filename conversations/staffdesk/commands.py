"""The staff group's commands: /intake, /cancel, /help (or /start), /stats, /console,
/announce and /announcements (conversations/announcements.py)."""

from __future__ import annotations

from conversations import announcements, console
from conversations.context import Context
from conversations.staffdesk.dialog import Guided
from conversations.staffdesk.guided import begin
from storage.models import Staff, utcnow
from storage.repositories import Outbox
from tickets.notices import StatisticsReport
from tickets.periods import period

# the others are told these are for staff
STAFF_ONLY = ("intake", "cancel", "stats", "console", "announce", "announcements")


async def command(ctx: Context, staff: Staff) -> None:
    _ = ctx._
    name = ctx.event.command
    if name == "cancel":
        if staff.dialog:
            staff.dialog = None
            ctx.say(_("Cancelled. Nothing was saved."), reply_to=ctx.event.message_id)
        else:
            ctx.say(_("There is nothing to cancel."), reply_to=ctx.event.message_id)
    elif name == "intake":
        await begin(ctx, staff, Guided.INTAKE, None)
    elif name == "stats":
        await statistics(ctx, staff)
    elif name == "console":
        await console.in_group(ctx)
    elif name == "announce":
        await announcements.announce(ctx, staff)
    elif name == "announcements":
        await announcements.listing(ctx, staff)
    elif name in ("help", "start"):
        ctx.say(_("Staff desk. Each new ticket appears here as a card; use its buttons. "
                  "Reply to a card (or any message in its thread) to write to the resident. "
                  "/intake logs a complaint taken by phone, e-mail or at the desk; /cancel stops "
                  "what you are entering. Managers: /stats week|month|quarter, or /stats "
                  "2026-11-01 2026-11-30, for the figures and charts; /announce to write to the "
                  "residents of the property, a building, floors or units; /announcements "
                  "for how they were delivered."),
                reply_to=ctx.event.message_id)
    else:
        ctx.out.result = "ignored"


async def statistics(ctx: Context, staff: Staff) -> None:
    """Managers ask for the figures; they are drawn and posted by the notifier (outbox)."""
    _ = ctx._
    if not staff.is_manager:
        ctx.say(_("Only managers can see the statistics."), reply_to=ctx.event.message_id)
        ctx.out.result = "refused"
        return
    today = utcnow().astimezone(ctx.office.timezone).date()
    found = period(ctx.event.command_args.split(), today)
    if found is None:
        ctx.say(_("Please name a period: /stats week, /stats month, /stats quarter, or two "
                  "dates such as /stats 2026-11-01 2026-11-30."), reply_to=ctx.event.message_id)
        ctx.out.result = "refused"
        return
    first, last = found
    assert ctx.office.staff_chat_id is not None  # this is the staff group
    Outbox(ctx.session).enqueue(ctx.office.staff_chat_id, StatisticsReport(first, last))
    ctx.out.notify = True
    ctx.say(_("Preparing the figures for %(first)s – %(last)s…") % {
        "first": first.isoformat(), "last": last.isoformat()}, reply_to=ctx.event.message_id)
