"""What every page's template gets: the reader's language (gettext from the same catalogs as
the bot), dates in the office's time zone, the signed-in staff member and their CSRF token."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import aiohttp_jinja2
import jinja2
from aiohttp import web

from locales import LANGUAGE_NAMES, N_, SUPPORTED, gettext_for, negotiate, ngettext_for
from locales.dates import format_when
from tickets.lifecycle import STAFF_STATUS_LABELS, Status
from tickets.policy import CHANNEL_LABELS, PRIORITY_LABELS
from web.console.access import DESK, VIEWER, Handler, Viewer, reads_html


def without_icon(label: str) -> str:
    """A chat button's label without its leading emoji ("✅ Acknowledge" → "Acknowledge"):
    the page has room for words, and a server or phone without an emoji font shows boxes."""
    start = 0
    while start < len(label) and not label[start].isalnum():
        start += 1
    return label[start:] or label


def language_of(request: web.Request) -> str:
    found: Viewer | None = request.get(VIEWER)
    if found is not None and found.language in SUPPORTED:
        return found.language
    # before signing in: the browser's first language
    first = request.headers.get("Accept-Language", "").split(",")[0].split(";")[0].strip()
    return negotiate(first or None, request.app[DESK].settings.office.default_language)


async def page_context(request: web.Request) -> dict[str, Any]:
    lang = language_of(request)
    _ = gettext_for(lang)
    timezone = request.app[DESK].engine.office.timezone

    def when(moment: datetime | None, style: str = "numeric") -> str:
        return format_when(moment, lang, timezone, style) if moment else "—"

    def label(table: Mapping[str, str]) -> Callable[[str | None], str]:
        return lambda code: _(table[code]) if code is not None and code in table else (
            code or "—")

    return {
        "request": request, "_": _, "ngettext": ngettext_for(lang), "lang": lang,
        "when": when,
        "viewer": request.get(VIEWER), "languages": LANGUAGE_NAMES,
        "status_label": lambda code: _(STAFF_STATUS_LABELS[Status(code)]),
        "priority_label": label(PRIORITY_LABELS), "channel_label": label(CHANNEL_LABELS),
        "url": lambda name, **parts: str(request.app.router[name].url_for(
            **{k: str(v) for k, v in parts.items()})),
    }


def setup_templates(app: web.Application) -> None:
    aiohttp_jinja2.setup(
        app, loader=jinja2.PackageLoader("web.console", "templates"),
        autoescape=jinja2.select_autoescape(default=True),
        undefined=jinja2.StrictUndefined,  # a misspelt name fails the page's test, not silently
        context_processors=[page_context],
        trim_blocks=True, lstrip_blocks=True)


# what the browser may do with the console's pages: only our own files; framed by Telegram's
# web client (a Mini App there is an iframe) and nobody else; links to elsewhere carry no
# Referer (a sign-in link's token is in its path)
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; media-src 'self'; object-src 'none'; "
        "base-uri 'none'; form-action 'self'; "
        "frame-ancestors 'self' https://web.telegram.org https://*.telegram.org"),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
ERROR_MESSAGES = {
    400: N_("This request could not be understood. Please go back and try again."),
    403: N_("This page is for managers, or the form was out of date. Please go back and "
            "reload."),
    404: N_("There is no such page or ticket."),
    410: N_("This link was already used or has expired."),
}


@web.middleware
async def pages_for_people(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Security headers on every answer, and an error a person reads as a page (a script
    gets the short text)."""
    try:
        response = await handler(request)
    except web.HTTPException as error:
        if error.status < 400 or not reads_html(request) or error.status not in ERROR_MESSAGES:
            error.headers.update(SECURITY_HEADERS)
            raise
        # raised before the template context was made (the guard, an unknown path): make it
        context = {**await page_context(request), "message": ERROR_MESSAGES[error.status]}
        response = aiohttp_jinja2.render_template("error.html", request, context,
                                                  status=error.status)
    response.headers.update(SECURITY_HEADERS)
    return response
