"""Announcements in the chats: the resident's copy (rendered when sent), and the staff
group's /announce and /announcements (managers only).

/announce takes everything in one message, then asks to confirm with the recipient count:

    /announce building 2 at 2026-12-05 09:00
    Water will be off from 10:00 to 12:00.
    [ru] С 10:00 до 12:00 не будет воды.

The first line is the scope ("all", "building 2", "building 2 floors 3-5", "units 2-0301
2-0302") and, optionally, "at" a time in office time (without it: now); the lines after it
are the text, for everyone, and optionally a text per language after its tag ([en], [zh],
[ru]). Sent as the caption of a photo, it announces the photo (by Telegram's file id:
Telegram has already taken a photo's metadata out). The draft waits in the staff group's
state row, by its author, until they press Send (one draft each; a new /announce replaces
it). A line "works water 2026-12-05 09:00-12:00" makes it planned works: an incident for
the scope, that category and that time (tickets/incidents.py), as the console's form does.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path

from conversations.context import Context
from conversations.events import FileRef, Reply
from conversations.keyboards import Callback, Prefix, button, grid
from conversations.notices import Notice, category_name, when
from locales import LANGUAGE_NAMES, gettext_for
from storage.announcements import Announcements
from storage.models import Announcement, Staff, utcnow
from storage.repositories import Categories, Units
from tickets.announcements import (
    CAPTION_TEXT_MAX,
    EVERYONE,
    TEXT_MAX,
    AnnouncementDraft,
    AnnouncementError,
    DeliveryReport,
    Problem,
    area_of,
    cancel,
    create,
    queue,
    report,
    scope_from,
    split_when,
    texts_from,
    works_from,
)
from tickets.notices import AnnouncementNotice
from tickets.scope import Scope, ScopeKind

DRAFTS = "announce"  # the staff group's state data: drafts by staff id
SEND, DROP, CANCEL = "send", "drop", "cancel"  # the buttons' actions
LISTED = 10  # /announcements shows the latest ones
_ANNOUNCE = re.compile(r"^/announce(@\w+)?(?=\s|$)", re.IGNORECASE)


# --- to the resident ----------------------------------------------------------------------

def text_for(announcement: Announcement, lang: str, default_lang: str) -> str:
    texts = announcement.texts or {}
    return str(texts.get(lang) or texts.get(EVERYONE) or texts.get(default_lang)
               or next(iter(texts.values()), ""))


def for_resident(announcement: Announcement, notice: AnnouncementNotice,
                 default_lang: str) -> Notice | None:
    """The resident's copy: the text in their language, under the office's header."""
    if announcement.cancelled_at is not None:
        return None
    _ = gettext_for(notice.lang)
    text = "📢 " + _("From the property management office") + "\n\n" + text_for(
        announcement, notice.lang, default_lang)
    photo = (FileRef("photo", "", path=announcement.photo_path,
                     name=Path(announcement.photo_path).name) if announcement.photo_path
             else FileRef("photo", announcement.photo_file_id) if announcement.photo_file_id
             else None)
    return Notice(Reply(text, file=photo), None, kind=notice.KIND)


# --- the staff group ------------------------------------------------------------------------

def _refuse(ctx: Context, text: str) -> None:
    ctx.say(text, reply_to=ctx.event.message_id)
    ctx.out.result = "refused"


async def scope_words(ctx: Context, scope: Scope) -> str:
    _ = ctx._
    units = Units(ctx.session)
    building = await units.building(scope.building_id) if scope.building_id else None
    labels: list[str] = []
    if scope.kind == ScopeKind.UNITS:
        labels = [u.label for i in scope.unit_ids if (u := await units.get(i)) is not None]
    return scope.describe(_, building.name if building else "", tuple(labels))


def caption_args(caption: str | None) -> str | None:
    """What follows /announce in a photo's caption (None: the caption is no /announce)."""
    found = _ANNOUNCE.match(caption or "")
    return caption[found.end():].strip() if caption and found else None


async def announce(ctx: Context, staff: Staff, *, args: str | None = None,
                   photo_file_id: str | None = None) -> None:
    """/announce (or a photo with it as the caption): read the draft, show it with its
    recipient count, ask to confirm."""
    _ = ctx._
    if not staff.is_manager:
        _refuse(ctx, _("Only managers can send announcements."))
        return
    first, _newline, body = (ctx.event.command_args if args is None else args).partition("\n")
    try:
        body, works = works_from(body, ctx.office.timezone)
    except AnnouncementError:
        works, body = None, ""  # (said below, with how to write it)
        unreadable_works = True
    else:
        unreadable_works = False
    texts = texts_from(body)
    usage = _("Write the scope on the first line and the text below it, for example:\n"
              "/announce building 2 at 2026-12-05 09:00\n"
              "Water will be off from 10:00 to 12:00.\n\n"
              "Scope: all, building 2, building 2 floors 3-5, or units 2-0301 2-0302. "
              "Without “at”, it goes now.") + "\n\n" + _(
        "A text per language: start a line with [en], [zh] or [ru] and write that "
        "language's text after it (the text before the first tag is for everyone else). "
        "With a photo: send the photo with all of this as its caption.") + "\n\n" + _(
        "Planned works: a line “works water 2026-12-05 09:00-12:00” (the category's code, "
        "the day, from and to in office time) opens an incident for them: the residents of "
        "the scope who report it in that time are told the office knows, and staff get one "
        "card.")
    if unreadable_works:
        _refuse(ctx, _("The works line is written like “works water 2026-12-05 09:00-12:00”.")
                + "\n\n" + usage)
        return
    if not first.strip() or not texts:
        _refuse(ctx, usage)
        return
    longest = CAPTION_TEXT_MAX if photo_file_id else TEXT_MAX
    if any(len(text) > longest for text in texts.values()):
        _refuse(ctx, _("The text is too long (at most %(max)d characters).") % {"max": longest})
        return
    try:
        words, send_at = split_when(first, ctx.office.timezone)
        scope = await scope_from(ctx.session, words)
    except AnnouncementError as error:
        problems = {Problem.BUILDING: _("There is no such building in the unit list."),
                    Problem.UNIT: _("One of those units is not in the unit list."),
                    Problem.FLOORS: _("Floors are written like 3, 5 or 3-7."),
                    Problem.TIME: _("The time is written like 2026-12-05 09:00.")}
        problem = problems.get(error.problem)
        _refuse(ctx, f"{problem}\n\n{usage}" if problem else usage)
        return
    now = utcnow()
    if send_at is not None and send_at <= now:
        _refuse(ctx, _("That time has passed. Leave out “at” to send it now."))
        return
    if works is not None:
        category = await Categories(ctx.session).by_code(works.category)
        if category is None or not category.active:
            codes = ", ".join(c.code for c in await Categories(ctx.session).active())
            _refuse(ctx, _("There is no category “%(code)s”. The categories: %(codes)s.") % {
                "code": works.category, "codes": codes})
            return
        if not (now < works.ends_at and works.starts_at < works.ends_at):
            _refuse(ctx, _("The works must end after they start, and not in the past."))
            return
    words_of_scope = await scope_words(ctx, scope)
    draft = AnnouncementDraft(scope, texts, send_at, uuid.uuid4().hex[:8], photo_file_id,
                              works, words_of_scope)
    drafts = dict((ctx.state.data or {}).get(DRAFTS) or {})
    drafts[str(staff.id)] = draft.to_json()
    ctx.state.data = {**(ctx.state.data or {}), DRAFTS: drafts}  # (a new dict: saved)
    count = await Announcements(ctx.session).count(area_of(scope))
    at = when(send_at, ctx.office.timezone) if send_at else _("now")
    shown = "\n\n".join(text if key == EVERYONE else f"[{LANGUAGE_NAMES.get(key, key)}] {text}"
                         for key, text in texts.items())
    if photo_file_id:
        shown = "🖼 " + _("With this photo.") + "\n\n" + shown
    if works is not None:
        shown = "🛠 " + _("Planned works (%(category)s), %(start)s – %(end)s: reports of it "
                         "from there in that time are linked to one incident.") % {
            "category": category_name(_, works.category),
            "start": when(works.starts_at, ctx.office.timezone),
            "end": when(works.ends_at, ctx.office.timezone)} + "\n\n" + shown
    ctx.say(_("Announcement to %(scope)s, %(when)s: %(count)d resident(s).\n\n%(text)s\n\n"
              "Send it?") % {"scope": words_of_scope, "when": at,
                             "count": count, "text": shown},
            grid([button(_("📢 Send"), Prefix.ANNOUNCE, SEND, draft.key),
                  button(_("Cancel"), Prefix.ANNOUNCE, DROP, draft.key)]),
            reply_to=ctx.event.message_id)


def refuse_file(ctx: Context) -> None:
    """/announce as the caption of a file that is no photo (a picture sent as a file keeps
    its metadata, and residents should get a photo)."""
    _refuse(ctx, ctx._("Send the picture as a photo (not as a file), with /announce as its "
                       "caption."))


async def press(ctx: Context, staff: Staff | None) -> None:
    """The buttons of /announce (send, drop the draft) and of /announcements (cancel one)."""
    _ = ctx._
    callback = Callback.parse(ctx.event.callback_data)
    if callback is None or staff is None or not staff.active or not staff.is_manager:
        ctx.answer(_("Only managers can send announcements."))
        return
    if callback.action == CANCEL:
        number = callback.int_arg()
        done = number is not None and await cancel(ctx.session, number, utcnow())
        ctx.answer(_("Cancelled.") if done else _("It is already on its way; too late to cancel."))
        if done:
            await listing(ctx, staff, edit=True)
        return
    drafts = dict((ctx.state.data or {}).get(DRAFTS) or {})
    draft = AnnouncementDraft.from_json(drafts.get(str(staff.id)))
    if draft is None or draft.key != callback.arg:
        ctx.answer(_("This button is no longer active."))
        return
    drafts.pop(str(staff.id))
    ctx.state.data = {**(ctx.state.data or {}), DRAFTS: drafts}
    ctx.answer()
    if callback.action != SEND:
        ctx.say(_("Cancelled. Nothing was saved."), edit=True)
        return
    now = utcnow()
    try:
        announcement = await create(ctx.session, draft, staff.id, now)
    except AnnouncementError:  # its time passed while it waited to be confirmed
        ctx.say(_("That time has passed. Leave out “at” to send it now."), edit=True)
        return
    if draft.send_at is None:  # now: queued in this transaction (a later one by the scheduler)
        await queue(ctx.session, announcement.id, now)
        ctx.out.notify = True
    ctx.say(_("Announcement No. %(number)d saved: it goes %(when)s. /announcements shows how "
              "it is delivered.") % {
        "number": announcement.id,
        "when": when(draft.send_at, ctx.office.timezone) if draft.send_at else _("now")},
        edit=True)


def report_line(ctx: Context, counts: DeliveryReport) -> str:
    return ctx._("sent %(sent)d · unreachable %(unreachable)d · muted %(muted)d · "
                 "on the way %(pending)d") % {
        "sent": counts.sent, "unreachable": counts.unreachable, "muted": counts.muted,
        "pending": counts.pending}


async def listing(ctx: Context, staff: Staff, *, edit: bool = False) -> None:
    """/announcements: the latest ones, with their delivery report; a scheduled one can be
    cancelled by its button."""
    _ = ctx._
    if not staff.is_manager:
        _refuse(ctx, _("Only managers can send announcements."))
        return
    found = await Announcements(ctx.session).recent(LISTED)
    if not found:
        ctx.say(_("No announcements yet. /announce sends one."), reply_to=ctx.event.message_id)
        return
    reports = await report(ctx.session, [a.id for a in found])
    lines, buttons = [], []
    for a in found:
        scope = await scope_words(ctx, Scope.from_json(a.scope))
        text = text_for(a, ctx.lang, ctx.office.default_language)
        number = _("No. %(number)s") % {"number": a.id}
        head = f"{number} · {scope} · {when(a.send_at, ctx.office.timezone)}"
        if a.cancelled_at is not None:
            state = _("cancelled")
        elif a.queued_at is None:
            state = _("scheduled")
            buttons.append(button(_("Cancel No. %(number)d") % {"number": a.id},
                                  Prefix.ANNOUNCE, CANCEL, a.id))
        else:
            state = report_line(ctx, reports[a.id])
        photo = "🖼 " if a.photo_path or a.photo_file_id else ""
        lines.append(f"{head}\n{state}\n{photo}{text[:80]}")
    ctx.say("📢 " + _("Announcements") + "\n\n" + "\n\n".join(lines), grid(buttons, 1),
            edit=edit, reply_to=None if edit else ctx.event.message_id)

