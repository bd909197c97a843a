"""Announcements end to end (tickets/announcements.py): a manager writes to a building, its
residents get it once each (a muted one not), the report counts them; a scheduled one waits
for its time, a cancelled one never goes, and a restart sends nobody anything twice."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from bot.demo import tiny_png
from bot.emulator import SentMessage
from bot.emulator.chat import ChatClient
from conversations.announcements import for_resident, text_for
from storage.announcements import counted
from storage.models import (
    Announcement,
    AnnouncementDelivery,
    Incident,
    OutboxMessage,
    Resident,
    Ticket,
    utcnow,
)
from storage.repositories import Units
from tests.chats import AGREE, file_report
from tests.office import Office
from tickets.announcements import (
    CAPTION_TEXT_MAX,
    AnnouncementError,
    queue,
    queue_due,
    scope_from,
    split_when,
    texts_from,
)
from tickets.notices import AnnouncementNotice, read_payload
from tickets.scope import ScopeKind

HEADER = "From the property management office"


async def _resident(office: Office, user_id: int, name: str, building: str, flat: str
                    ) -> ChatClient:
    chat = office.harness.chat(office.emulator.user(user_id, name))
    await chat.send("/start")
    await chat.click(AGREE)
    await chat.send(name)
    await chat.share_contact(f"+86139{user_id:08d}")
    await chat.click(building)
    await chat.send(flat)
    assert "registered" in chat.last_text
    return chat


async def _estate(office: Office) -> dict[str, ChatClient]:
    async with office.desk.db.transaction() as session:
        await Units(session).import_rows([
            {"building": "1", "unit": "0101", "floor": "1"},
            {"building": "2", "unit": "0301", "floor": "3"},
            {"building": "2", "unit": "0302", "floor": "3"},
            {"building": "2", "unit": "0501", "floor": "5"}])
    return {"b1": await _resident(office, 2001, "Zhou Yi", "1", "0101"),
            "b2a": await _resident(office, 2002, "Qian Er", "2", "0301"),
            "b2b": await _resident(office, 2003, "Sun San", "2", "0302"),
            "b2muted": await _resident(office, 2004, "Li Si", "2", "0501")}


def _got(chat: ChatClient) -> list[str]:
    return [m.text or "" for m in chat.messages if HEADER in (m.text or "")]


async def _copies(office: Office) -> int:
    async with office.desk.db.transaction() as session:
        return int(await session.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.payload["kind"].as_string() == "announcement")) or 0)


async def test_a_manager_announces_to_a_building_now(office: Office) -> None:
    people = await _estate(office)
    await people["b2muted"].send("/settings")
    assert "Announcements from the office: on" in people["b2muted"].last_text
    await people["b2muted"].click("🔕 Turn announcements off")
    assert "Announcements from the office: off" in people["b2muted"].last_text

    await office.agent.send("/announce building 2\nWater off tomorrow.")
    assert "Only managers can send announcements." in office.recent(office.agent)
    await office.manager.send("/announce building 9\nWater off tomorrow.")
    assert "no such building" in office.recent(office.manager)
    await office.manager.send("/announce building 2\nWater off tomorrow 10:00–12:00.")
    confirm = office.manager.last_with_text("Send it?")
    assert "building 2, now: 3 resident(s)" in (confirm.text or "")
    send = confirm.button("📢 Send").callback_data
    assert send is not None
    await office.manager.click("📢 Send", confirm)
    assert "Announcement No. 1 saved" in office.recent(office.manager)
    await office.all_sent()
    await office.settle(lambda: all(_got(people[k]) for k in ("b2a", "b2b")))
    for key in ("b2a", "b2b"):
        assert _got(people[key]) == [f"📢 {HEADER}\n\nWater off tomorrow 10:00–12:00."]
    assert not _got(people["b1"]) and not _got(people["b2muted"])
    await office.manager.forge(send, confirm.message_id)  # pressed again: nothing more
    await office.manager.send("/announcements")
    listed = office.recent(office.manager, 1)
    assert "No. 1 · building 2" in listed
    assert "sent 2 · unreachable 0 · muted 1 · on the way 0" in listed
    assert await _copies(office) == 2


async def test_a_scheduled_announcement_waits_and_a_cancelled_one_never_goes(
        office: Office) -> None:
    people = await _estate(office)
    zone = office.desk.engine.office.timezone
    at = (utcnow() + timedelta(days=2)).astimezone(zone).replace(second=0, microsecond=0)
    later = at + timedelta(hours=1)
    await office.manager.send(f"/announce building 2 floors 3 at {at:%Y-%m-%d %H:%M}\nLift work.")
    await office.manager.click("📢 Send", office.manager.last_with_text("Send it?"))
    await office.manager.send(f"/announce all at {later:%Y-%m-%d %H:%M}\nNever mind.")
    confirm = office.manager.last_with_text("Send it?")
    assert "the whole property" in (confirm.text or "") and "4 resident(s)" in (confirm.text or "")
    await office.manager.click("📢 Send", confirm)
    await office.manager.send("/announcements")
    await office.manager.click("Cancel No. 2")
    assert "No. 2" in office.recent(office.manager, 1)
    assert "cancelled" in office.recent(office.manager, 1)

    assert await office.desk.scheduler.tick(at - timedelta(minutes=1)) == 0  # not yet
    assert await _copies(office) == 0
    assert await office.desk.scheduler.tick(at) == 2  # floor 3 of building 2
    await office.harness.restart()  # in the middle: what is queued is not queued again
    assert await office.desk.scheduler.tick(later + timedelta(minutes=5)) == 0
    await office.all_sent()
    await office.settle(lambda: bool(_got(people["b2a"]) and _got(people["b2b"])))
    assert [len(_got(people[k])) for k in ("b1", "b2a", "b2b", "b2muted")] == [0, 1, 1, 0]
    assert await _copies(office) == 2
    async with office.desk.db.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(AnnouncementDelivery)) == 2
    await office.manager.send("/announcements")
    assert "sent 2 · unreachable 0 · muted 0 · on the way 0" in office.recent(office.manager, 1)


async def test_a_photo_with_a_text_per_language_from_the_staff_group(office: Office) -> None:
    people = await _estate(office)
    async with office.desk.db.transaction() as session:  # (as /settings would set it)
        await session.execute(update(Resident).where(Resident.telegram_user_id == 2003)
                              .values(language="ru"))
    caption = ("/announce building 2\nThe courtyard is closed on Friday.\n"
               "[ru] Двор закрыт в пятницу.\n[zh] 周五庭院关闭。")
    await office.manager.send_document(tiny_png((10, 10, 200)), "yard.png", "image/png",
                                       caption=caption)
    assert "Send the picture as a photo" in office.recent(office.manager, 1)
    await office.manager.send_photo(tiny_png((10, 10, 200)), caption="/announce building 2\n"
                                    + "x" * (CAPTION_TEXT_MAX + 1))
    assert f"at most {CAPTION_TEXT_MAX} characters" in office.recent(office.manager, 1)
    await office.manager.send_photo(tiny_png((10, 10, 200)), caption=caption)
    confirm = office.manager.last_with_text("Send it?")
    assert "With this photo." in (confirm.text or "")
    assert "[Русский] Двор закрыт в пятницу." in (confirm.text or "")
    await office.manager.click("📢 Send", confirm)
    await office.all_sent()
    await office.settle(lambda: all(_photos(people[k]) for k in ("b2a", "b2b")))
    [english], [russian] = _photos(people["b2a"]), _photos(people["b2b"])
    assert english.text == f"📢 {HEADER}\n\nThe courtyard is closed on Friday."
    assert russian.text == "📢 От управляющей компании\n\nДвор закрыт в пятницу."
    assert english.file_id and office.emulator.file_bytes(english.file_id)
    assert not _photos(people["b1"])
    await office.manager.send("/announcements")
    assert "🖼 The courtyard" in office.recent(office.manager, 1)


def _photos(chat: ChatClient) -> list[SentMessage]:
    return [m for m in chat.messages if m.kind == "photo" and "📢" in (m.text or "")]


async def test_units_a_blocked_resident_and_one_claim(office: Office) -> None:
    """Units typed; a resident who blocked the bot counts as unreachable; queuing a second
    time (another replica, a retry) writes nothing."""
    people = await _estate(office)
    office.emulator.block(2001)  # building 1's resident
    await office.manager.send("/announce units 2-0301, 1-0101\nPest control on Friday.")
    confirm = office.manager.last_with_text("Send it?")
    assert "units 2-0301, 1-0101" in (confirm.text or "") and "2 resident(s)" in (
        confirm.text or "")
    await office.manager.click("📢 Send", confirm)
    await office.all_sent()
    await office.settle(lambda: bool(_got(people["b2a"])))
    async with office.desk.db.transaction() as session:
        assert await queue(session, 1, utcnow()) is None  # claimed already
    await office.manager.send("/announcements")
    assert "sent 1 · unreachable 1 · muted 0 · on the way 0" in office.recent(office.manager, 1)
    assert await _copies(office) == 2 and not _got(people["b2b"])


async def test_what_a_manager_types(office: Office) -> None:
    async with office.desk.db.transaction() as session:
        await Units(session).import_rows([{"building": "2", "unit": "0301", "floor": "3"}])
        zone = office.desk.engine.office.timezone
        assert split_when("building 2 at 2026-12-05 9:00", zone) == (
            "building 2", datetime(2026, 12, 5, 9, 0, tzinfo=zone))
        assert split_when("all", zone) == ("all", None)
        assert (await scope_from(session, "All")).kind == ScopeKind.PROPERTY
        floors = await scope_from(session, "building 2 floors 3-5, 9")
        assert floors.kind == ScopeKind.FLOORS and floors.floors == ("3", "4", "5", "9")
        for wrong, why in (("building 7", "building"), ("units 9-999", "unit"),
                           ("building 2 floors x-3", "floors"), ("the lot", "scope")):
            with pytest.raises(AnnouncementError, match=why):
                await scope_from(session, wrong)
    for typed, answer in (("/announce all", "Write the scope on the first line"),
                          ("/announce all at 2020-01-01 09:00\nLate.", "That time has passed"),
                          ("/announce all at 2026-13-01 09:00\nOdd.", "The time is written")):
        await office.manager.send(typed)
        assert answer in office.recent(office.manager, 1)
    await office.manager.send("/announcements")
    assert "No announcements yet" in office.recent(office.manager, 1)
    assert texts_from("For all.\n[RU] Для всех.\n [zh] 大家。") == {
        "*": "For all.", "ru": "Для всех.", "zh_Hans": "大家。"}
    assert texts_from("[en] Only English.\n[ru]") == {"en": "Only English."}


async def test_two_schedulers_at_once_queue_it_once(office: Office) -> None:
    """Two replicas' schedulers tick at the same moment (PostgreSQL: truly concurrent
    transactions): one queues the copies, the other nothing."""
    people = await _estate(office)
    zone = office.desk.engine.office.timezone
    at = (utcnow() + timedelta(days=1)).astimezone(zone).replace(second=0, microsecond=0)
    await office.manager.send(f"/announce all at {at:%Y-%m-%d %H:%M}\nFire drill at noon.")
    await office.manager.click("📢 Send", office.manager.last_with_text("Send it?"))

    async def tick() -> int:
        async with office.desk.db.transaction() as session:
            return await queue_due(session, at)

    assert sorted(await asyncio.gather(tick(), tick())) == [0, 4]
    await office.all_sent()
    await office.settle(lambda: all(_got(chat) for chat in people.values()))
    assert all(len(_got(chat)) == 1 for chat in people.values())


def test_the_residents_copy_in_their_language() -> None:
    notice = AnnouncementNotice(7, "ru")
    assert read_payload(notice.to_payload()) == notice
    assert read_payload({"kind": "announcement"}) is None  # unreadable: nothing to send
    announcement = Announcement(id=7, texts={"en": "Lifts", "ru": "Лифты"},
                                photo_file_id="AgAD")
    copy = for_resident(announcement, notice, "en")
    assert copy is not None and copy.reply.text == "📢 От управляющей компании\n\nЛифты"
    assert copy.reply.file is not None and copy.reply.file.file_id == "AgAD"
    assert text_for(announcement, "zh_Hans", "en") == "Lifts"  # else the office's language
    assert text_for(Announcement(texts={"*": "All"}), "ru", "en") == "All"
    announcement.cancelled_at = utcnow()
    assert for_resident(announcement, notice, "en") is None


def test_how_the_report_counts_a_copy() -> None:
    assert [counted("queued", state) for state in ("pending", "sent", "failed", "unreachable",
                                                    None)] == [
        "pending", "sent", "unreachable", "unreachable", "unreachable"]
    assert counted("muted", None) == "muted" and counted("unreachable", None) == "unreachable"


async def test_planned_works_announced_in_the_staff_group(office: Office) -> None:
    """A "works" line makes the announcement planned works: the noise reports of building 2
    during them are told the office knows and become one incident; a line that cannot be
    read, an unknown category or works already over are refused in words."""
    people = await _estate(office)
    zone = office.desk.engine.office.timezone
    now = utcnow().astimezone(zone)
    start, end = now - timedelta(minutes=10), now + timedelta(hours=3)
    for typed, answer in (
            ("works noise tomorrow", "The works line is written like"),
            (f"works rockets {start:%Y-%m-%d %H:%M}-{end:%H:%M}", "There is no category"),
            (f"works noise {start - timedelta(days=2):%Y-%m-%d %H:%M}-"
             f"{start - timedelta(days=2, hours=-1):%H:%M}", "must end after they start")):
        await office.manager.send(f"/announce building 2\n{typed}\nDrilling.")
        assert answer in office.recent(office.manager, 1), typed
    window = (f"{start:%Y-%m-%d %H:%M} - {end:%Y-%m-%d %H:%M}")
    await office.manager.send(f"/announce building 2\nworks noise {window}\n"
                              "Drilling in the stairwell until the afternoon.")
    confirm = office.manager.last_with_text("Send it?")
    assert "🛠 Planned works (Noise)" in (confirm.text or "")
    await office.manager.click("📢 Send", confirm)
    await office.all_sent()
    assert _got(people["b2a"]) == [f"📢 {HEADER}\n\nDrilling in the stairwell until the "
                                   "afternoon."]  # the works line is not part of the text

    await file_report(people["b2a"], "The drilling has not stopped since eight.")
    assert "We already know" in (people["b2a"].last_with_text("registered").text or "")
    await file_report(people["b2b"], "Loud drilling on the stairs.")
    assert "We already know" in (people["b2b"].last_with_text("registered").text or "")
    await file_report(people["b1"], "Music from upstairs.")  # another building: its own
    assert "We already know" not in (people["b1"].last_with_text("registered").text or "")
    async with office.desk.db.transaction() as session:
        incident = await session.scalar(select(Incident))
        assert incident is not None and incident.category_code == "noise"
        tickets = (await session.scalars(select(Ticket).order_by(Ticket.id))).unique().all()
    assert incident.lead_ticket_id == tickets[0].id
    assert [t.incident_id for t in tickets] == [None, incident.id, None]
