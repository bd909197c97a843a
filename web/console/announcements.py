"""The office's announcements in the console (managers): the latest ones with their scope,
time and delivery report, as /announcements shows them in the staff group; a form to write
one (a text for everyone, or one per language, a photo, planned works); Cancel for a
scheduled one.

The form is read whole before anything is stored: a mistake shows it again with a message at
each field and what was typed (a photo must be chosen again: browsers do not let a page keep
a file), and nothing is saved. The photo is checked by its bytes (a JPEG, PNG or WebP of at
most 10 MB, Telegram's limit for a photo) and kept without its metadata, as a resident's is.
"""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import NoReturn
from zoneinfo import ZoneInfo

import aiohttp_jinja2
from aiohttp import web
from aiohttp.web_request import FileField
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.app import ResidentDesk
from locales import LANGUAGE_NAMES, N_, SUPPORTED, Gettext, gettext_for
from locales.dates import format_when
from storage.announcements import Announcements
from storage.models import Announcement, utcnow
from storage.repositories import Categories, Units
from tickets.announcements import (
    CAPTION_TEXT_MAX,
    EVERYONE,
    TEXT_MAX,
    AnnouncementError,
    DeliveryReport,
    NewAnnouncement,
    PlannedWorks,
    Problem,
    cancel,
    create,
    queue,
    report,
    scope_from,
)
from tickets.evidence import sniff
from tickets.scope import Scope
from web.console.access import DESK, Need, need, viewer
from web.console.forms import NOT_A_CHOICE, NOT_IN_FUTURE, Posted, translated_errors
from web.console.pages import language_of
from web.console.queue import category_title

log = logging.getLogger("residesk.console")

LISTED = 50
PHOTO_MAX_BYTES = 10 * 1024 * 1024  # Telegram's limit for a photo sent by a bot
PHOTO_TYPES = ("image/jpeg", "image/png", "image/webp")
_KEY = re.compile(r"[0-9a-f]{32}")  # the form's key, as the page wrote it
TEXT_FIELDS = {EVERYONE: "text", **{lang: f"text_{lang}" for lang in SUPPORTED}}

NO_TEXT = N_("Please write the text: for everyone, or in at least one language.")
TEXT_TOO_LONG = N_("Please keep it under %(max)d characters (Telegram's limit for a message; "
                   "a photo's caption is shorter).")
BAD_SCOPE = N_("Write “all”, “building 2”, “building 2 floors 3-5” or “units 2-0301 "
               "2-0302”.")
SCOPE_PROBLEMS = {
    Problem.BUILDING: N_("There is no such building in the unit list."),
    Problem.UNIT: N_("One of those units is not in the unit list."),
    Problem.FLOORS: N_("Floors are written like 3, 5 or 3-7."),
}
NOT_A_PHOTO = N_("“%(name)s” is not a JPEG, PNG or WebP picture.")
PHOTO_TOO_BIG = N_("“%(name)s” is over 10 MB.")
PHOTO_NOT_STORED = N_("“%(name)s” could not be stored; please try again later.")
PHOTO_AGAIN = N_("Please choose the photo again.")
WINDOW_NEEDED = N_("Please give when the works start and end.")
WINDOW_ORDER = N_("The works must end after they start, and not in the past.")
CREATED = N_("Announcement No. %(number)d saved: it goes %(when)s.")
CANCELLED = N_("Announcement No. %(number)d is cancelled.")
TOO_LATE = N_("It is already on its way; too late to cancel.")


@dataclass(frozen=True)
class Row:
    number: int
    scope: str
    send_at: datetime
    texts: list[tuple[str, str]]  # (the language's name, or "" for everyone; the text)
    photo: bool
    works: bool
    state: str  # scheduled | cancelled | queued (then `report` says how it went)
    report: DeliveryReport


@need(Need.MANAGER)
async def announcements_page(request: web.Request) -> web.Response:
    """GET /console/announcements: the form, and the latest ones."""
    return await _render(request, Posted({"scope": "all", "key": uuid.uuid4().hex}))


async def _render(request: web.Request, form: Posted, status: int = 200) -> web.Response:
    desk = request.app[DESK]
    lang = language_of(request)
    _ = gettext_for(lang)
    rows: list[Row] = []
    async with desk.db.reading() as session:
        found = await Announcements(session).recent(LISTED)
        reports = await report(session, [a.id for a in found])
        for a in found:
            rows.append(Row(
                a.id, await _scope_words(session, _, Scope.from_json(a.scope)), a.send_at,
                [("" if key == EVERYONE else LANGUAGE_NAMES.get(key, key), str(text))
                 for key, text in (a.texts or {}).items()],
                bool(a.photo_path or a.photo_file_id), a.incident_id is not None,
                "cancelled" if a.cancelled_at else
                "scheduled" if a.queued_at is None else "queued", reports[a.id]))
        buildings = [b.name for b in await Units(session).buildings()]
        categories = [(c.code, category_title(c, lang))
                      for c in await Categories(session).all() if c.active]
    done = _done_message(request, _, rows, lambda moment: format_when(
        moment, lang, desk.engine.office.timezone))
    return aiohttp_jinja2.render_template("announcements.html", request, {
        "rows": rows, "form": form, "values": form.values,
        "errors": translated_errors(form, _), "done": done, "buildings": buildings,
        "categories": categories, "text_fields": TEXT_FIELDS, "languages": LANGUAGE_NAMES,
        "text_max": TEXT_MAX, "caption_max": CAPTION_TEXT_MAX}, status=status)


def _done_message(request: web.Request, _: Gettext, rows: list[Row],
                  when: Callable[[datetime], str]) -> str:
    """What the page says after a form (the redirect's query names what was done)."""
    number = request.query.get("number", "")
    if not number.isdigit():
        return ""
    done = request.query.get("done", "")
    row = next((r for r in rows if r.number == int(number)), None)
    if done == "created" and row is not None:
        return _(CREATED) % {"number": row.number,
                             "when": when(row.send_at) if row.state == "scheduled"
                             else _("now")}
    if done == "cancelled":
        return _(CANCELLED) % {"number": int(number)}
    if done == "too-late":
        return _(TOO_LATE)
    return ""


async def _scope_words(session: AsyncSession, _: Gettext, scope: Scope) -> str:
    units = Units(session)
    building = await units.building(scope.building_id) if scope.building_id else None
    labels = [u.label for i in scope.unit_ids if (u := await units.get(i)) is not None]
    return scope.describe(_, building.name if building else "", tuple(labels))


@need(Need.MANAGER)
async def announce(request: web.Request) -> web.Response:
    """POST /console/announcements: a new one, now or at its time."""
    desk = request.app[DESK]
    _ = gettext_for(language_of(request))
    timezone = desk.engine.office.timezone
    posted = await request.post()
    form = Posted({k: v for k, v in posted.items() if isinstance(v, str)})
    upload = posted.get("photo")
    photo = upload if isinstance(upload, FileField) and upload.filename else None
    now = utcnow()
    texts = {key: form.values.get(name, "").replace("\x00", "").strip()
             for key, name in TEXT_FIELDS.items()}
    texts = {key: text for key, text in texts.items() if text}
    longest = CAPTION_TEXT_MAX if photo else TEXT_MAX
    if not texts:
        form.error("text", NO_TEXT)
    for key, text in texts.items():
        if len(text) > longest:
            form.error(TEXT_FIELDS[key], TEXT_TOO_LONG, max=longest)
    send_at = form.moment("send_at", timezone)
    if send_at is not None and send_at <= now:
        form.error("send_at", NOT_IN_FUTURE)
    works = None
    async with desk.db.reading() as session:
        scope = await _scope(session, form)
        scope_text = await _scope_words(session, gettext_for(
            desk.engine.office.default_language), scope) if scope else ""
        if form.values.get("works"):
            categories = {c.code for c in await Categories(session).all() if c.active}
            works = _works(form, timezone, categories, now)
    data = await _photo(photo, form) if photo is not None else None
    if form.errors:
        if photo is not None and "photo" not in form.errors:
            form.error("photo", PHOTO_AGAIN)
        return await _render(request, form, status=400)
    assert scope is not None
    photo_path = None
    if data is not None:
        try:  # (kept without its metadata: where it was taken, by which phone)
            photo_path = str((await asyncio.to_thread(desk.media.store, data)).path)
        except OSError:
            assert photo is not None
            form.error("photo", PHOTO_NOT_STORED, name=photo.filename[:80])
            return await _render(request, form, status=400)
    key = form.values.get("key", "")
    new = NewAnnouncement(scope, texts, send_at, photo_path, works, scope_text,
                          form_key=key if _KEY.fullmatch(key) else None)
    try:
        async with desk.db.transaction() as session:
            announcement = await create(session, new, viewer(request).staff_id, now)
            if send_at is None:  # now: queued in this transaction (a later one by the scheduler)
                await queue(session, announcement.id, now)
    except IntegrityError:  # the same form sent twice at once: the other one saved it
        async with desk.db.reading() as session:
            found = await Announcements(session).by_form_key(key)
        if found is None:
            raise
        _back(request, found, "created")
    except AnnouncementError as error:  # (checked above: a clock that moved on, say)
        log.warning("console: an announcement was refused: %s", error.problem)
        form.error("send_at" if error.problem == Problem.PAST else "text", NOT_A_CHOICE)
        return await _render(request, form, status=400)
    desk.notifier.wake.set()
    _back(request, announcement, "created")


def _back(request: web.Request, announcement: Announcement, done: str) -> NoReturn:
    query = {"done": done, "number": str(announcement.id)}
    raise web.HTTPSeeOther(str(request.app.router["announcements"].url_for()
                               .with_query(query)))


async def _scope(session: AsyncSession, form: Posted) -> Scope | None:
    words = form.values.get("scope", "").strip()
    if not words:
        form.error("scope", BAD_SCOPE)
        return None
    try:
        return await scope_from(session, words[:500])
    except AnnouncementError as error:
        form.error("scope", SCOPE_PROBLEMS.get(error.problem, BAD_SCOPE))
        return None


def _works(form: Posted, timezone: ZoneInfo, categories: set[str], now: datetime
           ) -> PlannedWorks | None:
    category = form.values.get("category", "")
    if category not in categories:
        form.error("category", NOT_A_CHOICE)
    starts, ends = form.moment("starts_at", timezone), form.moment("ends_at", timezone)
    if "starts_at" in form.errors or "ends_at" in form.errors:
        return None
    if starts is None or ends is None:
        form.error("ends_at", WINDOW_NEEDED)
        return None
    if not (starts < ends and now < ends):
        form.error("ends_at", WINDOW_ORDER)
        return None
    return PlannedWorks(category, starts, ends) if category in categories else None


async def _photo(photo: FileField, form: Posted) -> bytes | None:
    """The photo's bytes, if it is one Telegram takes as a photo."""
    data = await asyncio.to_thread(photo.file.read, PHOTO_MAX_BYTES + 1)
    name = photo.filename[:80]
    if len(data) > PHOTO_MAX_BYTES:
        form.error("photo", PHOTO_TOO_BIG, name=name)
        return None
    if sniff(data) not in PHOTO_TYPES:
        form.error("photo", NOT_A_PHOTO, name=name)
        return None
    return data


@need(Need.MANAGER)
async def cancel_announcement(request: web.Request) -> web.Response:
    """POST /console/announcements/{number}/cancel: a scheduled one never goes."""
    desk: ResidentDesk = request.app[DESK]
    raw = request.match_info["number"]
    if not raw.isdigit():
        raise web.HTTPNotFound(text="no such announcement")
    async with desk.db.transaction() as session:
        announcement = await Announcements(session).get(int(raw))
        if announcement is None:
            raise web.HTTPNotFound(text="no such announcement")
        done = await cancel(session, announcement.id, utcnow())
    _back(request, announcement, "cancelled" if done else "too-late")
