"""Erasing a resident's personal data from the console (managers): for a request made by
phone, by letter or at the desk, as `residesk residents forget` does from the shell.

A GET shows who, what goes now and what stays (`TicketService.erasure_summary`, phrased as
the bot's second /forget question); the POST needs the box ticked as well as the CSRF token,
and erases through `TicketService.forget_resident` (by staff: this manager) in one
transaction, so the audit trail and the redrawn cards cannot be skipped. Reached from a
ticket's complainant (then back to that ticket) or from Admin's resident search.
"""

from __future__ import annotations

import logging

import aiohttp_jinja2
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from locales import N_, gettext_for
from storage.models import Resident, Staff
from tickets.erasure import ErasedBy, ErasureSummary
from web.console.access import DESK, Need, need, viewer
from web.console.forms import Posted, read_posted, translated_errors
from web.console.pages import language_of
from web.console.ticket import ERASED, service

log = logging.getLogger("residesk.console")

NOT_CONFIRMED = N_("Please tick the box to confirm. Nothing was erased.")


def _resident_id(request: web.Request) -> int:
    raw = request.match_info["resident_id"]
    if not raw.isdigit() or len(raw) > 12:
        raise web.HTTPNotFound(text="no such resident")
    return int(raw)


def _back_ticket(values: dict[str, str]) -> int | None:
    """The ticket the manager came from (to go back to), if any."""
    raw = values.get("ticket", "")
    return int(raw) if raw.isdigit() and len(raw) <= 12 else None


async def _load(session: AsyncSession, resident_id: int) -> Resident:
    resident = await session.get(Resident, resident_id, populate_existing=True)
    if resident is None:
        raise web.HTTPNotFound(text="no such resident")
    return resident


def masked_phone(phone: str) -> str:
    """Enough of the number to match it with the request (its last 4 digits): the whole
    number is behind "Show phone", where opening it is recorded."""
    return f"•••• {phone[-4:]}" if len(phone) > 4 else ("—" if not phone else "••••")


@need(Need.MANAGER)
async def erase_page(request: web.Request) -> web.Response:
    """GET /console/residents/{id}/erase: the confirmation."""
    back = _back_ticket(dict(request.query))
    done = request.query.get("done") == "erased"
    return await _render(request, _resident_id(request), Posted(
        {"ticket": str(back) if back else ""}), done=done)


async def _render(request: web.Request, resident_id: int, posted: Posted, *,
                  done: bool = False, status: int = 200) -> web.Response:
    desk = request.app[DESK]
    _ = gettext_for(language_of(request))
    async with desk.db.reading() as session:
        resident = await _load(session, resident_id)
        summary: ErasureSummary | None = (None if resident.erased_at is not None
                                          else await service(desk, session)
                                          .erasure_summary(resident))
        return aiohttp_jinja2.render_template("erase.html", request, {
            "resident": resident, "phone": masked_phone(resident.phone),
            "summary": summary, "back": _back_ticket(posted.values),
            "errors": translated_errors(posted, _),
            "done": _(ERASED) if done else None,
        }, status=status)


@need(Need.MANAGER)
async def erase(request: web.Request) -> web.Response:
    """POST /console/residents/{id}/erase: erase now, if the box is ticked."""
    resident_id = _resident_id(request)
    posted = read_posted(await request.post())
    if posted.values.get("confirm") != "yes":
        posted.error("confirm", NOT_CONFIRMED)
        return await _render(request, resident_id, posted, status=400)
    desk = request.app[DESK]
    async with desk.db.transaction() as session:
        resident = await _load(session, resident_id)
        erased_now = resident.erased_at is None  # (a second press, e.g. another tab: done)
        if erased_now:
            staff = await session.get(Staff, viewer(request).staff_id)
            await service(desk, session).forget_resident(resident, ErasedBy.STAFF, staff)
    if erased_now:
        log.info("console: staff %s erased resident %s", viewer(request).staff_id,
                 resident_id)
        desk.notifier.wake.set()  # the staff group's cards are redrawn without the name
    back = _back_ticket(posted.values)
    router = request.app.router
    target = (router["ticket"].url_for(ticket_id=str(back)) if back is not None
              else router["erase"].url_for(resident_id=str(resident_id)))
    raise web.HTTPSeeOther(str(target.with_query(done="erased")))
