"""One ticket: everything the card shows, its whole timeline, its evidence and records, and
the card's actions as forms.

A resident's phone number is behind "Show phone", and each reveal, like each opening of an
evidence file, is recorded for the audit (`PersonalDataViews`: managers read it here and on
the Admin page). Where the complainant is hidden (`access.complainant_hidden`), so are
their phone and their files.

An action goes through `tickets.TicketService` with the version the page was drawn at: if
the ticket changed meanwhile (in the chat, in another tab), nothing is written and the page
says so, showing the ticket as it is now with what was typed still in the form. A change
made here is written with its notifications in one transaction, like a press on the card,
so the resident hears of it and the Telegram card is redrawn by the notifier.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp_jinja2
from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload, raiseload
from sqlalchemy.orm.exc import StaleDataError

from bot.app import ResidentDesk
from conversations.notices import CARD_LABELS, category_name
from locales import N_, Gettext, gettext_for
from locales.dates import format_duration
from storage.incidents import Incidents
from storage.models import Attachment, Resident, Staff, Ticket, utcnow
from storage.queue import late_by
from storage.repositories import Categories, PersonalDataViews, StaffMembers
from tickets import incidents
from tickets.inputs import Actor, TicketError
from tickets.lifecycle import OPEN, Action, Role, Status, allowed
from tickets.offers import offered
from tickets.policy import CAUSE_LABELS, RESOLUTION_LABELS, SEVERITY_LABELS
from tickets.questions import answers_of
from tickets.service import TicketService
from web.console.access import DESK, Need, complainant_hidden, need, viewer
from web.console.forms import (
    ACTION_OF,
    CHOICES,
    DONE,
    FORM_OF,
    NOT_A_CHOICE,
    TEXT_PROMPTS,
    Form,
    Posted,
    agreement,
    chosen_id,
    contact,
    incident_scope,
    investigation,
    read_posted,
    resolution,
    translated_errors,
)
from web.console.pages import language_of, without_icon
from web.console.queue import category_title
from web.console.replies import offers
from web.console.timeline import event_text

log = logging.getLogger("residesk.console")

ERRORS = {  # TicketError codes a form can meet, in words
    "party_not_in_bot": N_("Nobody of that flat uses the bot (or they blocked it). Nothing was "
                           "sent: reach them by a visit or a call."),
    "same_party": N_("That is the complainant's own flat. Nothing was saved."),
    "no_party": N_("Record the other party first."),
    "changed": N_("This ticket changed meanwhile; nothing was saved. Here it is as it is now."),
    "already_assigned": N_("The ticket is already assigned to this person."),
    "no_resident": N_("This complaint has no resident in Telegram to write to."),
    "not_staff": N_("This person is no longer on the staff list."),
    "already_incident": N_("This ticket leads an incident already."),
    "not_on_list": N_("This ticket's flat is not on the office's unit list, so its building is "
                      "not known: mark the incident for the whole property. Nothing was saved."),
    "bad_floors": N_("Those floors could not be read (write them as 3-7, or 3, 5, 9). Nothing "
                     "was saved."),
    "bad_units": N_("Those flats are not all on the office's unit list (write them as 0301, "
                    "0302, or 2-0301). Nothing was saved."),
    "already_linked": N_("This ticket is linked to an incident already."),
    "is_lead": N_("This ticket leads an incident itself; it cannot be linked to one."),
    "incident_closed": N_("That incident has closed meanwhile. Nothing was changed."),
    "not_linked": N_("This ticket is not linked to an incident any more."),
}
# the card's buttons, and the one under a linked report's post in the staff group
LABELS = CARD_LABELS | {Action.UNLINK_INCIDENT: N_("↩️ A ticket of its own")}
CREATED = N_("The complaint is registered as No. %(number)s. Tell the complainant this "
             "number.")
NOT_NOW = N_("Not possible in the ticket's status now.")
MANAGERS_ONLY = N_("Only a manager can do this. You can escalate the ticket instead.")
CORRECT_THE_FORM = N_("Please correct the form.")
ERASED = N_("Personal data erased.")  # (after web.console.erasure sent the manager back)
# what a staff member opened, in the audit (personal_data_views.what)
VIEWED = {"phone": N_("phone number"), "file": N_("evidence file")}
# one audit row per person, ticket and kind within this: a page of photos loads them all at
# once, and the browser keeps a file this long (Cache-Control below)
VIEW_WINDOW = timedelta(hours=1)
AUDIT_SHOWN = 50


class _Undo(Exception):
    """Leaves a transaction without writing anything (a refused form)."""


@dataclass(frozen=True)
class Refused:
    """A form that was not carried out, and why (shown above the ticket)."""

    form: Form
    message: str
    posted: Posted | None = None
    status: int = 409


def service(desk: ResidentDesk, session: AsyncSession) -> TicketService:
    return TicketService(session, staff_chat_id=desk.settings.office.staff_chat_id,
                         timing=desk.engine.office.timing,
                         phone_region=desk.engine.office.phone_region)


def _ticket_id(request: web.Request) -> int:
    raw = request.match_info["ticket_id"]
    if not raw.isdigit() or len(raw) > 12:
        raise web.HTTPNotFound(text="no such ticket")
    return int(raw)


async def _load(session: AsyncSession, ticket_id: int) -> Ticket:
    ticket = await session.get(Ticket, ticket_id, populate_existing=True)
    if ticket is None:
        raise web.HTTPNotFound(text="no such ticket")
    return ticket


@need(Need.STAFF)
async def ticket_page(request: web.Request) -> web.Response:
    done = request.query.get("done", "")
    # a reply template picked for a form (?form=reject&template=3): that form, filled
    raw_form, raw_template = request.query.get("form", ""), request.query.get("template", "")
    picked = ((Form(raw_form), int(raw_template))
              if raw_form in Form.__members__.values() and raw_template.isdigit()
              and len(raw_template) <= 12 else None)
    return await _render(request, _ticket_id(request),
                         done=Form(done) if done in Form.__members__.values() else None,
                         created=done == "created", erased=done == "erased", picked=picked)


async def _render(request: web.Request, ticket_id: int, *, done: Form | None = None,
                  refused: Refused | None = None, created: bool = False,
                  erased: bool = False, phone_shown: bool = False,
                  picked: tuple[Form, int] | None = None) -> web.Response:
    desk = request.app[DESK]
    me = viewer(request)
    lang = language_of(request)
    _ = gettext_for(lang)
    async with desk.db.reading() as session:
        ticket = await _load(session, ticket_id)
        staff = {s.id: s for s in await StaffMembers(session).everyone()}
        category = await Categories(session).by_code(ticket.category_code)
        role = Role.MANAGER if me.is_manager else Role.AGENT
        actions = console_actions(ticket, role)
        earlier = await _earlier(session, ticket)
        late = late_by(ticket, utcnow())
        audit = (await PersonalDataViews(session).latest(AUDIT_SHOWN, ticket_id=ticket.id)
                 if me.is_manager else [])
        forms = [FORM_OF[a] for a in actions]
        reply_offers = await offers(session, ticket, forms, category,
                                    default_language=desk.settings.office.default_language,
                                    complainant_hidden=complainant_hidden(request, ticket))
        values: dict[str, str] = refused.posted.values if refused and refused.posted else {}
        open_form = refused.form if refused else None
        if picked is not None and refused is None:
            form, template_id = picked
            offer = next((o for o in reply_offers.get(form, []) if o.id == template_id), None)
            if offer is not None:  # (one no longer offered: the form as it was)
                values, open_form = {"text": offer.text}, form
        context: dict[str, Any] = {
            "ticket": ticket,
            "category": category_title(category, lang) if category else ticket.category_code,
            "complainant_hidden": complainant_hidden(request, ticket),
            "details": desk.engine.office.questions.lines(ticket.category_code,
                                                          answers_of(ticket), lang, _),
            "events": sorted(ticket.events, key=lambda e: (e.created_at, e.id)),
            "actor_name": lambda event: _actor_name(
                event.actor_type, event.actor_id, staff,
                None if complainant_hidden(request, ticket) else ticket.resident),
            "attachments": list(ticket.attachments),
            "forms": forms, "reply_offers": reply_offers,
            "picked_template": picked[1] if picked else None,
            "Form": Form,
            "text_prompts": TEXT_PROMPTS, "choices": CHOICES,
            "assignees": [s for s in staff.values() if s.active],
            "severity_labels": SEVERITY_LABELS, "cause_labels": CAUSE_LABELS,
            "resolution_labels": RESOLUTION_LABELS,
            "done": _(DONE[done]) if done else (_(CREATED) % {"number": ticket.number}
                                                 if created else
                                                 _(ERASED) if erased else None),
            "refused": refused,
            "refused_message": _(refused.message) if refused else None,
            "values": values,
            "errors": (translated_errors(refused.posted, _)
                       if refused and refused.posted else {}),
            "open_form": open_form,
            "status": Status(ticket.status), "open_statuses": OPEN,
            "earlier": earlier,
            "late": _("Overdue: %(time)s late") % {"time": format_duration(late, lang)}
            if late else None,
            "action_labels": {FORM_OF[a]: without_icon(_(LABELS[a])) for a in FORM_OF},
            "event_text": lambda event: event_text(event, _),
            "phone_shown": phone_shown,
            "audit": audit, "viewed_labels": VIEWED,
            "incident": await incident_of(session, ticket, _),
            "open_incidents": (await _open_incidents(desk, session, ticket, _)
                               if Form.LINK in forms else []),
        }
        return aiohttp_jinja2.render_template("ticket.html", request, context,
                                              status=refused.status if refused else 200)


def console_actions(ticket: Ticket, role: Role) -> list[Action]:
    """The actions the ticket's page has forms for: the card's, and a linked report's unlink
    (under its post in the staff group)."""
    actions = [a for a in offered(ticket, role) if a in FORM_OF]
    if ticket.incident_id is not None and allowed(Action.UNLINK_INCIDENT, ticket.status, role):
        actions.append(Action.UNLINK_INCIDENT)
    return actions


@dataclass(frozen=True)
class IncidentView:
    """What the ticket's page says of its incident: the one it leads, or the one it is
    linked to (by its lead)."""

    id: int
    leads: bool
    lead_number: str
    lead_id: int
    scope: str
    reports: int = 0
    residents: int = 0
    closed: bool = False


async def incident_of(session: AsyncSession, ticket: Ticket, _: Gettext) -> IncidentView | None:
    if ticket.incident is not None:
        incident = ticket.incident
        lead = await session.get(Ticket, incident.lead_ticket_id)
        if lead is None:
            return None
    else:
        led = await Incidents(session).led_by(ticket.id)
        if led is None:
            return None
        incident, lead = led, ticket
    reports, residents = await Incidents(session).counts(incident.id, lead)
    return IncidentView(id=incident.id, leads=lead.id == ticket.id, lead_number=lead.number or "",
                        lead_id=lead.id, scope=await incidents.scope_words(session, incident, _),
                        reports=reports, residents=residents,
                        closed=incident.closed_at is not None)


async def _open_incidents(desk: ResidentDesk, session: AsyncSession, ticket: Ticket,
                          _: Gettext) -> list[tuple[int, str]]:
    """(id, label) of each incident the ticket may be linked to, its category's first."""
    found = await incidents.open_to_link(service(desk, session), ticket)
    return [(o.incident.id, " · ".join((
        _("No. %(number)s") % {"number": o.lead.number},
        category_name(_, o.incident.category_code),
        await incidents.scope_words(session, o.incident, _)))) for o in found]


@dataclass(frozen=True)
class Earlier:
    """The earlier complaints of the same unit and category (the repeat check's finding)."""

    days: int
    tickets: list[tuple[str, int]]  # (number, id)


async def _earlier(session: AsyncSession, ticket: Ticket) -> Earlier | None:
    repeat = next((e for e in ticket.events if e.kind == "repeat" and e.details), None)
    if repeat is None or repeat.details is None:
        return None
    numbers = [str(n) for n in repeat.details.get("earlier", [])]
    found = {number: ticket_id for number, ticket_id in await session.execute(
        select(Ticket.number, Ticket.id).where(Ticket.number.in_(numbers)))}
    return Earlier(int(repeat.details.get("days", 0)),
                   [(n, found[n]) for n in numbers if n in found])


def _actor_name(kind: str, actor_id: int | None, staff: dict[int, Staff],
                resident: Resident | None) -> str:
    if kind == "staff" and actor_id in staff:
        return staff[actor_id].name
    if kind == "resident":
        return resident.name if resident and resident.id == actor_id else "resident"
    return kind


@need(Need.STAFF)
async def act(request: web.Request) -> web.Response:
    """POST /console/tickets/{id}/{form}: one action, as a press of the card's button."""
    raw_form = request.match_info["form"]
    if raw_form not in Form.__members__.values():
        raise web.HTTPNotFound(text="no such action")
    form = Form(raw_form)
    ticket_id = _ticket_id(request)
    posted = read_posted(await request.post())
    desk = request.app[DESK]
    me = viewer(request)
    version_raw = posted.values.get("version", "")
    version = int(version_raw) if version_raw.isdigit() else -1
    try:
        async with desk.db.transaction() as session:
            ticket = await _load(session, ticket_id)
            staff = await StaffMembers(session).get(me.staff_id)
            if staff is None or not staff.active:
                raise web.HTTPUnauthorized()
            refused = await _carry_out(desk, session, form, ticket, staff, posted, version)
            if refused is not None:
                raise _Undo  # nothing half-saved: the transaction rolls back
    except _Undo:
        pass
    except StaleDataError:  # changed between our read and our write (a press in the chat)
        refused = Refused(form, ERRORS["changed"], posted)
    if refused is not None:  # drawn after the transaction: the ticket as it is now
        return await _render(request, ticket_id, refused=refused)
    desk.notifier.wake.set()
    raise web.HTTPSeeOther(
        str(request.app.router["ticket"].url_for(ticket_id=str(ticket_id))
            .with_query(done=form.value)))


async def _carry_out(desk: ResidentDesk, session: AsyncSession, form: Form, ticket: Ticket,
                     staff: Staff, posted: Posted, version: int) -> Refused | None:
    if version != ticket.version:
        return Refused(form, ERRORS["changed"], posted)
    action = ACTION_OF[form]
    role = Role(staff.role)
    if action not in console_actions(ticket, role):
        if action in console_actions(ticket, Role.MANAGER) and role != Role.MANAGER:
            return Refused(form, MANAGERS_ONLY, posted, status=403)
        return Refused(form, NOT_NOW, posted)
    tickets = service(desk, session)
    timezone = desk.engine.office.timezone
    try:
        if form == Form.ACKNOWLEDGE:
            await tickets.acknowledge(ticket, staff, version)
        elif form == Form.TAKE:
            await tickets.assign(ticket, staff, staff, version)
        elif form == Form.ASSIGN:
            raw = posted.values.get("assignee", "")
            assignee = await StaffMembers(session).get(int(raw)) if raw.isdigit() else None
            if assignee is None:
                posted.error("assignee", NOT_A_CHOICE)
                return Refused(form, CORRECT_THE_FORM, posted, status=400)
            await tickets.assign(ticket, staff, assignee, version)
        elif form == Form.INVESTIGATE:
            await tickets.start_investigation(ticket, staff, version)
        elif form == Form.FINDINGS:
            record = investigation(posted, timezone, staff.name)
            if record is None:
                return Refused(form, CORRECT_THE_FORM, posted, status=400)
            await tickets.record_investigation(ticket, staff, record, version)
        elif form == Form.RESOLVE:
            done = resolution(posted, timezone)
            if done is None:
                return Refused(form, CORRECT_THE_FORM, posted, status=400)
            if ticket.status == Status.INVESTIGATING:  # as the card: resolving, then resolved
                await tickets.start_resolving(ticket, staff, version)
                version = ticket.version
                await session.flush()
            await tickets.resolve(ticket, staff, done, None)
        elif form == Form.PARTY:
            reached = contact(posted)
            if reached is None:
                return Refused(form, CORRECT_THE_FORM, posted, status=400)
            await tickets.contact_party(ticket, staff, reached, version)
        elif form == Form.AGREEMENT:
            agreed = agreement(posted)
            if agreed is None:
                return Refused(form, CORRECT_THE_FORM, posted, status=400)
            await tickets.record_agreement(ticket, staff, *agreed, version)
        elif form == Form.INCIDENT:
            chosen = incident_scope(posted)
            if chosen is None:
                return Refused(form, CORRECT_THE_FORM, posted, status=400)
            # in the staff group's language: the words go into its thread
            scope, words = await incidents.scope_for(
                session, ticket, *chosen, gettext_for(desk.settings.office.default_language))
            await tickets.declare_incident(ticket, staff, scope, words, version)
        elif form == Form.LINK:
            incident_id = chosen_id(posted, "incident")
            if incident_id is None:
                return Refused(form, CORRECT_THE_FORM, posted, status=400)
            await incidents.link_by_hand(tickets, ticket, incident_id, staff, version)
        elif form == Form.UNLINK:
            await tickets.unlink_from_incident(ticket, staff)
        elif form == Form.ESCALATE:
            reason = posted.text("text", required=False)
            if posted.errors:
                return Refused(form, CORRECT_THE_FORM, posted, status=400)
            await tickets.escalate(ticket, Actor.of_staff(staff), reason, version)
        else:
            text = posted.text("text")
            if text is None:
                return Refused(form, CORRECT_THE_FORM, posted, status=400)
            if form == Form.MESSAGE:
                await tickets.message_resident(ticket, staff, text, version=version)
            elif form == Form.REQUEST_INFO:
                await tickets.request_information(ticket, staff, text, version)
            elif form == Form.REJECT:
                await tickets.reject(ticket, staff, text, version)
            else:
                await tickets.add_note(ticket, staff, text, version)
    except TicketError as error:
        return Refused(form, ERRORS.get(error.code, NOT_NOW), posted)
    log.info("console: staff %s did %s on ticket %s", staff.id, action.value, ticket.id)
    return None


@need(Need.STAFF)
async def show_phone(request: web.Request) -> web.Response:
    """POST /console/tickets/{id}/phone: the page again, with the phone number shown, and the
    reveal recorded (a POST with the CSRF token: a link or a prefetch cannot do it)."""
    ticket_id = _ticket_id(request)
    desk = request.app[DESK]
    me = viewer(request)
    async with desk.db.transaction() as session:
        ticket = await _load(session, ticket_id)
        if complainant_hidden(request, ticket):  # a dispute: the agent may not know who
            raise web.HTTPForbidden(text="managers only")
        if ticket.phone:
            await PersonalDataViews(session).record(me.staff_id, ticket.resident_id, ticket.id,
                                                    "phone", utcnow(), window=VIEW_WINDOW)
    log.info("console: staff %s opened the phone number on ticket %s", me.staff_id, ticket_id)
    return await _render(request, ticket_id, phone_shown=True)


@need(Need.STAFF)
async def evidence_file(request: web.Request) -> web.StreamResponse:
    """A ticket's file, to signed-in staff only; from the copy kept when it arrived. Each
    opening is recorded for the audit (a photo shown on the ticket's page is opened too)."""
    raw = request.match_info["attachment_id"]
    if not raw.isdigit() or len(raw) > 12:
        raise web.HTTPNotFound()
    desk = request.app[DESK]
    async with desk.db.reading() as session:
        attachment = await session.get(Attachment, int(raw))
        # (the ticket's row and category only: a page of photos asks once per photo)
        ticket = None if attachment is None else await session.scalar(
            select(Ticket).where(Ticket.id == attachment.ticket_id)
            .options(raiseload("*"), joinedload(Ticket.category)))
        resident_id = None if ticket is None else ticket.resident_id
        # a dispute's evidence says who complained as much as their name does
        hidden = ticket is not None and complainant_hidden(request, ticket)
    if attachment is None or not attachment.local_path:
        raise web.HTTPNotFound(text="no such file")
    if hidden:
        raise web.HTTPForbidden(text="managers only")
    path = Path(attachment.local_path)
    if not await asyncio.to_thread(path.is_file):
        raise web.HTTPNotFound(text="the file is no longer kept")
    async with desk.db.transaction() as session:  # recorded before a byte is sent
        await PersonalDataViews(session).record(viewer(request).staff_id, resident_id,
                                                attachment.ticket_id, "file", utcnow(),
                                                window=VIEW_WINDOW)
    inline = attachment.kind in ("photo", "video", "voice", "audio")
    response = web.FileResponse(path, headers={
        "Content-Type": attachment.mime_type or _default_type(attachment.kind),
        "Content-Disposition": ("inline" if inline else
                                f'attachment; filename="{path.name}"'),
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, max-age=3600",
    })
    return response


def _default_type(kind: str) -> str:
    return {"photo": "image/jpeg", "voice": "audio/ogg", "video": "video/mp4",
            "audio": "audio/mpeg"}.get(
        kind, "application/octet-stream")

