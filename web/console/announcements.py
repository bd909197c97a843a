"""The office's announcements in the console (managers): the latest ones, their scope and
time, and each one's delivery report, as /announcements shows them in the staff group.
Read-only for now: writing and cancelling are the staff group's /announce and
/announcements (conversations/announcements.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import aiohttp_jinja2
from aiohttp import web

from locales import gettext_for
from storage.announcements import Announcements
from storage.repositories import Units
from tickets.announcements import DeliveryReport, report
from tickets.scope import Scope
from web.console.access import DESK, Need, need
from web.console.pages import language_of

LISTED = 50


@dataclass(frozen=True)
class Row:
    number: int
    scope: str
    send_at: datetime
    text: str
    state: str  # scheduled | cancelled | queued (then `report` says how it went)
    report: DeliveryReport


@need(Need.MANAGER)
async def announcements_page(request: web.Request) -> web.Response:
    """GET /console/announcements."""
    desk = request.app[DESK]
    _ = gettext_for(language_of(request))
    rows: list[Row] = []
    async with desk.db.reading() as session:
        found = await Announcements(session).recent(LISTED)
        reports = await report(session, [a.id for a in found])
        units = Units(session)
        for a in found:
            scope = Scope.from_json(a.scope)
            building = await units.building(scope.building_id) if scope.building_id else None
            labels = [u.label for i in scope.unit_ids
                      if (u := await units.get(i)) is not None]
            named = scope.describe(_, building.name if building else "", tuple(labels))
            rows.append(Row(a.id, named,
                            a.send_at, "\n".join(str(t) for t in (a.texts or {}).values()),
                            "cancelled" if a.cancelled_at else
                            "scheduled" if a.queued_at is None else "queued", reports[a.id]))
    return aiohttp_jinja2.render_template("announcements.html", request, {"rows": rows})
