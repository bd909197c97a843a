"""Who is asking: the session cookie → the signed-in staff member (`Viewer`), the CSRF check of
every state-changing request, and the rule of who may open what.

A page that needs someone signed in sends a browser (HTML) to the sign-in page and a script
(fetch, JSON) a 401. An agent on a managers' page gets 403. Every POST but the sign-in ones
carries the session's CSRF token (form field `csrf` or header `X-CSRF-Token`).
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Final

from aiohttp import web

from bot.app import ResidentDesk
from bot.settings import ConsoleSettings
from storage.models import Ticket, utcnow
from storage.sign_in import ConsoleSessions, NewSession
from tickets.offers import is_dispute

log = logging.getLogger("residesk.console")

COOKIE: Final = "residesk_console"
CSRF_FIELD: Final = "csrf"
CSRF_HEADER: Final = "X-CSRF-Token"

DESK: web.AppKey[ResidentDesk] = web.AppKey("console_desk", ResidentDesk)
SETTINGS: web.AppKey[ConsoleSettings] = web.AppKey("console_settings", ConsoleSettings)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Need(StrEnum):
    """Who may open a route."""

    ANYONE = "anyone"  # the sign-in pages, the static files
    STAFF = "staff"
    MANAGER = "manager"


@dataclass(frozen=True)
class Viewer:
    """The staff member behind a request, as of this request."""

    staff_id: int
    name: str
    is_manager: bool
    language: str | None
    csrf_token: str
    token: str  # the cookie's value (to sign out)


VIEWER: web.RequestKey[Viewer] = web.RequestKey("viewer", Viewer)


def viewer(request: web.Request) -> Viewer:
    found: Viewer | None = request.get(VIEWER)
    if found is None:  # a route declared for staff always has one: see `guard`
        raise web.HTTPUnauthorized()
    return found


def need(level: Need) -> Callable[[Handler], Handler]:
    """Declare who may open this route (read by the `guard` middleware)."""
    def mark(handler: Handler) -> Handler:
        handler.need = level  # type: ignore[attr-defined]
        return handler
    return mark


def reads_html(request: web.Request) -> bool:
    """A person's browser (a script asks for JSON or anything)."""
    return "text/html" in request.headers.get("Accept", "text/html")


def wants_html(request: web.Request) -> bool:
    """A page a person opened (sent to sign in when signed out, not refused)."""
    return request.method == "GET" and reads_html(request)


@web.middleware
async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    static = isinstance(request.match_info.route.resource, web.StaticResource)
    # the style sheet and script are the same for everyone; any other route says who may
    # open it, and one that forgot is for staff
    level: Need = Need.ANYONE if static else getattr(handler, "need", Need.STAFF)
    token = request.cookies.get(COOKIE, "")
    if token and (signed_in := await _session_viewer(request.app[DESK], token)) is not None:
        request[VIEWER] = signed_in
    if level == Need.ANYONE:
        return await handler(request)
    found: Viewer | None = request.get(VIEWER)
    if found is None:
        if wants_html(request):
            raise web.HTTPSeeOther(request.app.router["sign_in"].url_for()
                                   .with_query(next=request.path_qs))
        raise web.HTTPUnauthorized(text="not signed in")
    if request.method not in ("GET", "HEAD") and not _csrf_ok(found,
                                                              await _posted_csrf(request)):
        log.warning("console: %s %s refused: no or wrong CSRF token", request.method,
                    request.path)
        raise web.HTTPForbidden(text="the form is outdated; reload the page")
    if level == Need.MANAGER and not found.is_manager:
        raise web.HTTPForbidden(text="managers only")
    return await handler(request)


async def _posted_csrf(request: web.Request) -> str:
    header = request.headers.get(CSRF_HEADER)
    if header is not None:
        return header
    if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        value = (await request.post()).get(CSRF_FIELD)
        return value if isinstance(value, str) else ""
    return ""


def _csrf_ok(found: Viewer, sent: str) -> bool:
    return bool(sent) and hmac.compare_digest(sent.encode(), found.csrf_token.encode())


async def _session_viewer(desk: ResidentDesk, token: str) -> Viewer | None:
    async with desk.db.reading() as session:
        row = await ConsoleSessions(session).current(token, utcnow())
        if row is None:
            return None
        staff = row.staff
        return Viewer(staff.id, staff.name, staff.is_manager, staff.language, row.csrf_token,
                      token)


def set_session_cookie(response: web.StreamResponse, opened: NewSession,
                       settings: ConsoleSettings) -> None:
    response.set_cookie(COOKIE, opened.token, path="/console/", httponly=True, samesite="Lax",
                        secure=settings.secure,
                        max_age=int(timedelta(hours=settings.console_session_hours)
                                    .total_seconds()))


def clear_session_cookie(response: web.StreamResponse) -> None:
    response.del_cookie(COOKIE, path="/console/")


def complainant_hidden(request: web.Request, ticket: Ticket) -> bool:
    """Whether this viewer may not see who complained: an agent, on a dispute, when the office
    hides complainants in disputes (DISPUTE_HIDE_COMPLAINANT). Managers always see them."""
    office = request.app[DESK].settings.office
    return (office.dispute_hide_complainant and is_dispute(ticket)
            and not viewer(request).is_manager)
