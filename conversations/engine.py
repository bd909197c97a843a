"""The conversation engine: one event in, one `Outcome` out, all within the caller's transaction.

Routing order: redelivered updates, commands, language and ticket buttons, the menu, then the
step of the flow the chat is in. Flows live in their own modules, each with a Mermaid diagram.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from conversations import (
    alerts,
    call_back,
    console,
    forget,
    mytickets,
    privacy,
    profile,
    registration,
    report,
    settings,
    staffdesk,
    survey,
)
from conversations.context import Context, Office
from conversations.events import MEDIA_KINDS, Answer, Event, EventKind, Outcome
from conversations.flow import Flow, Handler
from conversations.keyboards import Prefix, languages, main_menu, menu_action
from locales import LANGUAGE_NAMES, N_, SUPPORTED, negotiate
from storage.models import ConversationState
from storage.repositories import Conversations, Outbox, StaffMembers
from tickets.inputs import TicketError
from tickets.notices import PartyMessage
from tickets.policy import INFO_MAX
from tickets.service import TicketService

# The bot's command menu, set per language at start-up.
COMMANDS = (
    ("report", N_("Report a problem")),
    ("mytickets", N_("My tickets and their status")),
    ("profile", N_("My name, phone and unit")),
    ("cancel", N_("Cancel what you are doing")),
    ("language", N_("Change the language")),
    ("settings", N_("Announcements on or off")),
    ("privacy", N_("How my personal data is handled")),
    ("mydata", N_("A copy of my personal data")),
    ("forget", N_("Erase my personal data")),
    ("help", N_("How this bot works")),
    ("start", N_("Start or restart")),
)

# by the flow's name as the chat's state row stores it
FLOWS: dict[str, Flow] = {flow.name: flow for flow in (
    registration.TABLE, report.TABLE, mytickets.TABLE, survey.TABLE, profile.TABLE,
    forget.TABLE)}


class Engine:
    def __init__(self, office: Office) -> None:
        self.office = office

    async def handle(self, session: AsyncSession, event: Event) -> Outcome:
        sender = event.sender
        if event.in_group:
            if sender.chat_id != self.office.staff_chat_id:
                return Outcome(step="-", result="ignored")  # some other group
            return await self.staff_desk(session, event)
        state, resident = await Conversations(session).load_with_resident(
            sender.chat_id, sender.user_id)
        if not Conversations.claim(state, event.update_id):
            return redelivered(state, event)
        if resident is not None and not resident.reachable:  # they wrote: they unblocked us
            await TicketService(session, staff_chat_id=self.office.staff_chat_id
                                ).set_reachable(resident, True)
        lang = (resident.language if resident else None) or state.data.get("lang") or negotiate(
            sender.language_code, self.office.default_language
        )
        ctx = Context(event=event, state=state, session=session, office=self.office, lang=lang,
                      resident=resident)
        await route(ctx)
        if event.kind == EventKind.BUTTON and ctx.out.callback_answer is None:
            ctx.answer()
        ctx.save()
        keep_answer(state, event, ctx.out)
        ctx.out.step = f"{ctx.flow}:{ctx.step}" if ctx.flow else "menu"
        ctx.out.notify = ctx.out.notify or Outbox.touched(session)
        return ctx.out

    async def staff_desk(self, session: AsyncSession, event: Event) -> Outcome:
        """The staff group: the group's state row only dedupes; who acts is the staff row."""
        state, _resident = await Conversations(session).load_with_resident(
            event.sender.chat_id, None)
        if not Conversations.claim(state, event.update_id):
            return redelivered(state, event)
        staff = await StaffMembers(session).by_user(event.sender.user_id)
        ctx = Context(event=event, state=state, session=session, office=self.office,
                      lang=self.office.default_language, resident=None)
        await staffdesk.handle(ctx, staff)
        if event.kind == EventKind.BUTTON and ctx.out.callback_answer is None:
            ctx.answer()
        keep_answer(state, event, ctx.out)
        dialog = staffdesk.GuidedAction.from_json(staff.dialog) if staff is not None else None
        ctx.out.step = f"staff:{dialog.kind}" if dialog else "staff"
        ctx.out.notify = ctx.out.notify or Outbox.touched(session)
        return ctx.out


def keep_answer(state: ConversationState, event: Event, out: Outcome) -> None:
    """The answer goes into the chat's row with the update it answers (same transaction)."""
    state.last_answer = Answer(event.update_id, tuple(r for r in out.replies if r.keep),
                               out.callback_answer).to_json()


def redelivered(state: ConversationState, event: Event) -> Outcome:
    """An update handled before comes again: no second effect, but its answer once more if it
    was the chat's last (it may never have gone out: a crash between commit and sending)."""
    outcome = Outcome(step="-", result="duplicate")
    answer = Answer.from_json(state.last_answer)
    if answer is not None and answer.update_id == event.update_id:
        outcome.replies = list(answer.replies)
        outcome.callback_answer = answer.callback_answer
    return outcome


async def route(ctx: Context) -> None:
    event = ctx.event
    if privacy.needs_agreement(ctx) and not privacy.may_pass(ctx):
        await privacy.ask_to_agree(ctx)
    elif event.kind == EventKind.COMMAND:
        await command(ctx, event.command or "")
    elif event.kind == EventKind.BUTTON:
        await press(ctx)
    elif ctx.resident is not None and (action := menu_action(event.text)) is not None:
        await command(ctx, action)
    elif replies_to_us(ctx) and await answer_by_reply(ctx):
        return
    elif ctx.flow in FLOWS:
        await FLOWS[ctx.flow].handle(ctx)
    elif ctx.resident is None:
        await registration.begin(ctx)
    else:
        _ = ctx._
        ctx.say(_("To report a problem or see your tickets, use the menu below."),
                keyboard=main_menu(_))


async def command(ctx: Context, name: str) -> None:
    if (handler := ANYONE.get(name)) is not None:
        await handler(ctx)
    elif ctx.resident is None:
        await unregistered(ctx, name)
    else:
        await RESIDENTS.get(name, unknown_command)(ctx)


async def unregistered(ctx: Context, name: str) -> None:
    """Any other command before registration leads to (or back into) registration."""
    if name != "start" and ctx.flow == registration.FLOW:
        ctx.say(ctx._("Let's finish your registration first; send /cancel to stop."))
        await registration.TABLE.handle(ctx)
    else:
        await registration.begin(ctx)


async def start(ctx: Context) -> None:
    _ = ctx._
    assert ctx.resident is not None
    if ctx.flow == report.FLOW:
        await report.begin(ctx)  # asks before discarding the unfinished report
        return
    ctx.reset()
    ctx.say(_("Welcome back, %(name)s! How can we help?") % {"name": ctx.resident.name},
            keyboard=main_menu(_))


async def choose_language(ctx: Context) -> None:
    ctx.say(ctx._("Choose your language:"), languages())


async def unknown_command(ctx: Context) -> None:
    ctx.say(ctx._("Sorry, I don't know that command. Send /help to see what I can do."))


async def cancel(ctx: Context) -> None:
    _ = ctx._
    flow = ctx.flow
    ctx.reset()
    if flow == registration.FLOW:
        ctx.say(_("Registration cancelled; nothing was saved. Send /start to begin again."),
                remove_keyboard=True)
    elif flow == mytickets.FLOW:
        ctx.say(_("Done. What you sent has been added to the ticket."), keyboard=main_menu(_))
    elif flow == profile.FLOW:
        ctx.say(_("Stopped. The changes you saved are kept."), keyboard=main_menu(_))
    elif flow == forget.FLOW:
        ctx.say(_("Nothing was erased."), keyboard=main_menu(_))
    elif flow:
        ctx.say(_("Cancelled. Nothing was saved."), keyboard=main_menu(_))
    elif ctx.resident is not None:
        ctx.say(_("There is nothing to cancel."), keyboard=main_menu(_))
    else:
        ctx.say(_("There is nothing to cancel. Send /start to register."))


async def show_help(ctx: Context) -> None:
    _ = ctx._
    text = _(
        "This bot is the property management office's service desk.\n\n"
        "/report — report a problem (noise, repairs, water, electricity…), with photos, "
        "videos or voice notes\n"
        "/mytickets — see your reports, their progress, add information or withdraw one\n"
        "/profile — change your name, phone or unit\n"
        "/language — change the language\n"
        "/settings — the office's announcements on or off\n"
        "/privacy — how your personal data is handled; /mydata — a copy of it; /forget — "
        "have it erased\n"
        "/cancel — stop what you are doing; nothing half-finished is kept\n\n"
        "Every report gets a number, and you get a message here whenever its status changes."
    )
    if ctx.office.emergency_phone:
        text += "\n\n" + _("Emergencies (danger to people or property): call %(phone)s.") % {
            "phone": ctx.office.emergency_phone}
    if ctx.resident is not None:
        ctx.say(text, keyboard=main_menu(_))
    else:
        ctx.say(text)


async def press(ctx: Context) -> None:
    """A button: the current flow's own first, then those that work anywhere in the chat."""
    callback = ctx.callback
    if callback is not None and callback.prefix == ctx.flow:
        await FLOWS[ctx.flow].handle(ctx)
    elif callback is not None and (handler := ANYWHERE.get(callback.prefix)) is not None:
        await handler(ctx)
    elif callback is not None and callback.prefix == report.FLOW and callback.action == "confirm":
        await report.already_sent(ctx, callback.arg)
    else:
        ctx.answer(ctx._("This button is no longer active."))


async def my_tickets_button(ctx: Context) -> None:
    callback = ctx.callback
    if ctx.flow == report.FLOW and callback is not None and callback.action == "add":
        ctx.answer(ctx._("Please finish or /cancel your report first."), alert=True)
    else:
        await mytickets.press(ctx)


def replies_to_us(ctx: Context) -> bool:
    event = ctx.event
    return (ctx.resident is not None and event.reply_to_message_id is not None
            and (event.kind == EventKind.TEXT or event.kind in MEDIA_KINDS))


async def answer_by_reply(ctx: Context) -> bool:
    """A reply to one of our messages about a ticket goes to that ticket (a survey comment,
    or information for the office). False when the replied message is not about a ticket."""
    _ = ctx._
    event = ctx.event
    assert ctx.resident is not None and event.reply_to_message_id is not None
    link = await ctx.links.ticket_of(event.sender.chat_id, event.reply_to_message_id)
    if link is None:
        return False
    text = (event.text or "").strip()
    if link.survey_id is not None and event.kind == EventKind.TEXT and text:
        found = await ctx.surveys.get(link.survey_id)
        if found is not None and found.ticket.resident_id == ctx.resident.id:
            await survey.comment(ctx, found, text)
            return True
    if link.kind == PartyMessage.KIND:  # the other party of a dispute answers the office
        return await _party_answers(ctx, link.ticket_id)
    ticket = await ctx.tickets.of_resident(ctx.resident, link.ticket_id)
    if ticket is None:
        return False
    if await mytickets.add_to(ctx, ticket) == "added":
        ctx.say(_("Thank you. Added to ticket No. %(number)s; the office can see it.")
                % {"number": ticket.number})
    return True


async def _party_answers(ctx: Context, ticket_id: int) -> bool:
    _ = ctx._
    assert ctx.resident is not None
    ticket = await ctx.tickets.tickets.get(ticket_id)
    if ticket is None:
        return False
    record = report.media_record(ctx) if ctx.event.kind in MEDIA_KINDS else None
    if ctx.event.kind in MEDIA_KINDS and record is None:
        return True  # (the file's problem was explained)
    try:
        await ctx.tickets.party_answered(ctx.resident, ticket,
                                         text=(ctx.event.text or "").strip()[:INFO_MAX] or None,
                                         media=record)
    except TicketError as error:
        if error.code == "not_found":
            return False
        ctx.say(_("Thank you. This matter is closed now; please send /report if you have "
                  "a complaint of your own."))
        return True
    ctx.say(_("Thank you. Your answer has been passed on to the office."))
    return True


async def set_language(ctx: Context) -> None:
    lang = ctx.callback.arg if ctx.callback else ""
    if lang not in SUPPORTED:
        ctx.answer(ctx._("This button is no longer active."))
        return
    ctx.lang = lang
    ctx.data["lang"] = lang
    if ctx.resident is not None:
        ctx.resident.language = lang
    _ = ctx._
    ctx.answer(LANGUAGE_NAMES[lang])
    ctx.say(_("The language is now %(name)s.") % {"name": LANGUAGE_NAMES[lang]}, edit=True)
    if ctx.resident is not None and not ctx.flow:
        ctx.say(_("What would you like to do?"), keyboard=main_menu(_))


async def _show_tickets(ctx: Context) -> None:
    await mytickets.show_list(ctx)


# commands anyone may send, and those for registered residents
ANYONE: dict[str, Handler] = {"help": show_help, "language": choose_language, "cancel": cancel,
                              "console": console.in_private, "alerts": alerts.in_private,
                              "privacy": privacy.show, "forget": forget.begin,
                              "mydata": privacy.my_data}
RESIDENTS: dict[str, Handler] = {"start": start, "report": report.begin,
                                 "mytickets": _show_tickets, "profile": profile.begin,
                                 "settings": settings.show}
# buttons that work from anywhere in the chat, by their prefix
ANYWHERE: dict[str, Handler] = {Prefix.LANGUAGE: set_language, Prefix.SURVEY: survey.press,
                                Prefix.PRIVACY: privacy.press,
                                Prefix.CALL_BACK: call_back.press,
                                Prefix.MY_TICKETS: my_tickets_button,
                                Prefix.SETTINGS: settings.press}
