"""New complaint: one taken by phone, e-mail or at the desk (the procedure's step 1, receive),
logged on a form with the same rules as the chat's intake.

The resident is one already in the bot (found by name or phone: they then follow it in the
chat), or a name and phone: whoever registers later with that phone takes it over, as with
/intake in the staff group. The unit is one of the office's list when its label matches,
else free text, shown as unverified. Evidence files get the bot's checks (the real type by
their bytes, 20 MB each) and are kept before the ticket is written; a form with mistakes is
shown again with a message at each field and what was typed (files must be chosen again:
browsers do not let a page keep them).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import replace
from typing import Any

import aiohttp_jinja2
from aiohttp import web
from aiohttp.web_request import FileField
from sqlalchemy.ext.asyncio import AsyncSession

from bot.app import ResidentDesk
from locales import N_, gettext_for
from storage.models import Resident, Staff, Ticket
from storage.repositories import Categories, Residents, StaffMembers, Units
from tickets.evidence import MediaProblem, upload_kind
from tickets.inputs import Intake, TicketError
from tickets.policy import (
    DESCRIPTION_MAX,
    DESCRIPTION_MIN,
    MAX_EVIDENCE,
    MAX_FILE_BYTES,
    NAME_MAX,
    PRIORITIES,
    UNIT_TEXT_MAX,
    normalize_phone,
)
from web.console.access import DESK, Need, need, viewer
from web.console.forms import NOT_A_CHOICE, Posted, translated_errors
from web.console.pages import language_of
from web.console.queue import category_title
from web.console.ticket import service

log = logging.getLogger("residesk.console")

CHANNELS = ("hotline", "email", "walk_in")  # the ways a complaint reaches the office itself
MAX_FILE_READ = MAX_FILE_BYTES + 1  # one byte more than allowed: enough to see it is over
BAD_PHONE = N_("Please give a phone number of 7 to 15 digits, e.g. +86 138 0013 8000.")
TOO_SHORT = N_("Please describe it in at least %(min)d characters.")
NO_SUCH_RESIDENT = N_("This resident is no longer in the list; please search again.")
TOO_MANY_FILES = N_("Please attach at most %(max)d files.")
FILE_PROBLEMS = {
    MediaProblem.TOO_BIG: N_("“%(name)s” is over 20 MB."),
    MediaProblem.UNSUPPORTED: N_("“%(name)s” is not a photo, video, recording, PDF or office "
                                 "document."),
    MediaProblem.NOT_STORED: N_("“%(name)s” could not be stored; please try again later."),
}
FILES_AGAIN = N_("Please choose the files again.")


@need(Need.STAFF)
async def new_complaint_page(request: web.Request) -> web.Response:
    return await _render(request, Posted({"key": uuid.uuid4().hex, "priority": "normal",
                                              "channel": "hotline"}))


async def _render(request: web.Request, form: Posted, status: int = 200) -> web.Response:
    desk = request.app[DESK]
    lang = language_of(request)
    _ = gettext_for(lang)
    who = request.query.get("who", "").strip()[:64]
    async with desk.db.reading() as session:
        categories = [c for c in await Categories(session).all() if c.active]
        units = await Units(session).labels()
        found = list(await Residents(session).search(who)) if who else []
        chosen = form.values.get("resident_id", "")
        if (chosen.isdigit() and not any(r.id == int(chosen) for r in found)
                and (resident := await Residents(session).get(int(chosen))) is not None):
            found.insert(0, resident)
    return aiohttp_jinja2.render_template("new.html", request, {
        "form": form, "values": form.values, "who": who, "found": found,
        "errors": translated_errors(form, _),
        "categories": [(c.code, category_title(c, lang)) for c in categories],
        "units": units, "priorities": PRIORITIES, "channels": CHANNELS,
        "max_files": MAX_EVIDENCE, "description_min": DESCRIPTION_MIN,
    }, status=status)


@need(Need.STAFF)
async def new_complaint(request: web.Request) -> web.Response:
    desk = request.app[DESK]
    posted = await request.post()
    form = Posted({k: v for k, v in posted.items() if isinstance(v, str)})
    files = [v for v in posted.getall("files", []) if isinstance(v, FileField) and v.filename]
    async with desk.db.reading() as session:
        resident = await _resident(session, form)
        unit_id, unit = await _unit(session, form)
        categories = {c.code for c in await Categories(session).all() if c.active}
    name = resident.name if resident else form.text("name", max_len=NAME_MAX) or ""
    region = desk.engine.office.phone_region
    phone = resident.phone if resident else (
        normalize_phone(form.values.get("phone", ""), region) or "")
    if not phone:
        form.error("phone", BAD_PHONE)
    description = form.text("description", max_len=DESCRIPTION_MAX) or ""
    if description and len(description) < DESCRIPTION_MIN:
        form.error("description", TOO_SHORT, min=DESCRIPTION_MIN)
    for name_of, allowed in (("category", categories), ("priority", set(PRIORITIES)),
                             ("channel", set(CHANNELS))):
        if form.values.get(name_of) not in allowed:
            form.error(name_of, NOT_A_CHOICE)
    if len(files) > MAX_EVIDENCE:
        form.error("files", TOO_MANY_FILES, max=MAX_EVIDENCE)
    evidence = [] if form.errors else await _keep_files(desk, files, form)
    if form.errors:
        if files and "files" not in form.errors:
            form.error("files", FILES_AGAIN)
        return await _render(request, form, status=400)
    intake = Intake(
        key=form.values.get("key") or uuid.uuid4().hex, name=name, phone=phone, unit=unit,
        category=form.values["category"], description=description,
        channel=form.values["channel"], priority=form.values["priority"], unit_id=unit_id,
        resident=None, evidence=tuple(evidence))
    try:
        async with desk.db.transaction() as session:
            staff = await StaffMembers(session).get(viewer(request).staff_id)
            assert staff is not None  # the guard let an active staff member in
            ticket = await _take(desk, session, staff, intake, resident)
    except TicketError as error:
        log.warning("console: a new complaint was refused: %s", error.code)
        form.error("category" if error.code == "unknown_category" else "phone", NOT_A_CHOICE)
        return await _render(request, form, status=400)
    desk.notifier.wake.set()
    raise web.HTTPSeeOther(str(request.app.router["ticket"].url_for(
        ticket_id=str(ticket.id)).with_query(done="created")))


async def _take(desk: ResidentDesk, session: AsyncSession, staff: Staff, intake: Intake,
                resident: Resident | None) -> Ticket:
    if resident is not None:  # the same row, in this transaction's session
        intake = replace(intake, resident=await Residents(session).get(resident.id))
    ticket, _created = await service(desk, session).take_intake(staff, intake)
    return ticket


async def _resident(session: AsyncSession, form: Posted) -> Resident | None:
    raw = form.values.get("resident_id", "")
    if not raw:
        return None
    resident = await Residents(session).get(int(raw)) if raw.isdigit() else None
    if resident is None:
        form.error("resident_id", NO_SUCH_RESIDENT)
    return resident


async def _unit(session: AsyncSession, form: Posted) -> tuple[int | None, str]:
    typed = form.text("unit", max_len=UNIT_TEXT_MAX) or ""
    found = await Units(session).by_label(typed) if typed else None
    return (found.id, found.label) if found is not None else (None, typed)


async def _keep_files(desk: ResidentDesk, files: list[FileField], form: Posted
                      ) -> list[dict[str, Any]]:
    kept = []
    for upload in files:
        data = await asyncio.to_thread(upload.file.read, MAX_FILE_READ)
        checked = upload_kind(data)
        if isinstance(checked, MediaProblem):
            form.error("files", FILE_PROBLEMS.get(checked, FILE_PROBLEMS[
                MediaProblem.UNSUPPORTED]), name=upload.filename[:80])
            continue
        kind, mime = checked
        try:  # (a picture is kept without its location, as one sent in the chat)
            stored = await asyncio.to_thread(desk.media.store, data)
        except OSError:
            form.error("files", FILE_PROBLEMS[MediaProblem.NOT_STORED],
                       name=upload.filename[:80])
            continue
        kept.append({"kind": kind, "file_id": "",
                     "file_unique_id": f"upload-{stored.sha256[:48]}",
                     "mime_type": mime, "size": stored.size, "sha256": stored.sha256,
                     "local_path": str(stored.path), "received_sha256": stored.received_sha256,
                     "original_path": None if stored.original_path is None
                     else str(stored.original_path)})
    return kept

