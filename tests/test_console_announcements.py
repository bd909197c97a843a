"""The console's announcements page (web/console/announcements.py): managers only; each
announcement with its scope, time and delivery report; the form that writes one (a text for
everyone or per language, a photo, planned works) and Cancel for a scheduled one. Residents
get what the form wrote through the real notifier against the emulator."""

from __future__ import annotations

import io
import re
from datetime import datetime, timedelta
from typing import Any

import aiohttp
import pytest
from PIL import Image
from sqlalchemy import func, select, update

from bot.emulator.chat import ChatClient
from storage.models import Announcement, Incident, OutboxMessage, Resident, Ticket, utcnow
from tests.chats import file_report, register
from tests.console_site import AGENT, MANAGER, Browser, Site, browser_of
from tests.pictures import assert_no_metadata, located
from tickets.incidents import close_finished

HEADER = "From the property management office"


@pytest.fixture
def transport() -> str:
    return "aiogram"  # the console does not depend on the framework


def _office_time(site: Site, moment: datetime) -> str:
    """As a datetime-local field sends it: office time, no zone."""
    return moment.astimezone(site.desk.engine.office.timezone).strftime("%Y-%m-%dT%H:%M")


async def _post(browser: Browser, site: Site, fields: dict[str, str],
                photo: tuple[str, bytes, str] | None = None) -> tuple[int, str, str]:
    """The announcement form posted as a browser posts it (multipart, with its CSRF token)."""
    _status, page = await browser.get("/console/announcements")
    key = re.search(r'name="key" value="([0-9a-f]+)"', page)  # (none: not for this person)
    form = aiohttp.FormData()
    for name, value in {"csrf": browser.csrf, "key": key.group(1) if key else "",
                        **fields}.items():
        form.add_field(name, value)
    if photo is not None:
        form.add_field("photo", photo[1], filename=photo[0], content_type=photo[2])
    async with browser.http.post(f"{site.base}/console/announcements", data=form,
                                 allow_redirects=False) as answer:
        return answer.status, await answer.text(), answer.headers.get("Location", "")


async def _resident(site: Site, user_id: int, name: str, lang: str) -> ChatClient:
    """A registered resident whose language is `lang` (registered in English, then set as
    /settings would)."""
    chat = ChatClient(site.emulator, site.emulator.user(user_id, name), site.handled.wait)
    await register(chat, name, f"1-{user_id}", phone=f"+86139{user_id:08d}")
    async with site.desk.db.transaction() as session:
        await session.execute(update(Resident).where(Resident.telegram_user_id == user_id)
                              .values(language=lang))
    return chat


def _announced(chat: ChatClient) -> list[Any]:
    return [m for m in chat.messages if m.text and "📢" in m.text]


async def test_managers_see_the_announcements_and_how_they_went(site: Site) -> None:
    await register(site.resident, "Wang Fang", "2-301")
    await site.manager.send("/announce all\nThe lifts are serviced on Friday.")
    await site.manager.click("📢 Send", site.manager.last_with_text("Send it?"))
    await site.all_sent()
    async with browser_of(site, AGENT) as agent:
        status, _page = await agent.get("/console/announcements")
        assert status == 403
        status, _page, _location = await _post(agent, site, {"scope": "all", "text": "Hi"})
        assert status == 403
    async with browser_of(site, MANAGER) as manager:
        status, page = await manager.get("/console/announcements")
    assert status == 200
    assert 'id="announcement-1"' in page and "the whole property" in page
    assert "The lifts are serviced on Friday." in page
    assert "sent 1 · unreachable 0 · muted 0 · on the way 0" in page


async def test_each_resident_gets_the_text_of_their_language(site: Site) -> None:
    english = await _resident(site, 3001, "Ann Lee", "en")
    chinese = await _resident(site, 3002, "Wang Wu", "zh_Hans")
    russian = await _resident(site, 3003, "Olga Ivanova", "ru")
    async with browser_of(site, MANAGER) as manager:
        status, _body, location = await _post(manager, site, {
            "scope": "all", "text_en": "The lifts stop on Friday.",
            "text_zh_Hans": "周五电梯停运。", "text_ru": "В пятницу лифты не работают."})
        assert status == 303, _body
        await site.all_sent()
        status, page = await manager.get(location)
    assert "Announcement No. 1 saved: it goes now." in page
    assert "sent 3 · unreachable 0 · muted 0 · on the way 0" in page
    assert [m.text.split("\n\n", 1)[1] for m in _announced(english)] == [
        "The lifts stop on Friday."]
    assert [m.text.split("\n\n", 1)[1] for m in _announced(chinese)] == ["周五电梯停运。"]
    assert [m.text.split("\n\n", 1)[1] for m in _announced(russian)] == [
        "В пятницу лифты не работают."]
    assert HEADER in _announced(english)[0].text
    assert HEADER not in _announced(chinese)[0].text  # (the header in their language too)

    # one text for everyone, and one in Russian: the others get the one for everyone
    async with browser_of(site, MANAGER) as manager:
        status, _body, _location = await _post(manager, site, {
            "scope": "all", "text": "Water is off on Monday.",
            "text_ru": "В понедельник нет воды."})
        assert status == 303
    await site.all_sent()
    assert _announced(english)[-1].text.endswith("Water is off on Monday.")
    assert _announced(chinese)[-1].text.endswith("Water is off on Monday.")
    assert _announced(russian)[-1].text.endswith("В понедельник нет воды.")


async def test_a_form_sent_twice_announces_once(site: Site) -> None:
    resident = await _resident(site, 3041, "Ann Lee", "en")
    async with browser_of(site, MANAGER) as manager:
        fields = {"scope": "all", "text": "The gate code changes tonight.",
                  "key": "0123456789abcdef0123456789abcdef"}
        for _twice in range(2):  # (a double click, or Back and send again)
            status, _body, location = await _post(manager, site, fields)
            assert status == 303 and location.endswith("number=1")
    await site.all_sent()
    assert len(_announced(resident)) == 1
    async with site.desk.db.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(Announcement)) == 1


async def test_a_photo_goes_as_a_photo_without_its_location(site: Site) -> None:
    resident = await _resident(site, 3011, "Ann Lee", "en")
    async with browser_of(site, MANAGER) as manager:
        status, _body, _location = await _post(
            manager, site, {"scope": "all", "text": "The new bicycle shed."},
            ("shed.jpg", located(), "image/jpeg"))
        assert status == 303, _body
    await site.all_sent()
    [photo] = _announced(resident)
    assert photo.kind == "photo" and photo.text is not None
    assert photo.text.endswith("The new bicycle shed.") and HEADER in photo.text
    assert photo.file_id is not None
    # no position, no camera, and turned upright
    assert_no_metadata(site.emulator.file_bytes(photo.file_id))


async def test_a_scheduled_one_can_be_cancelled_and_never_goes(site: Site) -> None:
    resident = await _resident(site, 3021, "Ann Lee", "en")
    later = utcnow() + timedelta(hours=2)
    async with browser_of(site, MANAGER) as manager:
        status, _body, location = await _post(manager, site, {
            "scope": "all", "text": "Fire drill at noon.", "send_at": _office_time(site, later)})
        assert status == 303
        status, page = await manager.get(location)
        assert "Announcement No. 1 saved: it goes" in page and "scheduled" in page
        status, _body, location = await manager.post("/console/announcements/1/cancel")
        assert status == 303
        status, page = await manager.get(location)
        assert "Announcement No. 1 is cancelled." in page
        assert "/console/announcements/1/cancel" not in page  # no Cancel button any more
        status, _body, location = await manager.post("/console/announcements/1/cancel")
        _status, page = await manager.get(location)
        assert "too late to cancel" in page
        status, _body, _location = await manager.post("/console/announcements/99/cancel")
        assert status == 404
    assert await site.desk.scheduler.tick(later + timedelta(minutes=1)) == 0
    await site.all_sent()
    assert _announced(resident) == []


async def test_bad_input_is_explained_and_nothing_is_saved(site: Site) -> None:
    async with browser_of(site, MANAGER) as manager:
        cases: list[tuple[dict[str, str], tuple[str, bytes, str] | None, str]] = [
            ({"scope": "all", "text": "  "}, None, "Please write the text"),
            ({"scope": "all", "text": "x" * 10_000}, None, "under 3500 characters"),
            ({"scope": "all", "text_ru": "x" * 1000}, ("a.png", _png(), "image/png"),
             "under 900 characters"),
            ({"scope": "all", "text": "Hi", "send_at": "2020-01-01T09:00"}, None,
             "This date must be in the future."),
            ({"scope": "all", "text": "Hi", "send_at": "next week"}, None,
             "Please give a date and time"),
            ({"scope": "building 9", "text": "Hi"}, None,
             "There is no such building in the unit list."),
            ({"scope": "somewhere", "text": "Hi"}, None, "building 2 floors 3-5"),
            ({"scope": "all", "text": "Hi"}, ("notes.pdf", b"%PDF-1.4 hello", "image/png"),
             "is not a JPEG, PNG or WebP picture"),
            ({"scope": "all", "text": "Hi"},
             ("big.png", _png() + b"\0" * (10 * 1024 * 1024), "image/png"), "over 10 MB"),
            ({"scope": "all", "text": "Hi", "works": "1", "category": "noise",
              "starts_at": _office_time(site, utcnow() + timedelta(hours=3)),
              "ends_at": _office_time(site, utcnow() + timedelta(hours=1))}, None,
             "The works must end after they start"),
            ({"scope": "all", "text": "Hi", "works": "1", "category": "no-such"}, None,
             "Please choose one of the options."),
        ]
        for fields, photo, message in cases:
            status, page, _location = await _post(manager, site, fields, photo)
            assert status == 400, (fields.keys(), status)
            assert message in page, (message, re.findall(r'field-error[^>]*>([^<]*)', page))
            assert "Please correct the form." in page
    async with site.desk.db.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(Announcement)) == 0
        assert await session.scalar(select(func.count()).select_from(Incident)) == 0
        assert await session.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.payload["kind"].as_string() == "announcement")) == 0


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (10, 200, 10)).save(out, "PNG")
    return out.getvalue()


async def test_planned_works_link_the_reports_made_during_them(site: Site) -> None:
    first = await _resident(site, 3031, "Ann Lee", "en")
    second = await _resident(site, 3032, "Bo Chen", "en")
    now = utcnow()
    async with browser_of(site, MANAGER) as manager:
        status, _body, _location = await _post(manager, site, {
            "scope": "all", "text": "Drilling in the lobby today, 9:00 to 17:00.",
            "works": "1", "category": "noise",
            "starts_at": _office_time(site, now - timedelta(minutes=5)),
            "ends_at": _office_time(site, now + timedelta(hours=8))})
        assert status == 303, _body
        status, page = await manager.get("/console/announcements")
    assert "🛠" in page
    await site.all_sent()

    await file_report(first, "Loud drilling downstairs since the morning.")
    assert "We already know about this problem" in (first.last_with_text("registered").text or "")
    await file_report(second, "The drilling is unbearable, please stop it.")
    assert "We already know about this problem" in (second.last_with_text("registered").text or "")
    await site.all_sent()
    async with site.desk.db.transaction() as session:
        incident = await session.scalar(select(Incident))
        assert incident is not None and incident.lead_ticket_id is not None
        tickets = (await session.scalars(select(Ticket).order_by(Ticket.id))).unique().all()
        assert [t.incident_id for t in tickets] == [None, incident.id]  # the first leads
        assert incident.lead_ticket_id == tickets[0].id
        # the works are over (as if their end had come)
        await session.execute(update(Incident).values(ends_at=utcnow() - timedelta(minutes=1)))
    card = site.card(tickets[0].number)
    assert "Incident for the whole property: 2 reports from 2 residents" in (card.text or "")
    assert "🛠 Planned works: " in (card.text or "")  # when they run, for staff

    await file_report(first, "Still drilling after the works were meant to end.")
    reply = first.last_with_text("registered").text or ""
    assert "We already know" not in reply
    async with site.desk.db.transaction() as session:
        last = await session.scalar(select(Ticket).order_by(Ticket.id.desc()).limit(1))
        assert last is not None and last.incident_id is None
        assert await close_finished(session, utcnow()) == 0  # (a report leads it: staff's)


async def test_planned_works_nobody_reported_are_closed_after_their_window(site: Site
                                                                          ) -> None:
    async with browser_of(site, MANAGER) as manager:
        status, _body, _location = await _post(manager, site, {
            "scope": "all", "text": "Lift maintenance.", "works": "1", "category": "facility",
            "starts_at": _office_time(site, utcnow() + timedelta(hours=1)),
            "ends_at": _office_time(site, utcnow() + timedelta(hours=2))})
        assert status == 303
    await site.desk.scheduler.tick(utcnow() + timedelta(hours=3))
    async with site.desk.db.transaction() as session:
        incident = await session.scalar(select(Incident))
        assert incident is not None and incident.closed_at is not None
        assert incident.lead_ticket_id is None
