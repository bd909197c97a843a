"""The queue: tickets with filters, search, sorting and pages; counts per status.

Every filter lives in the URL's query, so a link to a view can be shared. A value the form
could not have sent (a status that does not exist, a page "abc") is ignored, not an error.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import aiohttp_jinja2
from aiohttp import web
from multidict import MultiMapping

from locales import gettext_for
from locales.dates import format_duration
from storage.models import Category, utcnow
from storage.queue import QueueFilter, QueueSort, open_deadline, queue
from storage.repositories import Categories, StaffMembers, Units
from tickets.lifecycle import Status
from tickets.policy import CHANNELS, DEFAULT_PHONE_REGION, PRIORITIES, normalize_phone
from tickets.policy import category_title as policy_category_title
from web.console.access import DESK, Need, complainant_hidden, need, viewer
from web.console.pages import language_of

PER_PAGE = 50


def _int(raw: str | None) -> int | None:
    return int(raw) if raw is not None and raw.isdigit() and len(raw) < 12 else None


def _day(raw: str | None) -> date | None:
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


def read_filter(query: MultiMapping[str], timezone: ZoneInfo, me: int,
                region: str = DEFAULT_PHONE_REGION) -> QueueFilter:
    statuses = tuple(s for s in query.getall("status", []) if s in Status.__members__.values())
    assignee = query.get("assignee", "")
    since, until = _day(query.get("from")), _day(query.get("to"))
    return QueueFilter(
        statuses=statuses,
        category=query.get("category") or None,
        building_id=_int(query.get("building")),
        priority=query.get("priority") if query.get("priority") in PRIORITIES else None,
        assignee_id=me if assignee == "me" else _int(assignee),
        unassigned=assignee == "nobody",
        channel=query.get("channel") if query.get("channel") in CHANNELS else None,
        created_from=datetime.combine(since, time(), timezone) if since else None,
        created_to=(datetime.combine(until + timedelta(days=1), time(), timezone)
                    if until else None),
        overdue=query.get("overdue") == "1",
        search=_searched(query.get("q", "")[:200].strip(), region),
        sort=QueueSort(query["sort"]) if query.get("sort") in QueueSort.__members__.values()
        else QueueSort.NEWEST,
        page=max(0, (_int(query.get("page")) or 1) - 1),
        per_page=PER_PAGE,
    )


def _searched(text: str, region: str) -> str:
    """A phone number however typed (010 8888 0000, +86 138-0013-8000) is searched as it is
    stored; anything else as typed."""
    phone = normalize_phone(text, region) if sum(c.isdigit() for c in text) >= 7 else None
    return phone or text


def link_with(query: Mapping[str, str] | MultiMapping[str], **changes: str | None) -> str:
    """The queue's query string with some parameters changed (None: removed)."""
    pairs = [(k, v) for k, v in query.items() if k not in changes]
    pairs += [(k, v) for k, v in changes.items() if v is not None]
    return "?" + urlencode(pairs)


def category_title(category: Category, lang: str) -> str:
    return policy_category_title(category.code, category.titles, lang, gettext_for(lang))


@need(Need.STAFF)
async def queue_page(request: web.Request) -> web.Response:
    desk = request.app[DESK]
    me = viewer(request)
    timezone = desk.engine.office.timezone
    wanted = read_filter(request.query, timezone, me.staff_id, desk.engine.office.phone_region)
    async with desk.db.reading() as session:
        found = await queue(session, wanted, utcnow())
        categories = list(await Categories(session).all())
        staff = list(await StaffMembers(session).active())
        buildings = list(await Units(session).buildings())
    lang = language_of(request)
    _ = gettext_for(lang)
    return aiohttp_jinja2.render_template("queue.html", request, {
        "category_names": {c.code: category_title(c, lang) for c in categories},
        "late": lambda delta: _("%(time)s late") % {"time": format_duration(delta, lang)},
        "due": open_deadline,
        "hidden": lambda ticket: complainant_hidden(request, ticket),
        "found": found, "wanted": wanted, "query": request.query,
        "statuses": list(Status), "categories": categories,
        "category_title": lambda c: category_title(c, lang),
        "staff": staff, "buildings": buildings, "priorities": PRIORITIES,
        "channels": CHANNELS, "sorts": list(QueueSort), "link_with": link_with,
    })

