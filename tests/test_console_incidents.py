"""Incidents in the console (web/console/ticket.py, web/console/incidents.py): a ticket
marked an incident for a scope, a report linked to it by hand and unlinked, through the same
tickets/ functions as the staff group's card; the Incidents page lists each incident with its
linked reports. Over real HTTP, on both databases."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from bot.emulator.chat import ChatClient
from storage.models import Incident, Ticket
from storage.repositories import Units
from tests.chats import register, report_to_files
from tests.console_site import AGENT, MANAGER, STAFF_CHAT, Browser, Site, browser_of


@pytest.fixture
def transport() -> str:
    return "aiogram"  # the console does not depend on the framework


async def _report_water(site: Site, chat: ChatClient, text: str) -> Ticket:
    await report_to_files(chat, "Water & plumbing", text)
    for button in ("Skip", "Normal", "Confirm"):
        await chat.click(button)
    await site.all_sent()
    async with site.desk.db.transaction() as session:
        ticket = await session.scalar(select(Ticket).order_by(Ticket.id.desc()).limit(1))
        assert ticket is not None and ticket.description == text
        return ticket


async def _post(browser: Browser, ticket_id: int, form: str, **fields: str
                ) -> tuple[int, str]:
    """Post one form as the ticket's page would (with the version it shows); (status, the
    page that follows)."""
    status, page = await browser.get(f"/console/tickets/{ticket_id}")
    assert status == 200
    version = re.search(r'name="version" value="(\d+)"', page)
    assert version, "no form on the page"
    status, body, location = await browser.post(f"/console/tickets/{ticket_id}/{form}",
                                                {"version": version.group(1), **fields})
    if status != 303:
        return status, body
    return await browser.get(location)


def _group_texts(site: Site) -> list[str]:
    return [m.text or "" for m in site.emulator.messages(STAFF_CHAT)]


async def test_an_incident_marked_linked_and_unlinked_in_the_console(site: Site) -> None:
    async with site.desk.db.transaction() as session:
        await Units(session).import_rows([{"building": "2", "unit": f"0{n}01", "floor": str(n)}
                                          for n in (1, 2)])
    await register(site.resident, "Wang Fang", "0101")
    lead = await _report_water(site, site.resident, "No water in building 2 since seven.")
    neighbour = ChatClient(site.emulator, site.emulator.user(1102, "Zhou Min",
                                                             language_code="en"),
                           site.handled.wait)
    await register(neighbour, "Zhou Min", "0201", phone="+8613900000202")
    report = await _report_water(site, neighbour, "The tap in my kitchen is dry.")
    assert report.incident_id is None  # reported before anyone marked the incident

    async with browser_of(site, MANAGER) as manager:
        _status, page = await manager.get(f"/console/tickets/{report.id}")
        assert 'data-form="link-incident"' in page and 'id="no-open-incident"' in page
        # floors not given, or not readable: said next to the field, or above; nothing saved
        status, page = await _post(manager, lead.id, "incident", scope="floors", floors="")
        assert status == 400 and "Please fill this in." in page
        status, page = await _post(manager, lead.id, "incident", scope="floors",
                                   floors="7-3")
        assert status == 409 and "Those floors could not be read" in page
        status, page = await _post(manager, lead.id, "incident", scope="building")
        assert status == 200 and "Marked as an incident" in page, page
        assert "Leads the incident for building 2: 1 reports from 1 residents" in page
        assert 'data-form="incident"' not in page and 'data-form="link-incident"' not in page
        await site.settle(lambda: any("is an incident for building 2 (Manager Zhao)" in t
                                      for t in _group_texts(site)))

        _status, page = await manager.get(f"/console/tickets/{report.id}")
        async with site.desk.db.transaction() as session:
            incident = await session.scalar(select(Incident))
            assert incident is not None
        assert (f'<option value="{incident.id}" >No. {lead.number} · Water &amp; plumbing · '
                "building 2</option>") in page
        status, page = await _post(manager, report.id, "link-incident",
                                   incident=str(incident.id))
        assert status == 200 and "Linked to the incident." in page
        assert f"Linked to the incident of No. {lead.number} (building 2)" in page
        assert 'data-form="unlink-incident"' in page
        await site.all_sent()
        assert "we already know about this problem" in neighbour.last_text
        assert not any("we already know" in t for t in site.resident_texts())
        assert any(f"reports the same (incident No. {lead.number})" in t and
                   "The tap in my kitchen is dry." in t for t in _group_texts(site))
        assert any(f"Ticket No. {report.number} is linked to incident No. {lead.number}" in t
                   for t in _group_texts(site))  # its card gave way

        async with browser_of(site, AGENT) as agent:  # every staff member sees them
            status, page = await agent.get("/console/incidents")
        assert status == 200
        section = page[page.index(f'id="incident-{incident.id}"'):]
        assert "Water &amp; plumbing · building 2" in section
        assert "2 reports from 2 residents" in section and "Manager Zhao" in section
        assert f'href="/console/tickets/{report.id}"' in section
        assert f"No. {report.number}" in section and "1 linked report" in section

        status, page = await _post(manager, report.id, "unlink-incident")
        assert status == 200 and "A ticket of its own again" in page
        assert 'id="incident"' not in page
        _status, page = await manager.get("/console/incidents")
        assert "1 reports from 1 residents" in page and f'id="report-{report.id}"' not in page

        # the lead rejected (two staff at once): the incident closed; linking is refused
        status, page = await _post(manager, lead.id, "reject", text="Planned works.")
        assert status == 200
        _status, page = await manager.get(f"/console/tickets/{report.id}")
        assert 'id="no-open-incident"' in page
        status, page = await _post(manager, report.id, "link-incident",
                                   incident=str(incident.id))
        assert status == 409 and "That incident has closed meanwhile" in page
        _status, page = await manager.get("/console/incidents")
        assert "closed" in page[page.index(f'id="incident-{incident.id}"'):]
    async with site.desk.db.transaction() as session:
        stored = await session.get(Ticket, report.id)
        assert stored is not None and stored.incident_id is None and stored.status == "new"


async def test_an_incident_for_some_flats_links_only_their_reports(site: Site) -> None:
    """Some flats, typed by number in the lead's building or as on the unit list: a report
    from one of them is linked at once, one from a neighbouring flat is a ticket of its own."""
    async with site.desk.db.transaction() as session:
        await Units(session).import_rows([{"building": "2", "unit": f"0{n}01", "floor": str(n)}
                                          for n in (1, 2, 3)])
    await register(site.resident, "Wang Fang", "0101")
    lead = await _report_water(site, site.resident, "Water drips from the ceiling.")
    async with browser_of(site, MANAGER) as manager:
        status, page = await _post(manager, lead.id, "incident", scope="units", units="")
        assert status == 400 and "Please fill this in." in page
        status, page = await _post(manager, lead.id, "incident", scope="units",
                                   units="0201, 9-9999")
        assert status == 409 and "Those flats are not all on the office" in page
        status, page = await _post(manager, lead.id, "incident", scope="units",
                                   units="0101，2-0201")
        assert status == 200 and "Leads the incident for units 2-0101, 2-0201" in page, page

    upstairs, next_door = (
        ChatClient(site.emulator, site.emulator.user(user, name, language_code="en"),
                   site.handled.wait) for user, name in ((1102, "Zhou Min"), (1103, "Li Lei")))
    await register(upstairs, "Zhou Min", "0201", phone="+8613900000202")
    linked = await _report_water(site, upstairs, "Our bathroom floor is wet too.")
    await register(next_door, "Li Lei", "0301", phone="+8613900000303")
    own = await _report_water(site, next_door, "My tap is dry.")
    assert linked.incident_id is not None and own.incident_id is None
    assert "We already know about this problem" in (upstairs.messages[-2].text or "")
    assert "We already know" not in (next_door.messages[-2].text or "")
