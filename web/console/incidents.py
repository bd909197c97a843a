"""The office's incidents in the console (all staff): the open ones and those closed lately,
each with its category, scope, who opened it and when, its lead's status, how many reported,
and the reports linked to it (each a link to its ticket). Marking, linking and unlinking are
on the tickets' pages (web/console/ticket.py), as on the cards in the staff group."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import aiohttp_jinja2
from aiohttp import web

from conversations.notices import category_name
from locales import gettext_for
from storage.incidents import Incidents
from storage.models import Staff, Ticket, utcnow
from tickets import incidents
from web.console.access import DESK, Need, need
from web.console.pages import language_of

RECENT = timedelta(days=30)  # closed incidents listed this long after they closed
LISTED = 100


@dataclass(frozen=True)
class Row:
    id: int
    lead: Ticket | None  # (planned works nobody reported yet have none)
    category: str
    scope: str
    opened_at: datetime
    opened_by: str
    closed_at: datetime | None
    reports: int  # the lead and its linked reports
    residents: int
    linked: list[Ticket]
    starts_at: datetime | None = None  # planned works' window
    ends_at: datetime | None = None


@need(Need.STAFF)
async def incidents_page(request: web.Request) -> web.Response:
    """GET /console/incidents."""
    desk = request.app[DESK]
    _ = gettext_for(language_of(request))
    rows: list[Row] = []
    async with desk.db.reading() as session:
        repository = Incidents(session)
        for incident in await repository.listed(utcnow() - RECENT, LISTED):
            lead = (await session.get(Ticket, incident.lead_ticket_id)
                    if incident.lead_ticket_id is not None else None)
            opener = (await session.get(Staff, incident.opened_by_id)
                      if incident.opened_by_id else None)
            reports, residents = (await repository.counts(incident.id, lead)
                                  if lead is not None else (0, 0))
            rows.append(Row(incident.id, lead, category_name(_, incident.category_code),
                            await incidents.scope_words(session, incident, _),
                            incident.opened_at, opener.name if opener else "—",
                            incident.closed_at, reports, residents,
                            list(await repository.reports(incident.id)),
                            incident.starts_at, incident.ends_at))
    return aiohttp_jinja2.render_template("incidents.html", request, {"rows": rows})
