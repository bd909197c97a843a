"""The office's side, in the staff group: card buttons, guided actions, relayed replies.

Diagram: staffdesk.md. Every action checks who pressed or typed it (the user, not the chat):
only active staff act, and the lifecycle decides what each role may do in each status.
A guided action (investigation, resolution, reason, message, intake) is kept on the staff
member's row, one at a time, so it survives restarts and two staff never share one.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from conversations.context import Context
from conversations.events import EventKind
from conversations.keyboards import (
    Callback,
    Prefix,
    button,
    grid,
    staff_button,
    staff_target,
)
from conversations.notices import CARD_ACTION_CODES, RELAYED_FROM, category_name
from locales import N_
from storage.models import Staff, Ticket, utcnow
from storage.repositories import Outbox
from tickets.lifecycle import STAFF_STATUS_LABELS, Action, Role, Status, allowed
from tickets.notices import StatisticsReport
from tickets.periods import period
from tickets.policy import (
    CAUSE_LABELS,
    CAUSES,
    DESCRIPTION_MAX,
    DESCRIPTION_MIN,
    NAME_MAX,
    RESOLUTION_LABELS,
    RESOLUTIONS,
    SEVERITIES,
    SEVERITY_LABELS,
    STAFF_TEXT_MAX,
    UNIT_TEXT_MAX,
    normalize_phone,
)
from tickets.service import Actor, Intake, Investigation, Resolution, TicketError

FLOW = Prefix.STAFF_CARD
STEPS = ("asking",)  # a guided action in progress (kept on the staff row)


@dataclass(frozen=True)
class Ask:
    """One question of a guided action."""

    key: str
    prompt: str
    kind: str = "text"  # text | media (text or a file) | choice | date | phone
    choices: tuple[tuple[str, str], ...] = ()  # (value, label) buttons; for dates: quick picks
    optional: bool = False
    min_len: int = 1
    max_len: int = STAFF_TEXT_MAX
    only_if: Callable[[dict[str, Any]], bool] | None = None


def _labels(values: tuple[str, ...], labels: dict[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple((v, labels[v]) for v in values)


DIALOGS: dict[str, tuple[Ask, ...]] = {
    "msg": (Ask("text", N_("Write the message for the resident (text, photo or voice note):"),
                kind="media"),),
    "req": (Ask("text", N_("What information or evidence do you need from the resident?")),),
    "rej": (Ask("text", N_("Why is the complaint rejected? The resident will see this "
                           "reason.")),),
    "note": (Ask("text", N_("Write the internal note (residents never see it):")),),
    "fnd": (
        Ask("visit_at", N_("Site visit: when was it? Type a date (2026-11-28 or 2026-11-28 "
                           "15:30) or press a button."), kind="date",
            choices=(("today", N_("Today")), ("yesterday", N_("Yesterday")),
                     ("none", N_("No site visit")))),
        Ask("visit_by", N_("Who went on site? Type the names, or press “Me”."),
            choices=(("me", N_("Me")),), only_if=lambda a: a.get("visit_at") is not None),
        Ask("findings", N_("What was found?")),
        Ask("interviewed", N_("Who was interviewed (staff, neighbours, contractors)?"),
            optional=True),
        Ask("severity", N_("How serious is it?"), kind="choice",
            choices=_labels(SEVERITIES, SEVERITY_LABELS)),
        Ask("cause_category", N_("What caused it?"), kind="choice",
            choices=_labels(CAUSES, CAUSE_LABELS)),
        Ask("cause", N_("Describe the cause in a few words.")),
    ),
    "res": (
        Ask("type", N_("How was it resolved?"), kind="choice",
            choices=_labels(RESOLUTIONS, RESOLUTION_LABELS)),
        Ask("text", N_("What was done? The resident will read this.")),
        Ask("measures", N_("What will be done so that it does not happen again "
                           "(improvement measures)?"),
            optional=True),
        Ask("follow_up", N_("When should we check that the measures hold? Type a date "
                            "(2026-12-31) or press a button."), kind="date",
            choices=(("7d", N_("In a week")), ("30d", N_("In a month"))), optional=True,
            only_if=lambda a: bool(a.get("measures"))),
    ),
    "intake": (
        Ask("name", N_("New complaint taken by phone, e-mail or at the desk. The "
                       "complainant's name?"), max_len=NAME_MAX),
        Ask("phone", N_("Their phone number?"), kind="phone"),
        Ask("unit", N_("Building and flat (e.g. 3-1202)?"), max_len=UNIT_TEXT_MAX),
        Ask("category", N_("Category?"), kind="choice"),  # choices: the office's categories
        Ask("description", N_("What is the complaint? (at least %(min)d characters)"),
            min_len=DESCRIPTION_MIN, max_len=DESCRIPTION_MAX),
        Ask("channel", N_("How did it come in?"), kind="choice",
            choices=(("hotline", N_("Hotline")), ("email", N_("E-mail")),
                     ("walk_in", N_("Walk-in")))),
    ),
}
DIALOG_ACTIONS = {"msg": Action.MESSAGE, "req": Action.REQUEST_INFO, "rej": Action.REJECT,
                  "note": Action.NOTE, "fnd": Action.RECORD_FINDINGS, "res": Action.RESOLVE}
# the card's button codes (see notices.CARD_ACTION_CODES); "to" picks the assignee
CARD_CODES = {code: action for action, code in CARD_ACTION_CODES.items()} | {"to": Action.ASSIGN}


# --- entry -----------------------------------------------------------------------------------


async def handle(ctx: Context, staff: Staff | None) -> None:
    """An update from the staff group."""
    event = ctx.event
    if event.kind == EventKind.BUTTON:
        await press(ctx, staff)
    elif staff is None or not staff.active:
        if event.kind == EventKind.COMMAND and event.command in ("intake", "cancel", "stats"):
            ctx.say(ctx._("Only office staff can do this. A manager can add you with "
                          "“residesk staff add”."), reply_to=event.message_id)
        else:
            ctx.out.result = "ignored"  # people talk in the group; not everything is for us
    elif event.kind == EventKind.COMMAND:
        await command(ctx, staff)
    elif staff.dialog and await replies_to_another_ticket(ctx, staff.dialog):
        # never let an answer meant for one ticket's thread go to another ticket's resident
        ctx.say(_busy(ctx), reply_to=event.message_id)
        ctx.out.result = "refused"
    elif staff.dialog:
        await answer(ctx, staff)
    elif event.reply_to_message_id is not None:
        await relay(ctx, staff)
    else:
        ctx.out.result = "ignored"


async def replies_to_another_ticket(ctx: Context, dialog: dict[str, Any]) -> bool:
    replied = ctx.event.reply_to_message_id
    if replied is None:
        return False
    link = await ctx.links.ticket_of(ctx.event.sender.chat_id, replied)
    return link is not None and link.ticket_id != dialog.get("ticket")


def _busy(ctx: Context) -> str:
    return ctx._("You are still answering questions for another ticket; nothing was sent. "
                 "Finish them, or send /cancel, then reply again.")


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
        await begin(ctx, staff, "intake", None)
    elif name == "stats":
        await statistics(ctx, staff)
    elif name in ("help", "start"):
        ctx.say(_("Staff desk. Each new ticket appears here as a card; use its buttons. "
                  "Reply to a card (or any message in its thread) to write to the resident. "
                  "/intake logs a complaint taken by phone, e-mail or at the desk; /cancel stops "
                  "what you are entering. Managers: /stats week|month|quarter, or /stats "
                  "2026-11-01 2026-11-30, for the figures and charts."),
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


# --- card buttons ----------------------------------------------------------------------------


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
        if not staff.dialog or callback.arg != question_tag(staff.dialog):
            ctx.answer(_("This question is not yours, or no longer open."), alert=True)
            ctx.out.result = "refused"
            return
        await answer(ctx, staff, callback.action)
        return
    target = staff_target(callback)
    ticket = await ctx.tickets.tickets.get(target[0]) if target else None
    if target is None or ticket is None or callback.action not in CARD_CODES:
        ctx.answer(_("This button is no longer active."))
        ctx.out.result = "refused"
        return
    _ticket_id, version, extra = target
    if version != ticket.version:
        ctx.tickets.refresh_card(ticket)
        ctx.out.notify = True
        ctx.answer(_("This ticket has changed meanwhile (now: %(status)s). The card is being "
                     "updated; please look again.") % {
            "status": _(STAFF_STATUS_LABELS[Status(ticket.status)])}, alert=True)
        ctx.out.result = "stale"
        return
    action = CARD_CODES[callback.action]
    if not allowed(action, ticket.status, Role(staff.role)):
        refuse(ctx, ticket, action, staff)
        return
    await act(ctx, staff, ticket, callback.action, extra)


def refuse(ctx: Context, ticket: Ticket, action: Action, staff: Staff) -> None:
    _ = ctx._
    if allowed(action, ticket.status, Role.MANAGER) and not staff.is_manager:
        text = _("Only a manager can do this. You can escalate the ticket instead.")
    else:
        text = _("Not possible now: No. %(number)s is %(status)s.") % {
            "number": ticket.number, "status": _(STAFF_STATUS_LABELS[Status(ticket.status)])}
    ctx.answer(text, alert=True)
    ctx.out.result = "refused"


async def act(ctx: Context, staff: Staff, ticket: Ticket, code: str, extra: str) -> None:
    _ = ctx._
    service = ctx.tickets
    ctx.out.notify = True
    if code == "ack":
        await service.acknowledge(ticket, staff)
        ctx.answer(_("Acknowledged. The resident has been told."))
    elif code == "take":
        await _assign(ctx, staff, ticket, staff)
    elif code == "asg":
        people = await service.staff.active()
        buttons = [staff_button(p.name, "to", ticket, p.id) for p in people]
        ctx.say(_("No. %(number)s — assign to:") % {"number": ticket.number}, grid(buttons, 3),
                reply_to=ticket.card_message_id)
        ctx.answer()
    elif code == "to":
        assignee = await service.staff.get(int(extra)) if extra.isdigit() else None
        if assignee is None or not assignee.active:
            ctx.answer(_("This person is no longer on the staff list."), alert=True)
            return
        await _assign(ctx, staff, ticket, assignee)
        ctx.say(_("No. %(number)s is assigned to %(name)s.") % {
            "number": ticket.number, "name": assignee.name}, edit=True)
    elif code == "esc":
        await service.escalate(ticket, Actor.of_staff(staff))
        ctx.answer(_("Escalated to managers"))
    elif code == "inv":
        await service.start_investigation(ticket, staff)
        ctx.answer(_("Under investigation. The resident has been told."))
        await begin(ctx, staff, "fnd", ticket)
    elif code == "res" and ticket.status == Status.INVESTIGATING:
        await service.start_resolving(ticket, staff)
        await begin(ctx, staff, "res", ticket)
    else:
        await begin(ctx, staff, code, ticket)


async def _assign(ctx: Context, staff: Staff, ticket: Ticket, assignee: Staff) -> None:
    try:
        await ctx.tickets.assign(ticket, staff, assignee)
    except TicketError:
        ctx.answer(ctx._("This ticket is already assigned to %(name)s.") % {
            "name": assignee.name})
        return
    ctx.answer(ctx._("Assigned to %(name)s.") % {"name": assignee.name})


# --- guided actions --------------------------------------------------------------------------


async def begin(ctx: Context, staff: Staff, kind: str, ticket: Ticket | None) -> None:
    if ctx.event.callback_id is not None and ctx.out.callback_answer is None:
        ctx.answer()
    staff.dialog = {
        "kind": kind, "ticket": ticket.id if ticket else None,
        "step": -1, "answers": {},
        "anchor": (ticket.card_message_id if ticket else ctx.event.message_id),
        "key": uuid.uuid4().hex,
    }
    await _next(ctx, staff, ticket)


async def _next(ctx: Context, staff: Staff, ticket: Ticket | None) -> None:
    """Ask the next question, or finish when none is left."""
    dialog = dict(staff.dialog or {})
    asks = DIALOGS[dialog["kind"]]
    step = int(dialog["step"]) + 1
    while step < len(asks) and not _applies(asks[step], dialog["answers"]):
        step += 1
    dialog["step"] = step
    staff.dialog = dialog
    if step >= len(asks):
        await finish(ctx, staff, ticket)
        return
    await _ask(ctx, staff, asks[step], ticket)


def question_tag(dialog: dict[str, Any]) -> str:
    return f"{str(dialog.get('key', ''))[:8]}.{dialog.get('step')}"


def _applies(ask: Ask, answers: dict[str, Any]) -> bool:
    return ask.only_if is None or ask.only_if(answers)


async def _ask(ctx: Context, staff: Staff, ask: Ask, ticket: Ticket | None,
               problem: str | None = None) -> None:
    _ = ctx._
    head = (_("No. %(number)s") % {"number": ticket.number} + " · ") if ticket else ""
    text = f"{staff.name}, {head}{_(ask.prompt)}"
    if "%(min)d" in ask.prompt:
        text = text % {"min": ask.min_len}
    if problem:
        text = f"{problem}\n\n{text}"
    choices = ask.choices
    if ask.key == "category":
        choices = tuple((c.code, category_name(_, c.code))
                        for c in await ctx.categories.active())
    # bound to this person's question: a button of another one's (or an older) question
    # is refused instead of answering the wrong thing
    tag = question_tag(staff.dialog or {})
    buttons = [button(_(label) if ask.key != "category" else label, Prefix.STAFF_DIALOG, value, tag)
               for value, label in choices]
    if ask.optional:
        buttons.append(button(_("Skip"), Prefix.STAFF_DIALOG, "-skip", tag))
    buttons.append(button(_("Cancel"), Prefix.STAFF_DIALOG, "-cancel", tag))
    ctx.say(text, grid(buttons, 3), reply_to=(staff.dialog or {}).get("anchor"))


async def answer(ctx: Context, staff: Staff, pressed: str | None = None) -> None:
    """The staff member answered the current question (typed, sent a file, or pressed)."""
    _ = ctx._
    dialog = dict(staff.dialog or {})
    if not dialog:
        ctx.answer(_("This question is no longer open."))
        return
    ticket = await ctx.tickets.tickets.get(dialog["ticket"]) if dialog.get("ticket") else None
    if dialog.get("ticket") and ticket is None:
        staff.dialog = None
        return
    ask = DIALOGS[dialog["kind"]][int(dialog["step"])]
    if pressed is not None:
        ctx.answer()
    if pressed == "-cancel":
        staff.dialog = None
        ctx.say(_("Cancelled. Nothing was saved."), edit=True)
        return
    value, problem = _value(ctx, staff, ask, pressed)
    if problem is not None:
        await _ask(ctx, staff, ask, ticket, problem)
        return
    dialog["answers"] = {**dialog["answers"], ask.key: value}
    staff.dialog = dialog
    await _next(ctx, staff, ticket)


def _value(ctx: Context, staff: Staff, ask: Ask, pressed: str | None) -> tuple[Any, str | None]:
    """The answer's value, or a polite problem to show before asking again."""
    _ = ctx._
    event = ctx.event
    if pressed == "-skip" and ask.optional:
        return None, None
    if pressed is not None:
        valid = {value for value, _label in ask.choices}
        if ask.key == "category":
            return pressed, None  # checked against the categories when saved
        if pressed not in valid:
            return None, _("Please use the buttons of the latest question.")
        if ask.kind == "date":
            return _quick_date(pressed, ctx), None
        if ask.key == "visit_by" and pressed == "me":
            return staff.name, None
        return pressed, None
    if ask.kind == "media" and event.media is not None:
        media = event.media
        return {"text": event.text or "", "file": {"kind": media.kind,
                                                   "file_id": media.file_id}}, None
    text = (event.text or "").strip()
    if event.kind not in (EventKind.TEXT, EventKind.COMMAND) or not text:
        return None, _("Please answer with text.")
    if ask.kind == "choice":
        return None, _("Please choose one of the buttons.")
    if len(text) < ask.min_len:
        return None, _("That is too short (at least %(count)d characters).") % {
            "count": ask.min_len}
    if len(text) > ask.max_len:
        return None, _("That is too long: %(length)d characters, at most %(limit)d.") % {
            "length": len(text), "limit": ask.max_len}
    if ask.kind == "phone":
        phone = normalize_phone(text)
        if phone is None:
            return None, _("That does not look like a phone number.")
        return phone, None
    if ask.kind == "date":
        moment = _typed_date(text, ctx)
        if moment is None:
            return None, _("Please type the date as 2026-11-28 (or 2026-11-28 15:30).")
        # a site visit has happened; a follow-up is still to come
        past = datetime.fromisoformat(moment) <= utcnow()
        if ask.key == "visit_at" and not past:
            return None, _("The site visit should be a date that has passed.")
        if ask.key == "follow_up" and past:
            return None, _("The follow-up should be a date to come.")
        return moment, None
    if ask.kind == "media":
        return {"text": text, "file": None}, None
    return text, None


def _quick_date(value: str, ctx: Context) -> str | None:
    today = utcnow().astimezone(ctx.office.timezone).date()
    days = {"today": 0, "yesterday": -1, "7d": 7, "30d": 30}
    if value not in days:
        return None
    return _iso(today + timedelta(days=days[value]), None, ctx)


def _typed_date(text: str, ctx: Context) -> str | None:
    day_text, _sep, time_text = text.strip().partition(" ")
    try:
        day = date.fromisoformat(day_text)
        at = time.fromisoformat(time_text.strip()) if time_text.strip() else None
    except ValueError:
        return None
    return _iso(day, at, ctx)


def _iso(day: date, at: time | None, ctx: Context) -> str:
    moment = datetime.combine(day, at or time(ctx.office.timing.follow_up_hour),
                              tzinfo=ctx.office.timezone)
    return moment.isoformat()


async def finish(ctx: Context, staff: Staff, ticket: Ticket | None) -> None:
    """All questions answered: make the change (or say why it cannot be made now)."""
    _ = ctx._
    dialog = dict(staff.dialog or {})
    staff.dialog = None
    answers: dict[str, Any] = dialog["answers"]
    kind = dialog["kind"]
    service = ctx.tickets
    ctx.out.notify = True
    anchor = dialog.get("anchor")
    try:
        if kind == "intake":
            created, _new = await service.take_intake(staff, Intake(
                key=dialog["key"], name=answers["name"], phone=answers["phone"],
                unit=answers["unit"], category=answers["category"],
                description=answers["description"], channel=answers["channel"]))
            ctx.say(_("Logged as No. %(number)s. Its card follows.") % {
                "number": created.number}, reply_to=anchor)
            return
        assert ticket is not None
        if not allowed(DIALOG_ACTIONS[kind], ticket.status, Role(staff.role)):
            raise TicketError("changed")  # someone else moved the ticket on meanwhile
        if kind == "msg":
            message = answers["text"]
            await service.message_resident(ticket, staff, message["text"] or None,
                                           message["file"])
            done = _("Sent to the resident.")
        elif kind == "req":
            await service.request_information(ticket, staff, answers["text"])
            done = _("Sent to the resident; the ticket waits for their answer.")
        elif kind == "rej":
            await service.reject(ticket, staff, answers["text"])
            done = _("Rejected. The resident has been told the reason.")
        elif kind == "note":
            await service.add_note(ticket, staff, answers["text"])
            done = _("Note saved (internal).")
        elif kind == "fnd":
            visit = answers.get("visit_at")
            await service.record_investigation(ticket, staff, Investigation(
                site_visit_at=datetime.fromisoformat(visit) if visit else None,
                site_visit_by=answers.get("visit_by"), findings=answers["findings"],
                interviewed=answers.get("interviewed"), severity=answers["severity"],
                cause_category=answers["cause_category"], cause=answers["cause"]))
            done = _("Investigation recorded.")
        else:
            follow_up = answers.get("follow_up")
            await service.resolve(ticket, staff, Resolution(
                type=answers["type"], text=answers["text"], measures=answers.get("measures"),
                follow_up_at=datetime.fromisoformat(follow_up) if follow_up else None))
            done = _("Resolved. The resident has been sent the outcome and the survey.")
    except TicketError as error:
        if ticket is not None and error.code in ("changed", "not_now"):
            status = _(STAFF_STATUS_LABELS[Status(ticket.status)])
            done = _("No. %(number)s changed while you were entering this (now: %(status)s). "
                     "Nothing was saved.") % {"number": ticket.number, "status": status}
            ctx.out.result = "stale"
        elif error.code == "unknown_category":
            done = _("That category is no longer offered. Nothing was saved.")
        else:
            done = _("This could not be saved. Please check the ticket and try again.")
            ctx.out.result = "refused"
    head = _("No. %(number)s") % {"number": ticket.number} if ticket else ""
    ctx.say(f"{head} · {done}" if head else done, reply_to=anchor)


# --- replies in a card's thread ----------------------------------------------------------


async def relay(ctx: Context, staff: Staff) -> None:
    """A staff member's reply in a card's thread goes to the resident, marked with the number."""
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
