"""What every page's template gets: the reader's language (gettext from the same catalogs as
the bot), dates in the office's time zone, the signed-in staff member and their CSRF token."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import aiohttp_jinja2
import jinja2
from aiohttp import web

from locales import LANGUAGE_NAMES, SUPPORTED, gettext_for, negotiate, ngettext_for
from locales.dates import format_when
from tickets.lifecycle import STAFF_STATUS_LABELS, Status
from tickets.policy import CHANNEL_LABELS, PRIORITY_LABELS
from web.console.access import DESK, VIEWER, Viewer


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
