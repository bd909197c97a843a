"""The office console over real HTTP: who gets in (Mini App launch data, one-time links,
sessions, CSRF), what each role may open, and tickets worked in the console reaching the
resident and the Telegram card exactly as when worked on the card — on both databases.

The pages' behaviour in a real browser (the script that reads #tgWebAppData, the forms) is
in test_console_browser.py."""

from __future__ import annotations

import base64
import io
import logging
import re
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import aiohttp
import openpyxl
import pytest
from sqlalchemy import select, update

from bot.cli import remove_staff
from bot.demo import tiny_png
from bot.emulator.chat import ChatClient
from locales import gettext_for
from storage.models import (
    Attachment,
    PersonalDataView,
    Resident,
    ResidentChange,
    SignInLink,
    Staff,
    Ticket,
    utcnow,
)
from storage.repositories import ReplyTemplates, StaffMembers
from tests.chats import answer_questions, file_report, register
from tests.console_site import (
    AGENT,
    MANAGER,
    OUTSIDER,
    STAFF_CHAT,
    Browser,
    Site,
    browser_of,
)


@pytest.fixture
def transport() -> str:
    return "aiogram"  # the console does not depend on the framework; the bot's tests cover both


@pytest.fixture
async def manager(site: Site) -> AsyncIterator[Browser]:
    async with browser_of(site, MANAGER) as browser:
        yield browser


@pytest.fixture
async def agent(site: Site) -> AsyncIterator[Browser]:
    async with browser_of(site, AGENT) as browser:
        yield browser


@pytest.fixture
async def anonymous(site: Site) -> AsyncIterator[Browser]:
    async with browser_of(site) as browser:
        yield browser


# --- signing in ----------------------------------------------------------------------------

async def test_a_manager_signs_in_with_telegram_launch_data(site: Site,
                                                            anonymous: Browser) -> None:
    assert await anonymous.sign_in_as_mini_app(MANAGER) == 200
    status, page = await anonymous.get("/console/")
    assert status == 200
    assert "Manager Zhao" in page and "manager" in page


async def test_forged_stale_or_foreign_launch_data_signs_nobody_in(
        site: Site, anonymous: Browser, caplog: pytest.LogCaptureFixture) -> None:
    emulator = site.emulator
    good = emulator.web_app_init_data(emulator.user(MANAGER, "Manager Zhao"))
    forged = good.replace(f"%22id%22%3A{MANAGER}", f"%22id%22%3A{AGENT}")
    assert forged != good
    stale = emulator.web_app_init_data(emulator.user(MANAGER, "Manager Zhao"),
                                       auth_date=int(time.time()) - 25 * 3600)
    outsider = emulator.web_app_init_data(emulator.user(OUTSIDER, "Someone"))
    caplog.set_level(logging.WARNING, "residesk.console")
    for init_data in (forged, stale, outsider, "", "hash=abc", good + "&hash=0"):
        status, body, _ = await anonymous.post("/console/sign-in/telegram",
                                               {"init_data": init_data}, csrf=False)
        assert status == 401, (init_data, body)
    status, _page = await anonymous.get("/console/")
    assert status == 303  # still signed out
    lines = [r.getMessage() for r in caplog.records]
    assert any("bad hash" in line for line in lines)
    assert any("older than 24 hours" in line for line in lines)
    assert any("not active staff" in line for line in lines)
    assert not any("auth_date=" in line or "hash=" in line for line in lines), lines


async def test_a_one_time_link_signs_in_once(site: Site, anonymous: Browser) -> None:
    link = await site.sign_in_link(AGENT)
    status, page = await anonymous.get(link)  # a link preview or a first look spends nothing
    assert status == 200 and "Sign in" in page
    status, _page, location = await anonymous.post(link, csrf=False)
    assert status == 303 and location.endswith("/console/")
    status, page = await anonymous.get("/console/")
    assert status == 200 and "Agent Li" in page

    async with browser_of(site) as other:
        status, page, _ = await other.post(link, csrf=False)
        assert status == 410 and "already used or has expired" in page
        status, _page = await other.get("/console/")
        assert status == 303


async def test_a_sign_in_link_expires_after_ten_minutes(site: Site, anonymous: Browser) -> None:
    link = await site.sign_in_link(AGENT)
    async with site.desk.db.transaction() as session:
        await session.execute(update(SignInLink).values(
            expires_at=utcnow() - timedelta(seconds=1)))
    status, page, _ = await anonymous.post(link, csrf=False)
    assert status == 410 and "expired" in page


async def test_console_in_chat_for_staff_only_and_never_kept(site: Site) -> None:
    stranger = ChatClient(site.emulator, site.emulator.user(OUTSIDER, "Someone"),
                          site.handled.wait)
    await stranger.send("/console")
    assert "for the office's staff" in stranger.last_text
    assert "sign-in" not in stranger.last_text

    link = await site.sign_in_link(MANAGER)
    token = link.rsplit("/", 1)[1]
    message = site.emulator.last_message(MANAGER)
    assert message.button("Open in Telegram").web_app_url == f"{site.base}/console/"
    async with site.desk.db.transaction() as session:
        from sqlalchemy import select

        from storage.models import ConversationState
        kept = " ".join(str(s.last_answer) for s in await session.scalars(
            select(ConversationState)))
        links = list(await session.scalars(select(SignInLink.token_hash)))
    assert token not in kept  # the answer kept for a redelivery leaves the link out
    assert token not in links and len(links) == 1  # only its hash is stored

    await site.manager.send("/console")
    assert site.manager.last.button("Open the console").url == f"{site.base}/console/"


async def test_removing_a_staff_member_ends_their_sessions(site: Site, agent: Browser) -> None:
    status, _page = await agent.get("/console/")
    assert status == 200
    async with site.desk.db.transaction() as session:
        said = await remove_staff(session, AGENT)
    assert "1 console session(s) ended" in said
    status, _page = await agent.get("/console/")
    assert status == 303
    status, _body = await agent.get("/console/", headers={"Accept": "application/json"})
    assert status == 401


async def test_sign_out(site: Site, manager: Browser) -> None:
    status, _body, location = await manager.post("/console/sign-out")
    assert status == 303 and location.endswith("/console/sign-in")
    status, _page = await manager.get("/console/")
    assert status == 303


# --- who may open what ---------------------------------------------------------------------

async def test_every_route_answers_each_role_as_it_should(
        site: Site, anonymous: Browser, agent: Browser, manager: Browser) -> None:
    ticket = await site.new_ticket()
    t, r = ticket.id, ticket.resident_id
    # (method, path, anonymous, agent, manager); the POSTs carry each one's CSRF token
    table = [
        ("GET", "/console/", 303, 200, 200),
        ("GET", "/console/nowhere", 303, 404, 404),
        ("GET", "/console/sign-in", 200, 303, 303),
        ("GET", f"/console/tickets/{t}", 303, 200, 200),
        ("GET", "/console/tickets/999999", 303, 404, 404),
        ("GET", "/console/tickets/abc", 303, 404, 404),
        ("GET", "/console/files/999999", 303, 404, 404),
        ("GET", "/console/static/console.css", 200, 200, 200),
        ("GET", "/console/sign-in/not-a-token", 410, 410, 410),
        ("GET", "/console/new", 303, 200, 200),
        ("GET", "/console/incidents", 303, 200, 200),
        ("POST", f"/console/tickets/{t}/incident", 401, 400, 400),  # (no scope chosen)
        ("POST", f"/console/tickets/{t}/unlink-incident", 401, 409, 409),  # (not linked)
        ("GET", "/console/dashboard", 303, 403, 200),
        ("GET", "/console/dashboard?period=dates&from=2026-12-01&to=2026-01-01", 303, 403, 400),
        ("GET", "/console/dashboard/export?format=csv", 303, 403, 200),
        ("GET", "/console/dashboard/export?format=pdf", 303, 403, 400),
        ("POST", f"/console/tickets/{t}/no-such-action", 401, 404, 404),
        ("POST", f"/console/tickets/{t}/reject", 401, 403, 303),
        ("POST", f"/console/tickets/{t}/phone", 401, 200, 200),
        ("POST", "/console/tickets/999999/phone", 401, 404, 404),
        ("POST", "/console/language", 401, 303, 303),
        ("GET", "/console/admin", 303, 403, 200),
        ("POST", "/console/admin/staff", 401, 403, 400),
        ("POST", "/console/admin/staff/999999", 401, 403, 404),
        ("POST", "/console/admin/units", 401, 403, 400),
        ("POST", "/console/admin/categories/noise", 401, 403, 303),
        ("POST", "/console/admin/categories/nothing", 401, 403, 404),
        ("GET", "/console/admin/templates/new", 303, 403, 200),
        ("GET", "/console/admin/templates/999999", 303, 403, 404),
        ("GET", "/console/admin/templates/abc", 303, 403, 404),
        ("POST", "/console/admin/templates/new", 401, 403, 400),  # (no purpose, no title)
        ("POST", "/console/admin/templates/999999", 401, 403, 400),
        ("GET", f"/console/residents/{r}/erase", 303, 403, 200),
        ("GET", "/console/residents/999999/erase", 303, 403, 404),
        ("POST", f"/console/residents/{r}/erase", 401, 403, 400),  # (not confirmed)
    ]
    for method, path, *expected in table:
        for who, browser, status in zip(("anonymous", "agent", "manager"),
                                        (anonymous, agent, manager), expected, strict=True):
            if method == "GET":
                got, _ = await browser.get(path)
            else:
                async with site.desk.db.transaction() as session:
                    current = await session.get(Ticket, t)
                    assert current is not None
                    version = str(current.version)
                got, _, _ = await browser.post(path, {"version": version, "text": "Not ours.",
                                                      "lang": "en"})
            assert got == status, (method, path, who, got)


async def test_a_post_without_the_csrf_token_is_refused(site: Site, manager: Browser) -> None:
    ticket = await site.new_ticket()
    status, _body, _ = await manager.post(f"/console/tickets/{ticket.id}/acknowledge",
                                          {"version": str(ticket.version)}, csrf=False)
    assert status == 403
    status, _body, _ = await manager.post(f"/console/tickets/{ticket.id}/acknowledge",
                                          {"version": str(ticket.version), "csrf": "forged"},
                                          csrf=False)
    assert status == 403
    async with site.desk.db.transaction() as session:
        current = await session.get(Ticket, ticket.id)
        assert current is not None and current.status == "new"


# --- working a ticket --------------------------------------------------------------------

def _version(page: str) -> str:
    found = re.search(r'name="version" value="(\d+)"', page)
    assert found, "no form on the page"
    return found.group(1)


async def _act(browser: Browser, ticket_id: int, form: str, **fields: str) -> str:
    """Post one action as the page would (with the version it shows); the page after."""
    status, page = await browser.get(f"/console/tickets/{ticket_id}")
    assert status == 200
    status, body, location = await browser.post(f"/console/tickets/{ticket_id}/{form}",
                                                {"version": _version(page), **fields})
    assert status == 303, body
    status, page = await browser.get(location)
    assert status == 200
    return page


async def test_a_ticket_worked_in_the_console_reaches_the_resident_and_the_card(
        site: Site, manager: Browser) -> None:
    ticket = await site.new_ticket()
    before = len(site.resident.messages)

    page = await _act(manager, ticket.id, "acknowledge")
    assert "Acknowledged. The resident has been told." in page
    await site.settle(lambda: "Status: acknowledged" in site.card_text())
    assert "Assignee: Manager Zhao" in site.card_text()
    await site.settle(lambda: "taken up" in site.resident.last_text)

    await _act(manager, ticket.id, "investigate")
    await _act(manager, ticket.id, "findings", visit_at="", findings="A leaking drain pipe.",
               interviewed="", severity="medium", cause_category="facility",
               cause="A corroded joint")
    await site.settle(lambda: "Severity: Medium" in site.card_text())
    page = await _act(manager, ticket.id, "resolve", type="repair",
                      text="The plumber replaced the pipe joint.", measures="", follow_up="")
    assert "Resolved." in page
    await site.settle(lambda: "has been resolved" in site.resident.last_text)
    await site.all_sent()
    said = [m.text or "" for m in site.resident.messages[before:]]
    # exactly what the Telegram path sends: taken up, under investigation, resolved + survey
    assert len(said) == 3, said
    assert "taken up" in said[0]
    assert "investigat" in said[1]
    assert "replaced the pipe joint" in said[2]
    assert "Status: resolved" in site.card_text()

    status, page = await manager.get(f"/console/tickets/{ticket.id}")
    assert status == 200
    assert "A leaking drain pipe." in page and "The plumber replaced" in page
    assert page.count('class="k-status"') == 5  # received, acknowledged, investigating, …


async def test_a_dispute_is_mediated_in_the_console(site: Site, manager: Browser) -> None:
    ticket = await site.new_ticket()  # noise: a dispute between neighbours
    await _act(manager, ticket.id, "acknowledge")
    status, page = await manager.get(f"/console/tickets/{ticket.id}")
    assert 'data-form="other-party"' in page
    status, page, _ = await manager.post(f"/console/tickets/{ticket.id}/other-party", {
        "version": _version(page), "unit": "5-501", "method": "bot", "text": "Hello"})
    assert status == 409 and "Nobody of that flat uses the bot" in page  # nobody there
    page = await _act(manager, ticket.id, "other-party", unit="5-501", method="call",
                      text="Called them: they will keep it down after 22:00.")
    assert "The contact with the other party is recorded." in page
    await site.settle(lambda: "Other party: unit 5-501 (not in the bot), reached by a call"
                      in site.card_text())
    await _act(manager, ticket.id, "investigate")
    page = await _act(manager, ticket.id, "agreement", text="Quiet after 22:00 on weekdays.",
                      agreed_on="")
    assert "Resolved as a mediation" in page
    await site.settle(lambda: "has been resolved" in site.resident.last_text)
    assert "What was done: Quiet after 22:00 on weekdays." in site.resident.last_text
    async with site.desk.db.transaction() as session:
        stored = await session.get(Ticket, ticket.id)
        assert stored is not None and stored.resolution_type == "mediation"
        assert stored.party is not None and stored.party.agreed_on is not None


async def test_agents_may_not_see_who_complained_in_a_dispute(
        site: Site, manager: Browser, agent: Browser) -> None:
    ticket = await site.new_ticket()  # noise: a dispute; the office hides the complainant
    site.settings.office.dispute_hide_complainant = True
    try:
        for path in (f"/console/tickets/{ticket.id}", "/console/"):
            status, page = await agent.get(path)
            assert status == 200 and "hidden in a dispute" in page and "Wang Fang" not in page
            assert "+8613800138000" not in page
            status, page = await manager.get(path)  # managers always see who complained
            assert status == 200 and "Wang Fang" in page and "hidden in a dispute" not in page
        await agent.get(f"/console/tickets/{ticket.id}")
        status, page, _ = await agent.post(f"/console/tickets/{ticket.id}/phone")
        assert status == 403 and "+8613800138000" not in page  # nor by asking for it
        assert await _views(site) == []
    finally:
        site.settings.office.dispute_hide_complainant = False


# --- personal data: shown on request, and accounted for -----------------------------------

PHONE = "+8613800138000"  # the resident's (tests.chats.register)


async def _views(site: Site) -> list[tuple[int, int | None, int | None, str]]:
    """The personal-data audit: (staff id, resident id, ticket id, what), oldest first."""
    async with site.desk.db.transaction() as session:
        return [tuple(row) for row in (await session.execute(  # type: ignore[misc]
            select(PersonalDataView.staff_id, PersonalDataView.resident_id,
                   PersonalDataView.ticket_id, PersonalDataView.what)
            .order_by(PersonalDataView.id))).all()]


async def _staff_id(site: Site, user_id: int) -> int:
    async with site.desk.db.transaction() as session:
        staff = await StaffMembers(session).by_user(user_id)
        assert staff is not None
        return staff.id


async def test_the_phone_is_shown_on_request_and_who_asked_is_recorded(
        site: Site, agent: Browser, manager: Browser) -> None:
    ticket = await site.new_ticket()
    page_path = f"/console/tickets/{ticket.id}"
    status, page = await agent.get(page_path)
    assert status == 200 and "Wang Fang" in page and "Show phone" in page
    assert PHONE not in page and "138" not in page  # not even in the page's source
    assert await _views(site) == []
    status, page, _ = await agent.post(f"{page_path}/phone")
    assert status == 200 and f'<a href="tel:{PHONE}">{PHONE}</a>' in page
    assert "Show phone" not in page
    agent_id = await _staff_id(site, AGENT)
    assert await _views(site) == [(agent_id, ticket.resident_id, ticket.id, "phone")]
    assert ticket.resident_id is not None
    await agent.post(f"{page_path}/phone")  # again within the hour: one line is enough
    assert len(await _views(site)) == 1
    status, page = await agent.get(page_path)  # shown once, not from then on
    assert PHONE not in page and "Personal data opened" not in page  # (the audit: managers')

    _status, page = await manager.get(page_path)  # the manager reads who opened what
    audit = page.split('id="personal-data"', 1)[1]
    assert "Agent Li" in audit and "phone number" in audit and PHONE not in page
    _status, page = await manager.get("/console/admin")
    row = page.split('id="personal-data"', 1)[1].split("</tr>", 2)[1]
    assert "Agent Li" in row and "Wang Fang" in row and str(ticket.number) in row
    assert "phone number" in row


async def _report_with_photo(site: Site) -> tuple[Ticket, Attachment, bytes]:
    """The resident registers as Wang Fang and reports noise (a dispute) with a photo; once
    its card is posted: the ticket, its attachment and the photo's bytes."""
    resident = site.resident
    await register(resident, "Wang Fang", "2-301")
    cards = len(site.emulator.messages(STAFF_CHAT))
    await resident.send("/report")
    await resident.click("Noise")
    await resident.send("Loud music from 2-401 every night after midnight.")
    await answer_questions(resident, "Noise")
    photo = tiny_png((30, 200, 30))
    await resident.send_photo(photo)
    await resident.click("✅ Done")
    await resident.click("Normal")
    await resident.click("✅ Confirm")
    await site.settle(lambda: len(site.emulator.messages(STAFF_CHAT)) > cards)
    async with site.desk.db.transaction() as session:
        ticket = await session.scalar(select(Ticket).order_by(Ticket.id.desc()).limit(1))
        assert ticket is not None and ticket.resident_id is not None
        [attachment] = ticket.attachments
    return ticket, attachment, photo


async def test_opening_a_residents_file_is_recorded(site: Site, agent: Browser,
                                                    manager: Browser) -> None:
    ticket, attachment, photo = await _report_with_photo(site)
    assert await _views(site) == []
    async with agent.http.get(f"{site.base}/console/files/{attachment.id}") as answer:
        assert answer.status == 200 and await answer.read() == photo
    agent_id = await _staff_id(site, AGENT)
    assert await _views(site) == [(agent_id, ticket.resident_id, ticket.id, "file")]
    _status, page = await manager.get("/console/admin")
    row = page.split('id="personal-data"', 1)[1].split("</tr>", 2)[1]
    assert "Agent Li" in row and "Wang Fang" in row and "evidence file" in row


async def test_a_ticket_changed_in_the_chat_meanwhile_is_not_overwritten(
        site: Site, manager: Browser) -> None:
    ticket = await site.new_ticket()
    status, page = await manager.get(f"/console/tickets/{ticket.id}")
    stale_version = _version(page)
    await site.agent.click("Acknowledge", site.card())  # in the chat, meanwhile
    status, page, _ = await manager.post(f"/console/tickets/{ticket.id}/reject",
                                         {"version": stale_version,
                                          "text": "Not the office's matter."})
    assert status == 409
    assert "This ticket changed meanwhile; nothing was saved." in page
    assert "Not the office&#39;s matter." in page  # what was typed is still in the form
    assert 'id="status">acknowledged' in page
    async with site.desk.db.transaction() as session:
        current = await session.get(Ticket, ticket.id)
        assert current is not None and current.status == "acknowledged"


async def test_a_form_with_mistakes_says_where_and_keeps_what_was_typed(
        site: Site, manager: Browser) -> None:
    ticket = await site.new_ticket()
    await _act(manager, ticket.id, "acknowledge")
    await _act(manager, ticket.id, "investigate")
    status, page = await manager.get(f"/console/tickets/{ticket.id}")
    status, page, _ = await manager.post(f"/console/tickets/{ticket.id}/findings", {
        "version": _version(page), "visit_at": "2999-01-01T10:00", "findings": "Wet ceiling",
        "severity": "enormous", "cause_category": "facility", "cause": " "})
    assert status == 400
    assert "Please correct the form." in page
    assert "The site visit cannot be in the future." in page
    assert "Please choose one of the options." in page
    assert "Please fill this in." in page
    assert ">Wet ceiling</textarea>" in page
    async with site.desk.db.transaction() as session:
        current = await session.get(Ticket, ticket.id)
        assert current is not None and current.findings is None


async def test_an_agent_cannot_reject_and_is_told_to_escalate(site: Site,
                                                              agent: Browser) -> None:
    ticket = await site.new_ticket()
    status, page = await agent.get(f"/console/tickets/{ticket.id}")
    assert "Reject" not in page  # not offered to agents
    status, page, _ = await agent.post(f"/console/tickets/{ticket.id}/reject",
                                       {"version": _version(page), "text": "No."})
    assert status == 403
    assert "You can escalate the ticket instead." in page


async def test_the_queue_finds_and_filters(site: Site, manager: Browser) -> None:
    ticket = await site.new_ticket("The lift in building 2 stops between floors every day.")
    status, page = await manager.get("/console/?q=" + (ticket.number or ""))
    assert status == 200 and f'data-number="{ticket.number}"' in page
    status, page = await manager.get("/console/?q=lift+in+building")
    assert f'data-number="{ticket.number}"' in page
    status, page = await manager.get("/console/?status=closed")
    assert f'data-number="{ticket.number}"' not in page and "No ticket matches." in page
    status, page = await manager.get("/console/?status=new&sort=bogus&page=abc")
    assert status == 200 and f'data-number="{ticket.number}"' in page
    assert STAFF_CHAT  # the card went to the staff group (site.new_ticket waited for it)


async def test_agents_may_not_open_the_evidence_of_a_hidden_complainant(
        site: Site, agent: Browser, manager: Browser) -> None:
    _ticket, attachment, photo = await _report_with_photo(site)  # noise: a dispute
    site.settings.office.dispute_hide_complainant = True
    try:
        async with agent.http.get(f"{site.base}/console/files/{attachment.id}") as answer:
            assert answer.status == 403 and photo not in await answer.read()
        assert await _views(site) == []  # nothing was opened
        async with manager.http.get(f"{site.base}/console/files/{attachment.id}") as answer:
            assert answer.status == 200 and await answer.read() == photo
    finally:
        site.settings.office.dispute_hide_complainant = False


# --- erasing a resident's personal data (managers) ----------------------------------------

async def _resident(site: Site, resident_id: int) -> Resident:
    async with site.desk.db.transaction() as session:
        resident = await session.get(Resident, resident_id)
        assert resident is not None
        return resident


async def test_agents_can_neither_see_nor_post_the_erasure(site: Site, agent: Browser) -> None:
    ticket = await site.new_ticket()
    assert ticket.resident_id is not None
    status, page = await agent.get(f"/console/tickets/{ticket.id}")
    assert status == 200 and "Wang Fang" in page and "Erase personal data" not in page
    erase = f"/console/residents/{ticket.resident_id}/erase"
    status, page = await agent.get(erase)
    assert status == 403 and "Wang Fang" not in page
    status, _page, _ = await agent.post(erase, {"confirm": "yes"})
    assert status == 403
    assert (await _resident(site, ticket.resident_id)).erased_at is None


async def test_a_manager_erases_a_residents_personal_data_once_confirmed(
        site: Site, manager: Browser) -> None:
    finished, attachment, _photo = await _report_with_photo(site)
    await _act(manager, finished.id, "reject", text="Not the office's matter.")
    await file_report(site.resident, "The neighbours' dog barks all day long in the yard.")
    async with site.desk.db.transaction() as session:
        still_open = await session.scalar(select(Ticket).order_by(Ticket.id.desc()).limit(1))
        assert still_open is not None and still_open.id != finished.id
    resident_id = still_open.resident_id
    assert resident_id is not None and resident_id == finished.resident_id

    status, page = await manager.get("/console/admin?who=Wang")  # a request by letter
    assert status == 200
    assert f'/console/residents/{resident_id}/erase"' in page.split('id="erasure"', 1)[1]
    status, page = await manager.get(f"/console/tickets/{still_open.id}")
    link = f"/console/residents/{resident_id}/erase?ticket={still_open.id}"
    assert f'href="{link}">Erase personal data…' in page
    status, page = await manager.get(link)
    assert status == 200 and "Wang Fang" in page and "•••• 8000" in page
    assert PHONE not in page  # the whole number is behind "Show phone"
    assert "From 1 finished ticket: what they wrote" in page
    assert "1 evidence file is deleted." in page
    assert f"Open ticket No. {still_open.number} keeps what they wrote" in page

    erase = f"/console/residents/{resident_id}/erase"
    for refused in ({"csrf": "forged", "confirm": "yes"}, {"confirm": "yes"}):
        status, _page, _ = await manager.post(erase, {"ticket": str(still_open.id),
                                                      **refused}, csrf=False)
        assert status == 403
    status, page, _ = await manager.post(erase, {"ticket": str(still_open.id)})  # not ticked
    assert status == 400 and "Please tick the box to confirm. Nothing was erased." in page
    assert (await _resident(site, resident_id)).erased_at is None

    status, _page, location = await manager.post(erase, {"ticket": str(still_open.id),
                                                         "confirm": "yes"})
    assert status == 303 and location.endswith(f"/tickets/{still_open.id}?done=erased")
    erased = await _resident(site, resident_id)
    assert erased.name == f"R-{resident_id}" and erased.phone == ""
    assert erased.telegram_user_id is None and erased.erased_at is not None
    async with site.desk.db.transaction() as session:  # the audit: which manager, no more
        change = await session.scalar(select(ResidentChange).where(
            ResidentChange.field == "erased"))
        manager_row = await session.scalar(select(Staff).where(Staff.role == "manager"))
        assert change is not None and manager_row is not None
        assert (change.old, change.new) == (None, f"staff #{manager_row.id}")
    status, page = await manager.get(location)
    assert status == 200 and "Personal data erased." in page
    assert "The complainant&#39;s personal data was erased" in page  # in the timeline
    assert "Wang Fang" not in page and "Erase personal data" not in page
    assert "Personal data erased on " in page and f"R-{resident_id}" in page
    async with manager.http.get(f"{site.base}/console/files/{attachment.id}") as answer:
        assert answer.status == 404  # the finished ticket's evidence is gone
    status, page = await manager.get(erase)  # nothing more to erase
    assert "Personal data erased on " in page and 'name="confirm"' not in page


# --- a complaint taken by phone ------------------------------------------------------------

async def _new_form(browser: Browser, query: str = "") -> dict[str, str]:
    status, page = await browser.get("/console/new" + query)
    assert status == 200
    found = re.search(r'name="key" value="([0-9a-f]+)"', page)
    assert found
    return {"key": found.group(1)}


def post_new_complaint(browser: Browser, site: Site, fields: dict[str, str],
                       files: list[tuple[str, bytes, str]]) -> Any:
    """POST the New complaint form with files, as the browser would."""
    return browser.http.post(f"{site.base}/console/new", allow_redirects=False,
                             data=_upload(fields, files))


def _upload(fields: dict[str, str], files: list[tuple[str, bytes, str]]) -> aiohttp.FormData:
    form = aiohttp.FormData()
    for name, value in fields.items():
        form.add_field(name, value)
    for filename, data, mime in files:
        form.add_field("files", data, filename=filename, content_type=mime)
    return form


async def test_a_hotline_complaint_with_a_photo_reaches_the_resident_who_registers_later(
        site: Site, agent: Browser) -> None:
    fields = await _new_form(agent)
    fields.update(csrf=agent.csrf, name="Wang Fang", phone="+86 138 0013 8000", unit="2-301",
                  category="noise", description="Loud music from 2-401 every night.",
                  priority="normal", channel="hotline")
    photo = tiny_png((200, 40, 40))
    async with agent.http.post(f"{site.base}/console/new", allow_redirects=False,
                               data=_upload(fields, [("music.png", photo, "image/png")])
                               ) as answer:
        assert answer.status == 303, await answer.text()
        location = answer.headers["Location"]
    status, page = await agent.get(location)
    registered = re.search(r"The complaint is registered as No\. ([\d-]+)\.", page)
    assert status == 200 and registered
    number = registered.group(1)
    assert "Hotline" in page and "unverified" in page
    image = re.search(r'<img src="(/console/files/\d+)"', page)
    assert image, "the photo is not on the ticket's page"
    async with agent.http.get(site.base + image.group(1)) as answer:
        assert answer.status == 200 and await answer.read() == photo
        assert answer.headers["Content-Type"] == "image/png"
    async with aiohttp.ClientSession() as stranger, stranger.get(
            site.base + image.group(1), allow_redirects=False) as answer:
        assert answer.status in (303, 401)  # files only for signed-in staff
    await site.settle(lambda: "Channel: Hotline" in site.card_text())
    await site.settle(lambda: any(m.kind == "photo" for m in
                                  site.emulator.messages(STAFF_CHAT)))  # uploaded to Telegram

    await register(site.resident, "Wang Fang", "2-301")
    assert "already has a complaint from you" in site.resident.last_text
    await site.resident.send("/mytickets")
    assert any(number in b.text for row in site.resident.last.inline_buttons for b in row)

    # the same form posted twice (a double click, a reload) is one complaint
    async with agent.http.post(f"{site.base}/console/new", allow_redirects=False,
                               data=_upload(fields, [])) as answer:
        assert answer.headers["Location"] == location


async def test_a_new_complaint_with_mistakes_is_refused_field_by_field(
        site: Site, agent: Browser) -> None:
    fields = await _new_form(agent)
    fields.update(csrf=agent.csrf, name="", phone="call me", unit="x" * 40, category="noise",
                  description="Loud", priority="soon", channel="pigeon")
    async with agent.http.post(f"{site.base}/console/new", allow_redirects=False, data=_upload(
            fields, [("notes.txt", b"just some text", "text/plain")])) as answer:
        assert answer.status == 400
        page = await answer.text()
    for field, message in (("name", "Please fill this in."),
                           ("phone", "Please give a phone number"),
                           ("unit", "Please keep it under 32 characters."),
                           ("description", "at least 10 characters"),
                           ("priority", "Please choose one of the options."),
                           ("channel", "Please choose one of the options."),
                           ("files", "Please choose the files again.")):
        found = re.search(f'data-field="{field}">([^<]+)<', page)
        assert found and message in found.group(1), (field, found and found.group(1))
    assert 'value="call me"' in page  # what was typed stays

    fields.update(name="Wang Fang", phone="+86 138 0013 8000", unit="2-301",
                  description="Loud music every night after midnight.", priority="normal",
                  channel="walk_in")
    async with agent.http.post(f"{site.base}/console/new", allow_redirects=False, data=_upload(
            fields, [("notes.txt", b"just some text", "text/plain")])) as answer:
        assert answer.status == 400
        assert "is not a photo, video, recording, PDF or office document" in await answer.text()
    huge = b"\xff\xd8\xff" + b"\x00" * (20 * 1024 * 1024)  # a "JPEG" one byte over 20 MB
    async with post_new_complaint(agent, site, fields, [("big.jpg", huge, "image/jpeg")]) as answer:
        assert answer.status == 400
        assert "“big.jpg” is over 20 MB." in await answer.text()
    async with site.desk.db.reading() as session:
        from sqlalchemy import func, select
        assert await session.scalar(select(func.count(Ticket.id))) == 0  # nothing half-saved


# --- the dashboard -------------------------------------------------------------------------

def _charts(page: str) -> dict[str, str]:
    """The dashboard's charts: name -> the SVG document."""
    return {name: base64.b64decode(data).decode() for data, name in re.findall(
        r'<img src="data:image/svg\+xml;base64,([^"]+)" alt="[^"]*" data-chart="([a-z_]+)"',
        page)}


async def test_the_dashboard_shows_the_figures_and_charts_with_their_text_as_text(
        site: Site, manager: Browser) -> None:
    ticket = await site.new_ticket()
    status, page = await manager.get("/console/dashboard?period=month")
    assert status == 200
    assert "Tickets: 1" in page or "1</b><span>Tickets" in page
    charts = _charts(page)
    assert set(charts) == {"volume", "resolve_time", "satisfaction", "hotspots"}
    assert "<text" in charts["volume"] and "Tickets by category" in charts["volume"]

    status, _body, _ = await manager.post("/console/language", {"lang": "zh_Hans",
                                                                "next": "/console/dashboard"})
    assert status == 303
    status, page = await manager.get("/console/dashboard?period=week")
    chinese = _charts(page)["volume"]
    title = gettext_for("zh_Hans")("Tickets by category")
    assert title != "Tickets by category" and title in chinese  # text, not drawn glyphs

    async with manager.http.get(f"{site.base}/console/dashboard/export?period=week&format=csv"
                                ) as answer:
        assert answer.status == 200
        assert "attachment" in answer.headers["Content-Disposition"]
        body = (await answer.read()).decode("utf-8-sig")
    assert body.splitlines()[0].startswith("number,") and (ticket.number or "?") in body
    async with manager.http.get(f"{site.base}/console/dashboard/export?period=week&format=xlsx"
                                ) as answer:
        assert answer.status == 200
        book = openpyxl.load_workbook(io.BytesIO(await answer.read()), read_only=True)
    rows = list(book["tickets"].iter_rows(values_only=True))
    assert rows[1][0] == ticket.number


async def test_the_dashboard_counts_an_incident_once(site: Site, manager: Browser) -> None:
    """The lead and its seven linked reports are one ticket on the dashboard; the incidents
    tile and line say how many reports and people, in the manager's language."""
    from tests.incident_records import AFFECTED, REPORTS, seed_incident

    await seed_incident(site.desk.db)
    status, page = await manager.get("/console/dashboard?period=week")
    assert status == 200
    assert "<b>2</b><span>Tickets</span>" in page  # the lead and the complaint of its own
    assert (f'data-tile="incidents"><b>1</b><span>Incidents</span><small>reports linked: '
            f"{REPORTS} · residents: {AFFECTED}</small>") in page
    assert (f"incidents: 1, each counted once; reports linked to them: {REPORTS}; residents "
            f"affected: {AFFECTED}") in page
    await manager.post("/console/language", {"lang": "zh_Hans", "next": "/console/dashboard"})
    status, page = await manager.get("/console/dashboard?period=week")
    _ = gettext_for("zh_Hans")
    assert f"<b>1</b><span>{_('Incidents')}</span>" in page
    assert _("incidents: %(incidents)d, each counted once; reports linked to them: "
             "%(reports)d; residents affected: %(residents)d") % {
        "incidents": 1, "reports": REPORTS, "residents": AFFECTED} in page


# --- admin -------------------------------------------------------------------------------

async def test_a_manager_adds_promotes_and_removes_staff(site: Site, manager: Browser) -> None:
    status, page, _ = await manager.post("/console/admin/staff", {
        "user_id": "12ab", "name": "Chen Jing", "role": "agent"})
    assert status == 400 and "Telegram user id" in page and 'value="Chen Jing"' in page
    status, _page, location = await manager.post("/console/admin/staff", {
        "user_id": "777", "name": "Chen Jing", "role": "agent"})
    assert status == 303
    status, page = await manager.get(location)
    assert 'data-staff="777"' in page and "sign in with /console" in page

    async with browser_of(site, 777) as newcomer:
        status, _page = await newcomer.get("/console/dashboard")
        assert status == 403  # an agent
        status, page = await manager.get("/console/admin")
        staff_id = re.search(r'action="/console/admin/staff/(\d+)"[^>]*>\s*<input[^>]*>\s*'
                             r'<select name="role"', page.split('data-staff="777"')[1])
        assert staff_id
        target = f"/console/admin/staff/{staff_id.group(1)}"
        status, _body, _ = await manager.post(target, {"role": "manager", "do": "role"})
        assert status == 303
        status, _page = await newcomer.get("/console/dashboard")
        assert status == 200  # the role counts from the next request
        status, _body, _ = await manager.post(target, {"do": "remove"})
        assert status == 303
        status, _page = await newcomer.get("/console/")
        assert status == 303  # signed out at once


async def test_a_manager_cannot_remove_or_demote_themselves(site: Site,
                                                           manager: Browser) -> None:
    status, page = await manager.get("/console/admin")
    mine = re.search(rf'data-staff="{MANAGER}">.*?action="(/console/admin/staff/\d+)"',
                     page, re.S)
    assert mine
    for fields in ({"do": "remove"}, {"role": "agent", "do": "role"}):
        status, page, _ = await manager.post(mine.group(1), fields)
        assert status == 400 and "cannot remove yourself" in page
    status, _page = await manager.get("/console/dashboard")
    assert status == 200


def _csv(text: str) -> aiohttp.FormData:
    form = aiohttp.FormData()
    form.add_field("file", text.encode(), filename="units.csv", content_type="text/csv")
    return form


async def test_a_units_import_with_a_bad_line_imports_nothing(site: Site,
                                                               manager: Browser) -> None:
    bad = "building,unit,floor\nA,101,1\nA,,1\nB,201,2\nA,101,1\n"
    fields = _csv(bad)
    fields.add_field("csrf", manager.csrf)
    async with manager.http.post(f"{site.base}/console/admin/units", data=fields,
                                 allow_redirects=False) as answer:
        assert answer.status == 400
        page = await answer.text()
    assert "Line 3: the unit is missing" in page
    assert "Line 5: this unit is already on line 2" in page
    assert "Nothing was imported." in page
    async with site.desk.db.reading() as session:
        from sqlalchemy import func, select

        from storage.models import Unit
        assert await session.scalar(select(func.count(Unit.id))) == 0

    fields = _csv("building,unit,floor\nA,101,1\nB,201,2\n")
    fields.add_field("csrf", manager.csrf)
    async with manager.http.post(f"{site.base}/console/admin/units", data=fields) as answer:
        assert answer.status == 200
        assert "Units imported: 2 new, in 2 new buildings" in await answer.text()


async def test_a_disabled_category_is_no_longer_offered_to_residents(
        site: Site, manager: Browser) -> None:
    status, _body, _ = await manager.post("/console/admin/categories/noise", {
        "title_en": "Noise at night", "title_zh_Hans": "夜间噪音", "title_ru": ""})
    assert status == 303  # saved, and no longer active (the box was not ticked)
    await register(site.resident, "Wang Fang", "2-301")
    await site.resident.send("/report")
    labels = [b.text for row in site.resident.last.inline_buttons for b in row]
    assert labels and not any("Noise" in label for label in labels), labels


# --- reply templates ------------------------------------------------------------------------

REASON_EN = "Dear {name}, complaint No. {number} ({category}) is not for the office: {{unit}}."
REASON_ZH = "{name}您好，第{number}号投诉（{category}）不属于物业管理范围。"


async def _add_template(manager: Browser, **fields: str) -> int:
    status, body, location = await manager.post("/console/admin/templates/new", fields)
    assert status == 303, body
    assert location.endswith("#template")
    async with manager.site.desk.db.reading() as session:
        template = await ReplyTemplates(session).by_title(fields["title"])
        assert template is not None
        return template.id


async def test_a_manager_keeps_reply_templates_and_a_bad_one_is_not_saved(
        site: Site, manager: Browser, agent: Browser) -> None:
    template_id = await _add_template(manager, title="Not the office's", purpose="reject",
                                      text_en=REASON_EN, text_zh_Hans=REASON_ZH, text_ru=" ",
                                      active="1")
    status, page = await manager.get("/console/admin?done=template_saved")
    assert "The reply template is saved." in page
    row = page.split(f'data-template="{template_id}"')[1].split("</tr>")[0]
    assert "Not the office&#39;s" in row and "English, 简体中文" in row
    assert "Reason of a rejection" in row and "Русский" not in row

    status, page, _ = await manager.post("/console/admin/templates/new", {
        "title": "Flat", "purpose": "message", "text_en": "Your flat {flat} is noted.",
        "active": "1"})
    assert status == 400
    assert ("English: there is no placeholder {flat}. The placeholders are {number}, {name}, "
            "{unit}, {category}.") in page
    assert ">Your flat {flat} is noted.</textarea>" in page  # kept as typed
    status, page, _ = await manager.post("/console/admin/templates/new", {
        "title": "Not the office's", "purpose": "reject", "text_en": "Again"})
    assert status == 400 and "There is already a template of this title." in page
    await manager.post("/console/language", {"lang": "zh_Hans"})
    status, page, _ = await manager.post("/console/admin/templates/new", {
        "title": "Brace", "purpose": "message", "text_zh_Hans": "编号 {number"})
    assert status == 400 and "简体中文" in page and "{{" in page  # said in the reader's words
    await manager.post("/console/language", {"lang": "en"})
    async with site.desk.db.reading() as session:
        assert [t.title for t in await ReplyTemplates(session).all()] == ["Not the office's"]

    # changed on its own page: an emptied language goes, and unticked it is no longer offered
    status, page = await manager.get(f"/console/admin/templates/{template_id}")
    assert status == 200 and REASON_ZH in page and 'name="active" value="1" checked' in page
    assert "{category}" in page and "the resident&#39;s name" in page  # the placeholders told
    status, _body, _ = await manager.post(f"/console/admin/templates/{template_id}", {
        "title": "Not the office's", "purpose": "reject", "text_en": REASON_EN,
        "text_zh_Hans": ""})
    assert status == 303
    async with site.desk.db.reading() as session:
        template = await ReplyTemplates(session).get(template_id)
        assert template is not None and template.texts == {"en": REASON_EN}
        assert not template.active

    for path in ("/console/admin/templates/new", f"/console/admin/templates/{template_id}"):
        status, _page = await agent.get(path)
        assert status == 403
        status, _body, _ = await agent.post(path, {"title": "Mine", "purpose": "message",
                                                   "text_en": "Hello", "active": "1"})
        assert status == 403
    async with site.desk.db.reading() as session:
        assert await ReplyTemplates(session).by_title("Mine") is None


async def test_a_reply_template_fills_the_reason_in_the_residents_language(
        site: Site, manager: Browser, agent: Browser) -> None:
    ticket = await site.new_ticket()
    async with site.desk.db.transaction() as session:
        await session.execute(update(Resident).where(Resident.id == ticket.resident_id)
                              .values(language="zh_Hans"))
    reject = await _add_template(manager, title="Not ours", purpose="reject", text_en=REASON_EN,
                                 text_zh_Hans=REASON_ZH, active="1")
    await _add_template(manager, title="Switched off", purpose="reject", text_en="Old text",
                        active="")
    greeting = await _add_template(manager, title="Greeting", purpose="message",
                                   text_en="Hello {name}, about No. {number}.", active="1")
    status, page = await manager.get(f"/console/tickets/{ticket.id}")
    reject_form = page.split('data-form="reject"')[1].split("</details>")[0]
    assert f'<option value="{reject}"' in reject_form and "Greeting" not in reject_form
    assert "Switched off" not in page  # a disabled template is not offered
    message_form = page.split('data-form="message"')[1].split("</details>")[0]
    assert f'<option value="{greeting}"' in message_form and "Not ours" not in message_form

    # without the script: "Use" brings the page back with the reason filled, in Chinese
    status, page = await manager.get(f"/console/tickets/{ticket.id}?form=reject"
                                     f"&template={reject}")
    assert status == 200
    filled = f"Wang Fang您好，第{ticket.number}号投诉（噪音）不属于物业管理范围。"
    assert '<details open data-form="reject">' in page
    reject_form = page.split('data-form="reject"')[1].split("</details>")[0]
    assert f">{filled}</textarea>" in reject_form
    status, page = await manager.get(f"/console/tickets/{ticket.id}?form=message"
                                     f"&template={reject}")  # not this form's: not filled
    assert status == 200 and f">{filled}</textarea>" not in page

    # still edited before it goes; sent as any rejection
    await _act(manager, ticket.id, "reject", text=filled + " 请联系居委会。")
    await site.settle(lambda: filled in site.resident.last_text)
    assert "请联系居委会" in site.resident.last_text
    async with site.desk.db.reading() as session:
        stored = await session.get(Ticket, ticket.id)
        assert stored is not None and stored.status == "rejected"


async def test_reply_templates_never_tell_a_hidden_complainant(
        site: Site, manager: Browser, agent: Browser) -> None:
    ticket = await site.new_ticket()  # noise: a dispute
    named = await _add_template(manager, title="Named", purpose="message",
                                text_en="Hello {name}.", active="1")
    plain = await _add_template(manager, title="Plain", purpose="message",
                                text_en="About No. {number}: we are on it.", active="1")
    site.settings.office.dispute_hide_complainant = True
    try:
        status, page = await agent.get(f"/console/tickets/{ticket.id}")
        assert (f'<option value="{plain}" data-text="About No. {ticket.number}: we are on it."'
                in page)
        assert ">Named</option>" not in page
        assert "Wang Fang" not in page
        status, page = await manager.get(f"/console/tickets/{ticket.id}")
        assert status == 200
        assert f'<option value="{named}" data-text="Hello Wang Fang."' in page  # managers see
    finally:
        site.settings.office.dispute_hide_complainant = False


async def test_pages_carry_security_headers_and_errors_read_as_pages(
        site: Site, agent: Browser) -> None:
    async with agent.http.get(f"{site.base}/console/tickets/424242") as answer:
        assert answer.status == 404
        assert "There is no such page or ticket." in await answer.text()
        policy = answer.headers["Content-Security-Policy"]
    assert "frame-ancestors 'self' https://web.telegram.org" in policy
    async with agent.http.get(f"{site.base}/console/dashboard") as answer:
        assert answer.status == 403 and "This page is for managers" in await answer.text()
        assert answer.headers["Referrer-Policy"] == "same-origin"


async def test_overdue_and_unreached_tickets_say_so(site: Site, agent: Browser) -> None:
    await site.more_tickets()  # complaints taken by phone; the sanitation one is overdue
    status, page = await agent.get("/console/?overdue=1")
    assert status == 200 and page.count("data-number=") == 1
    assert "3 hours late" in page
    number = re.search(r'data-number="([\d-]+)"', page)
    link = re.search(r'<a href="(/console/tickets/\d+)">', page)
    assert number and link
    status, page = await agent.get(link.group(1))
    assert 'id="overdue">Overdue: 3 hours late' in page
    assert "Not in the bot: phone the resident" in page
