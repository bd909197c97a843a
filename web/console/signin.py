"""Signing in without passwords: Telegram's Mini App launch data, or a one-time link the bot
sent in a private chat; and signing out.

- `POST /console/sign-in/telegram` with the page's `#tgWebAppData` (form field `init_data`)
  → a session for the active staff member Telegram vouches for; else 401.
- `GET /console/sign-in/{token}` shows a button; `POST` spends the link (single use, ten
  minutes). Spending it on GET would let a link preview (Telegram fetches one for links in
  chats) or a mail scanner use it up.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import aiohttp_jinja2
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from locales import SUPPORTED, negotiate
from storage.models import Staff, utcnow
from storage.repositories import StaffMembers
from storage.sign_in import ConsoleSessions, SignInLinks
from web.console.access import (
    DESK,
    SETTINGS,
    VIEWER,
    Need,
    clear_session_cookie,
    need,
    set_session_cookie,
    viewer,
)
from web.console.telegram_auth import InitDataRefused, verify_init_data

log = logging.getLogger("residesk.console")


def _next_page(request: web.Request, raw: object) -> str:
    """Where to go after signing in: a path in the console only (no open redirect)."""
    base = str(request.app.router["queue"].url_for())
    if isinstance(raw, str) and raw.startswith(base) and not raw.startswith("//"):
        return raw
    return base


@need(Need.ANYONE)
@aiohttp_jinja2.template("sign_in.html")
async def sign_in_page(request: web.Request) -> dict[str, object]:
    if request.get(VIEWER) is not None:
        raise web.HTTPSeeOther(_next_page(request, request.query.get("next")))
    return {"next": _next_page(request, request.query.get("next"))}


@need(Need.ANYONE)
async def sign_in_telegram(request: web.Request) -> web.Response:
    desk = request.app[DESK]
    form = await request.post()
    init_data = form.get("init_data")
    try:
        user = verify_init_data(init_data if isinstance(init_data, str) else "",
                                desk.settings.telegram.bot_token.get_secret_value(), utcnow())
    except InitDataRefused as refused:
        log.warning("console: Mini App sign-in refused: %s", refused.refusal.value)
        return web.json_response({"ok": False, "error": "not signed in"}, status=401)
    async with desk.db.transaction() as session:
        staff = await StaffMembers(session).by_user(user.id)
        if staff is None or not staff.active:
            log.warning("console: Mini App sign-in refused: not active staff")
            return web.json_response({"ok": False, "error": "not staff"}, status=401)
        if staff.language is None and user.language_code:
            staff.language = negotiate(user.language_code, desk.settings.office.default_language)
        response = web.json_response({"ok": True,
                                      "next": _next_page(request, form.get("next"))})
        await _open(request, session, staff, response)
    return response


@need(Need.ANYONE)
async def link_page(request: web.Request) -> web.Response:
    desk = request.app[DESK]
    async with desk.db.reading() as session:
        valid = await SignInLinks(session).valid(request.match_info["token"], utcnow())
    return aiohttp_jinja2.render_template(
        "sign_in_link.html", request, {"valid": valid}, status=200 if valid else 410)


@need(Need.ANYONE)
async def link_spend(request: web.Request) -> web.Response:
    desk = request.app[DESK]
    async with desk.db.transaction() as session:
        staff = await SignInLinks(session).redeem(request.match_info["token"], utcnow())
        if staff is None:
            return aiohttp_jinja2.render_template("sign_in_link.html", request,
                                                  {"valid": False}, status=410)
        response = web.HTTPSeeOther(str(request.app.router["queue"].url_for()))
        await _open(request, session, staff, response)
    raise response


async def _open(request: web.Request, session: AsyncSession, staff: Staff,
                response: web.StreamResponse) -> None:
    """A new session for this staff member and its cookie on `response`, in the caller's
    transaction (if it fails to commit, the response is never sent)."""
    settings = request.app[SETTINGS]
    sessions = ConsoleSessions(session)
    now = utcnow()
    await sessions.forget_expired(now)
    opened = await sessions.open(staff, now, timedelta(hours=settings.console_session_hours))
    set_session_cookie(response, opened, settings)
    log.info("console: staff %s signed in", staff.id)


@need(Need.STAFF)
async def sign_out(request: web.Request) -> web.Response:
    desk = request.app[DESK]
    async with desk.db.transaction() as session:
        await ConsoleSessions(session).close(viewer(request).token)
    response = web.HTTPSeeOther(str(request.app.router["sign_in"].url_for()))
    clear_session_cookie(response)
    raise response


@need(Need.STAFF)
async def choose_language(request: web.Request) -> web.Response:
    """The staff member's language in the console, remembered with them."""
    form = await request.post()
    lang = form.get("lang")
    desk = request.app[DESK]
    if isinstance(lang, str) and lang in SUPPORTED:
        async with desk.db.transaction() as session:
            staff = await StaffMembers(session).get(viewer(request).staff_id)
            if staff is not None:
                staff.language = lang
    raise web.HTTPSeeOther(_next_page(request, form.get("next")))
