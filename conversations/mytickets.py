"""A resident's tickets: list, detail with timeline, add information, withdraw.

Diagram: mytickets.md. List and detail buttons carry the ticket id and work from any message;
only "add information" holds a step, because the resident's next messages belong to it.
"""

from __future__ import annotations

from collections.abc import Callable

from conversations.context import Context
from conversations.events import MEDIA_KINDS, Button, EventKind, inline
from conversations.flow import EXIT, Flow, Input, Press, Transition
from conversations.keyboards import Prefix, TicketButton, main_menu
from conversations.report import category_title, media_record
from locales.dates import format_when
from storage.models import Ticket, TicketEvent
from tickets.inputs import TicketError
from tickets.lifecycle import STATUS_LABELS, Status, accepts_information, can_withdraw
from tickets.policy import INFO_MAX, PRIORITY_LABELS
from tickets.questions import answers_of

FLOW = Prefix.MY_TICKETS
ADD_INFO = "add_info"
STEPS = (ADD_INFO,)
PER_PAGE = 5
TIMELINE_MAX = 15
# The resident's timeline: never internal notes, assignments, escalations or findings.
RESIDENT_VISIBLE = frozenset({"status", "message", "evidence", "staff_message"})
NOTES_SHOWN = frozenset({"waiting_for_resident", "resolved", "rejected"})  # meant for them


async def category_titles(ctx: Context) -> Callable[[str], str]:
    """Category names as the resident sees them (the office may have renamed some)."""
    stored = {c.code: c.titles for c in await ctx.categories.all()}
    return lambda code: category_title(ctx, code, stored.get(code))


def status_label(ctx: Context, status: str) -> str:
    return ctx._(STATUS_LABELS[Status(status)])


async def show_list(ctx: Context, page: int = 0, *, edit: bool = False) -> None:
    _ = ctx._
    if ctx.resident is None:
        return
    tickets, total = await ctx.tickets.page(ctx.resident, page, PER_PAGE)
    if total == 0:
        ctx.say(_("You have not reported anything yet. Press “Report a problem” to start."),
                edit=edit)
        return
    pages = (total + PER_PAGE - 1) // PER_PAGE
    if page >= pages:
        page = pages - 1
        tickets, total = await ctx.tickets.page(ctx.resident, page, PER_PAGE)
    titles = await category_titles(ctx)
    rows = [
        [TicketButton("show", t.id).labelled(
            _("No. %(number)s") % {"number": t.number} + " · "
            + f"{titles(t.category_code)} · {status_label(ctx, t.status)}")]
        for t in tickets
    ]
    nav = []
    if page > 0:
        nav.append(TicketButton("page", page - 1).labelled(_("« Newer")))
    if page + 1 < pages:
        nav.append(TicketButton("page", page + 1).labelled(_("Older »")))
    ctx.say(_("Your tickets (page %(page)d of %(pages)d). Choose one to see its details:")
            % {"page": page + 1, "pages": pages}, inline(*rows, nav), edit=edit)


def _event_line(ctx: Context, event: TicketEvent) -> str:
    _ = ctx._
    when = format_when(event.created_at, ctx.lang, ctx.office.timezone, "MM-dd HH:mm")
    if event.kind == "status" and event.to_status:
        text = _("Status: %(status)s") % {"status": status_label(ctx, event.to_status)}
        if event.note and event.to_status in NOTES_SHOWN:
            text += f" — {event.note}"
    elif event.kind == "evidence":
        text = _("You added a file")
    elif event.kind == "staff_message":
        note = event.note or ""
        text = f"{_('Office')}: {note[:200]}{'…' if len(note) > 200 else ''}"
    else:
        who = _("You") if event.actor_type == "resident" else _("Office")
        note = event.note or ""
        text = f"{who}: {note[:200]}{'…' if len(note) > 200 else ''}"
    return f"{when}  {text}"


async def show_detail(ctx: Context, ticket: Ticket, *, edit: bool = True) -> None:
    _ = ctx._
    created = format_when(ticket.created_at, ctx.lang, ctx.office.timezone)
    description = ticket.description
    if len(description) > 600:
        description = description[:600] + "…"
    lines = [
        _("Ticket No. %(number)s") % {"number": ticket.number},
        _("Status: %(status)s") % {"status": status_label(ctx, ticket.status)},
        _("Category: %(category)s") % {"category": (await category_titles(ctx))(
            ticket.category_code)},
        *("  " + line for line in ctx.office.questions.lines(
            ticket.category_code, answers_of(ticket), ctx.lang, _)),
        _("Unit: %(unit)s") % {"unit": ticket.unit_text},
        _("Urgency: %(urgency)s") % {"urgency": _(PRIORITY_LABELS.get(ticket.priority,
                                                                      ticket.priority))},
        _("Reported: %(when)s") % {"when": created},
        _("Files attached: %(count)d") % {"count": len(ticket.attachments)},
        "",
        description,
        "",
        _("Timeline:"),
    ]
    events = [e for e in ticket.events if e.kind in RESIDENT_VISIBLE]
    if len(events) > TIMELINE_MAX:
        lines.append("…")
    lines += [_event_line(ctx, e) for e in events[-TIMELINE_MAX:]]
    actions = []
    if accepts_information(ticket.status):
        actions.append(TicketButton("add", ticket.id).labelled(_("➕ Add information")))
    if can_withdraw(ticket.status):
        actions.append(TicketButton("wd", ticket.id).labelled(_("↩ Withdraw")))
    ctx.say("\n".join(lines),
            inline(actions, [TicketButton("page", 0).labelled(_("« All my tickets"))]),
            edit=edit)


async def press(ctx: Context) -> None:
    """Buttons of the list and the detail views."""
    _ = ctx._
    callback = ctx.callback
    assert callback is not None
    if ctx.resident is None:
        ctx.answer(_("This button is no longer active."))
        return
    pressed = TicketButton.unpack(callback)
    number = pressed.id if pressed is not None else None
    if callback.action == "page" and number is not None:
        ctx.answer()
        await show_list(ctx, number, edit=True)
        return
    if callback.action == "done" and ctx.flow == FLOW:
        ctx.answer()
        ctx.reset()
    ticket = await ctx.tickets.of_resident(ctx.resident, number) if number is not None else None
    if ticket is None or callback.action not in ("show", "add", "wd", "wdyes", "done"):
        # a forged id, someone else's ticket and a stale button all look the same from here
        ctx.answer(_("Ticket not found."), alert=True)
        return
    if callback.action in ("show", "done"):
        ctx.answer()
        await show_detail(ctx, ticket)
    elif callback.action == "add":
        if not accepts_information(ticket.status):
            ctx.answer(_("This ticket is closed; please report a new problem instead."),
                       alert=True)
            return
        ctx.answer()
        ctx.reset()
        ctx.data["ticket_id"] = ticket.id
        ctx.goto(FLOW, ADD_INFO)
        ctx.say(_("Send your message, photos, videos, voice notes or documents for ticket No. "
                  "%(number)s. "
                  "Each one is added as it arrives. Press Done when you have finished.")
                % {"number": ticket.number},
                inline([TicketButton("done", ticket.id).labelled(_("✅ Done"))]), edit=True)
    elif callback.action == "wd":
        if not can_withdraw(ticket.status):
            ctx.answer(_("This ticket can no longer be withdrawn."), alert=True)
            return
        ctx.answer()
        ctx.say(_("Withdraw ticket No. %(number)s? The office will stop working on it. "
                  "This cannot be undone.") % {"number": ticket.number},
                inline([TicketButton("wdyes", ticket.id).labelled(_("Yes, withdraw it")),
                        TicketButton("show", ticket.id).labelled(_("No, keep it"))]), edit=True)
    else:  # wdyes
        try:
            await ctx.tickets.withdraw(ctx.resident, ticket)
        except TicketError:
            ctx.answer(_("This ticket can no longer be withdrawn."), alert=True)
            return
        ctx.answer(_("Ticket withdrawn"))
        await show_detail(ctx, ticket)


async def _information(ctx: Context) -> None:
    """Messages while adding information to a ticket."""
    _ = ctx._
    if ctx.resident is None:
        ctx.reset()
        return
    ticket = await ctx.tickets.of_resident(ctx.resident, int(ctx.data.get("ticket_id", 0)))
    if ticket is None or not accepts_information(ticket.status):
        ctx.reset()
        ctx.say(_("This ticket is closed; please report a new problem instead."),
                keyboard=main_menu(_))
        return
    done = inline([TicketButton("done", ticket.id).labelled(_("✅ Done"))])
    if await add_to(ctx, ticket, done) == "added":
        ctx.say(_("Added to ticket No. %(number)s. Send more, or press Done.")
                % {"number": ticket.number}, done)


async def add_to(ctx: Context, ticket: Ticket,
                 buttons: tuple[tuple[Button, ...], ...] = ()) -> str:
    """Add the event's text or file to the ticket: "added", "quiet" (more of an album
    already acknowledged) or "refused" (after telling the resident why)."""
    _ = ctx._
    event = ctx.event
    assert ctx.resident is not None
    if not accepts_information(ticket.status):
        ctx.say(_("This ticket is closed; please report a new problem instead."), buttons)
        return "refused"
    text = (event.text or "").strip()
    if event.kind == EventKind.TEXT and text:
        if len(text) > INFO_MAX:
            ctx.say(_("That message is %(length)d characters long; the limit is %(max)d. "
                      "Please split it into shorter messages.")
                    % {"length": len(text), "max": INFO_MAX}, buttons)
            return "refused"
        await ctx.tickets.add_information(ctx.resident, ticket, text=text)
    elif event.kind in MEDIA_KINDS:
        record = media_record(ctx)
        if record is None:
            return "refused"
        record.pop("album_id", None)
        try:
            await ctx.tickets.add_information(ctx.resident, ticket, media=record,
                                              text=text[:INFO_MAX] or None)
        except TicketError:
            ctx.say(_("This ticket already holds as many files as it can."), buttons)
            return "refused"
        if event.album_id and ctx.data.get("album_id") == event.album_id:
            return "quiet"  # one acknowledgement per album
        ctx.data["album_id"] = event.album_id
    else:
        ctx.say(_("Please send text, a photo, a video, a voice note or a document — or press "
                  "Done."),
                buttons)
        return "refused"
    return "added"


_added = Transition(_information, {ADD_INFO: "text, photo, video or voice note (each added "
                                             "at once)"})

TABLE = Flow(
    name=FLOW,
    steps=STEPS,
    starts={ADD_INFO: "➕ Add information (ticket still open)"},
    transitions={
        **{(ADD_INFO, kind): _added for kind in Input},
        (ADD_INFO, Press("done")): Transition(press, {EXIT: "Done (shows the ticket again)"}),
        # the list's and other tickets' buttons work here too ("add" moves to that ticket)
        **{(ADD_INFO, Press(action)): Transition(press)
           for action in ("page", "show", "add", "wd", "wdyes")},
    },
    otherwise=_information,  # every input has its transition above
)
