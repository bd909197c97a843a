"""Admin (managers): the staff list, the units, the categories, and the SLA policy in force.

- Staff: add (by Telegram user id), change the role, remove. Removing someone ends their
  console sessions at once and their old card buttons stop working (`bot.cli` does the same
  from the shell). Nobody removes or demotes themselves here, so an office always keeps the
  manager who is looking.
- Units: a CSV import (`building,unit[,floor]`), checked whole first: any bad line is named
  with its number and nothing is imported; the import itself keeps the units already known.
- Categories: a title per language, enabled or disabled (a disabled one is no longer offered
  to residents; its tickets stay).
- Reply templates: listed here, each added or changed on its own page (`web.console.replies`).
- The SLA policy is read-only: it comes from SLA_FILE.
- Personal data opened: who opened a resident's phone number or files (`web.console.ticket`).
- Erasing a resident's personal data: found here by name or phone, for a request that came
  by phone or letter (`web.console.erasure` asks for the confirmation and erases).
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import aiohttp_jinja2
from aiohttp import web
from aiohttp.web_request import FileField
from sqlalchemy import func, select

from bot.cli import add_staff, remove_staff
from locales import N_, SUPPORTED, gettext_for
from storage.models import Building, Unit
from storage.repositories import (
    Categories,
    PersonalDataViews,
    ReplyTemplates,
    Residents,
    StaffMembers,
    Units,
)
from web.console.access import DESK, Need, need, viewer
from web.console.forms import NOT_A_CHOICE, REQUIRED, TOO_LONG
from web.console.pages import language_of
from web.console.replies import PURPOSE_LABELS
from web.console.ticket import AUDIT_SHOWN, VIEWED

MAX_CSV_BYTES = 2 * 1024 * 1024
UNITS_SHOWN = 200
ROLES = ("agent", "manager")

DONE = {
    "staff_added": N_("The staff member is on the list. They sign in with /console."),
    "staff_changed": N_("The role is changed."),
    "staff_removed": N_("Removed. Their console sessions have ended."),
    "units_imported": N_("Units imported: %(units)d new, in %(buildings)d new buildings; "
                         "%(skipped)d already known."),
    "category_saved": N_("The category is saved."),
    "template_saved": N_("The reply template is saved."),
}
NOT_A_USER_ID = N_("Please give the person's Telegram user id (a number; they can see it "
                   "with @userinfobot).")
NOT_YOURSELF = N_("You cannot remove yourself or take away your own manager role.")
CSV_PROBLEM = N_("Line %(line)d: %(problem)s")
NOTHING_IMPORTED = N_("Nothing was imported. Please correct the file and import it again.")
NO_FILE = N_("Please choose a CSV file.")
BAD_CSV_HEADER = N_("The first line must name the columns: building,unit (and floor if "
                    "you have it).")
CSV_TOO_BIG = N_("The file is over 2 MB.")
NOT_UTF8 = N_("The file is not UTF-8 text (save it from your spreadsheet as “CSV UTF-8”).")
LINE_NO_BUILDING = N_("the building is missing")
LINE_NO_UNIT = N_("the unit is missing")
LINE_TOO_LONG = N_("a value is too long (building 64, unit 32, floor 16 characters)")
LINE_TWICE = N_("this unit is already on line %(first)d")


@dataclass
class Problems:
    """What is wrong with a posted admin form (messages untranslated, with their values)."""

    form: str = ""
    messages: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    values: dict[str, str] = field(default_factory=dict)

    def add(self, message: str, **args: Any) -> None:
        self.messages.append((message, args))

    def texts(self, gettext: Callable[[str], str]) -> list[str]:
        """The messages in the reader's language (a line's problem is translated too)."""
        shown = []
        for message, args in self.messages:
            if "problem" in args:
                args = {**args, "problem": gettext(args["problem"]) % args["problem_args"]}
            shown.append(gettext(message) % args)
        return shown


@need(Need.MANAGER)
async def admin_page(request: web.Request) -> web.Response:
    done = request.query.get("done", "")
    args = {k: int(v) for k, v in request.query.items()
            if k in ("units", "buildings", "skipped") and v.isdigit()}
    return await _render(request, done=(done, args) if done in DONE else None)


async def _render(request: web.Request, *, done: tuple[str, dict[str, int]] | None = None,
                  problems: Problems | None = None, status: int = 200) -> web.Response:
    desk = request.app[DESK]
    lang = language_of(request)
    _ = gettext_for(lang)
    async with desk.db.reading() as session:
        staff = list(await StaffMembers(session).everyone())
        categories = list(await Categories(session).all())
        reply_templates = list(await ReplyTemplates(session).all())
        units_total = await session.scalar(select(func.count(Unit.id))) or 0
        per_building = (await session.execute(
            select(Building.name, func.count(Unit.id)).join(Unit.building)
            .group_by(Building.name).order_by(Building.name))).all()
        units = await Units(session).labels(UNITS_SHOWN)
        audit = await PersonalDataViews(session).latest(AUDIT_SHOWN)
        who = request.query.get("who", "").strip()[:64]
        found = list(await Residents(session).search(who)) if who else []
    sla = desk.engine.office.timing.sla
    today = datetime.now(sla.calendar.timezone).date()
    return aiohttp_jinja2.render_template("admin.html", request, {
        "staff": staff, "roles": ROLES, "categories": categories, "languages_codes": SUPPORTED,
        "reply_templates": reply_templates, "purpose_labels": PURPOSE_LABELS,
        "units_total": units_total, "per_building": per_building, "units": units,
        "units_shown": UNITS_SHOWN,
        "audit": audit, "audit_shown": AUDIT_SHOWN, "viewed_labels": VIEWED,
        "who": who, "found": found,
        "sla_lines": [*sla.describe(today), *sla.warnings(today)],
        "done": _(DONE[done[0]]) % done[1] if done else None,
        "problems": problems,
        "problem_texts": problems.texts(_) if problems else [],
    }, status=status)


def _back(request: web.Request, done: str, **args: int) -> web.HTTPSeeOther:
    query = {"done": done, **{k: str(v) for k, v in args.items()}}
    return web.HTTPSeeOther(str(request.app.router["admin"].url_for().with_query(query))
                            + f"#{done.split('_')[0]}")


# --- staff -----------------------------------------------------------------------------------

@need(Need.MANAGER)
async def staff_add(request: web.Request) -> web.Response:
    form = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
    problems = Problems("staff_add", values=form)
    raw_id = form.get("user_id", "").strip()
    name = form.get("name", "").replace("\x00", "").strip()
    role = form.get("role", "")
    if not raw_id.isdigit() or not 0 < int(raw_id) < 2**53:
        problems.add(NOT_A_USER_ID)
    if not name:
        problems.add(REQUIRED)
    elif len(name) > 128:
        problems.add(TOO_LONG, max=128)
    if role not in ROLES:
        problems.add(NOT_A_CHOICE)
    if problems.messages:
        return await _render(request, problems=problems, status=400)
    desk = request.app[DESK]
    async with desk.db.transaction() as session:
        await add_staff(session, int(raw_id), name, role)
    raise _back(request, "staff_added")


@need(Need.MANAGER)
async def staff_change(request: web.Request) -> web.Response:
    form = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
    raw = request.match_info["staff_id"]
    desk = request.app[DESK]
    me = viewer(request)
    problems = Problems("staff_change", values=form)
    async with desk.db.transaction() as session:
        staff = await StaffMembers(session).get(int(raw)) if raw.isdigit() else None
        if staff is None:
            raise web.HTTPNotFound(text="no such staff member")
        removing = form.get("do") == "remove"
        role = form.get("role", staff.role)
        if staff.id == me.staff_id and (removing or role != "manager"):
            problems.add(NOT_YOURSELF)
        elif not removing and role not in ROLES:
            problems.add(NOT_A_CHOICE)
        elif removing:
            await remove_staff(session, staff.telegram_user_id)
        else:
            await add_staff(session, staff.telegram_user_id, staff.name, role)
    if problems.messages:
        return await _render(request, problems=problems, status=400)
    raise _back(request, "staff_removed" if removing else "staff_changed")


# --- units -----------------------------------------------------------------------------------

def check_units_csv(text: str) -> tuple[list[dict[str, str]], Problems]:
    """The rows of a units CSV, or the problem of each bad line (line numbers as a
    spreadsheet shows them: the header is line 1)."""
    problems = Problems("units")
    reader = csv.DictReader(text.splitlines())
    columns = {(f or "").strip().lower() for f in reader.fieldnames or ()}
    if not {"building", "unit"} <= columns:
        problems.add(BAD_CSV_HEADER)
        return [], problems
    rows: list[dict[str, str]] = []
    seen: dict[tuple[str, str], int] = {}
    for line, raw in enumerate(reader, start=2):
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items()
               if isinstance(v, str)}
        building, unit, floor = row.get("building", ""), row.get("unit", ""), row.get("floor", "")
        if not building and not unit and not floor:
            continue  # an empty line at the end of a spreadsheet's file
        problem: tuple[str, dict[str, Any]] | None = None
        if not building:
            problem = (LINE_NO_BUILDING, {})
        elif not unit:
            problem = (LINE_NO_UNIT, {})
        elif len(building) > 64 or len(unit) > 32 or len(floor) > 16:
            problem = (LINE_TOO_LONG, {})
        elif (building, unit.upper()) in seen:
            problem = (LINE_TWICE, {"first": seen[(building, unit.upper())]})
        if problem is not None:
            problems.add(CSV_PROBLEM, line=line, problem=problem[0], problem_args=problem[1])
            continue
        seen[(building, unit.upper())] = line
        rows.append({"building": building, "unit": unit, "floor": floor})
    return rows, problems


@need(Need.MANAGER)
async def units_import(request: web.Request) -> web.Response:
    posted = await request.post()
    upload = posted.get("file")
    problems = Problems("units")
    text = ""
    if not isinstance(upload, FileField) or not upload.filename:
        problems.add(NO_FILE)
    else:
        data = upload.file.read(MAX_CSV_BYTES + 1)
        if len(data) > MAX_CSV_BYTES:
            problems.add(CSV_TOO_BIG)
        else:
            try:
                text = data.decode("utf-8-sig")
            except UnicodeDecodeError:
                problems.add(NOT_UTF8)
    rows: list[dict[str, str]] = []
    if not problems.messages:
        rows, problems = check_units_csv(text)
    if problems.messages:
        problems.add(NOTHING_IMPORTED)
        return await _render(request, problems=problems, status=400)
    desk = request.app[DESK]
    async with desk.db.transaction() as session:
        result = await Units(session).import_rows(rows)
    raise _back(request, "units_imported", units=result.units, buildings=result.buildings,
                skipped=result.skipped)


# --- categories ------------------------------------------------------------------------------

@need(Need.MANAGER)
async def category_save(request: web.Request) -> web.Response:
    form = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
    code = request.match_info["code"]
    problems = Problems("category", values=form)
    titles: dict[str, str] = {}
    for lang in SUPPORTED:
        title = form.get(f"title_{lang}", "").replace("\x00", "").strip()
        if len(title) > 64:
            problems.add(TOO_LONG, max=64)
        elif title:
            titles[lang] = title
    if problems.messages:
        return await _render(request, problems=problems, status=400)
    desk = request.app[DESK]
    async with desk.db.transaction() as session:
        categories = Categories(session)
        category = await categories.by_code(code)
        if category is None:
            raise web.HTTPNotFound(text="no such category")
        category.titles = titles  # an emptied title falls back to the built-in one
        category.active = form.get("active") == "1"
    raise _back(request, "category_saved")
