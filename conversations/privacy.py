"""The privacy notice: agreed to before registering (registration's first step), shown by
/privacy, and agreed to again when the office publishes a new version.

A registered resident who has not agreed to the current version is shown it at their next
message and nothing else happens until they agree; what they were doing (a draft report) is
kept meanwhile. Their rights work without agreeing: /privacy, /mydata, /forget, /language,
/help. The agree button carries the version it was shown with, so an agreement is recorded
to exactly the text the resident read."""

from __future__ import annotations

from datetime import timedelta

from conversations.context import Context
from conversations.events import Button, EventKind
from conversations.keyboards import Prefix, button, grid, main_menu
from locales.dates import format_when
from storage.models import utcnow
from storage.personal_data import PersonalData
from storage.repositories import Outbox
from tickets.notices import PersonalDataCopy
from tickets.personal_copy import COPY_EVERY_HOURS, parts_of

AGREE = "agree"
DECLINE = "decline"
# what a resident may do before agreeing to the current notice (and a staff member who is
# also a resident: their staff commands are not about their data as a resident)
FREE_COMMANDS = frozenset({"privacy", "mydata", "forget", "language", "help", "cancel",
                           "console", "alerts"})
FREE_BUTTONS = frozenset({Prefix.PRIVACY, Prefix.LANGUAGE, Prefix.FORGET})


def notice_buttons(ctx: Context, prefix: Prefix) -> tuple[tuple[Button, ...], ...]:
    _ = ctx._
    version = ctx.office.privacy.version
    return grid([button(_("✅ I agree"), prefix, AGREE, version),
                 button(_("Not now"), prefix, DECLINE)], 2)


def notice_text(ctx: Context) -> str:
    return ctx.office.privacy.text(ctx.lang, ctx._, ctx.office.default_language)


def show_notice(ctx: Context, prefix: Prefix, intro: str = "") -> None:
    """The notice with its I agree / Not now buttons (the buttons' `prefix` says whose)."""
    ctx.say("\n\n".join(part for part in (intro, notice_text(ctx)) if part),
            notice_buttons(ctx, prefix))


def pressed_version(ctx: Context) -> str | None:
    """The version an I agree button was shown with, when it is still the current one."""
    callback = ctx.callback
    version = callback.arg if callback else None
    return version if version and ctx.office.privacy.agreed_by(version) else None


def needs_agreement(ctx: Context) -> bool:
    resident = ctx.resident
    return resident is not None and not ctx.office.privacy.agreed_by(resident.privacy_version)


def may_pass(ctx: Context) -> bool:
    """Whether this event is one a resident may send before agreeing."""
    event = ctx.event
    if event.kind == EventKind.COMMAND:
        return (event.command or "") in FREE_COMMANDS
    callback = ctx.callback
    return ctx.flow == Prefix.FORGET or (callback is not None and callback.prefix in FREE_BUTTONS)


async def ask_to_agree(ctx: Context) -> None:
    """A registered resident who has not agreed to the current notice: the notice first."""
    _ = ctx._
    assert ctx.resident is not None
    if ctx.pressed:
        ctx.answer(_("Please read the privacy notice below first."), alert=True)
    intro = (_("Our privacy notice has changed. Please read it and agree before we go on; "
               "what you were doing is kept.")
             if ctx.resident.privacy_version else
             _("Before we go on, please read how the office handles your personal data."))
    show_notice(ctx, Prefix.PRIVACY, intro)


async def press(ctx: Context) -> None:
    """I agree / Not now under a notice shown to a registered resident."""
    _ = ctx._
    callback = ctx.callback
    resident = ctx.resident
    if resident is None or callback is None:
        ctx.answer(_("This button is no longer active."))
        return
    if callback.action == DECLINE:
        ctx.answer()
        ctx.say(declined_text(ctx), edit=False)
        return
    version = pressed_version(ctx)
    if callback.action != AGREE or version is None:
        if callback.action == AGREE:  # the office changed the notice since it was shown
            ctx.answer(_("The notice has changed since; here is the new one."))
            show_notice(ctx, Prefix.PRIVACY)
        else:
            ctx.answer(_("This button is no longer active."))
        return
    if resident.privacy_version == version:
        ctx.answer(_("You have already agreed."))
        return
    resident.privacy_version, resident.privacy_agreed_at = version, utcnow()
    ctx.answer(_("Thank you."))
    ctx.say(_("Thank you. You can go on where you were."), keyboard=main_menu(_))


def declined_text(ctx: Context) -> str:
    _ = ctx._
    text = _("Without your agreement the office cannot take your requests in this chat. "
             "You can change your mind at any time with /privacy, or send /forget to have "
             "your personal data erased.")
    if ctx.office.emergency_phone:
        text += "\n\n" + _("Emergencies (danger to people or property): call %(phone)s.") % {
            "phone": ctx.office.emergency_phone}
    return text


async def show(ctx: Context) -> None:
    """/privacy: the notice, and whether (and when) the resident agreed to it."""
    _ = ctx._
    resident = ctx.resident
    if resident is None:
        if ctx.flow == Prefix.REGISTRATION:
            ctx.say(notice_text(ctx))
            return
        ctx.say(notice_text(ctx) + "\n\n" + _("Send /start to register."))
        return
    if needs_agreement(ctx):
        show_notice(ctx, Prefix.PRIVACY)
        return
    agreed = resident.privacy_agreed_at
    text = notice_text(ctx)
    if agreed is not None:
        text += "\n\n" + _("You agreed to this notice on %(when)s.") % {
            "when": format_when(agreed, ctx.lang, ctx.office.timezone)}
    ctx.say(text, keyboard=main_menu(_))


async def my_data(ctx: Context) -> None:
    """/mydata: a copy of everything the office keeps about the resident, as documents in this
    chat — made in the background by the outbox; once a day at most."""
    _ = ctx._
    resident = ctx.resident
    if resident is None:
        ctx.say(_("The office keeps no personal data of yours: you are not registered."))
        return
    now = utcnow()
    last = resident.data_copy_at
    if last is not None and now - last < timedelta(hours=COPY_EVERY_HOURS):
        ctx.say(_("You asked for a copy at %(when)s; one copy a day can be made. Please ask "
                  "again after %(next)s.") % {
            "when": format_when(last, ctx.lang, ctx.office.timezone),
            "next": format_when(last + timedelta(hours=COPY_EVERY_HOURS), ctx.lang,
                                ctx.office.timezone)}, keyboard=main_menu(_))
        return
    resident.data_copy_at = now
    data = PersonalData(ctx.session)
    facts = await data.copy_facts(resident)
    parts = parts_of(facts.tickets)
    outbox = Outbox(ctx.session)
    assert resident.chat_id is not None  # (they are writing from it)
    for number, files in enumerate([(), *parts]):
        outbox.enqueue(resident.chat_id, PersonalDataCopy(
            resident.id, number, len(parts) + 1, files, ctx.lang))
    text = _("Your copy is on its way: a file with your profile and tickets")
    if parts:
        text += ctx.ngettext(", and %(count)d ZIP file with your evidence",
                             ", and %(count)d ZIP files with your evidence",
                             len(parts)) % {"count": len(parts)}
    ctx.say(text + ". " + _("Keep them safe: they hold your personal data."),
            keyboard=main_menu(_))
