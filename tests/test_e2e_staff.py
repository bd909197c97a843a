"""The office's side end to end: the real bot against the emulator, staff in the staff group,
the resident in their chat. Notifications arrive through the outbox and the notifier."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from bot.cli import remove_staff
from bot.demo import tiny_png
from bot.emulator import SentMessage
from bot.emulator.chat import GroupMember
from storage.models import OutboxMessage, utcnow
from storage.repositories import Units
from tests.chats import AGREE, answer_questions, file_report, register, report_to_files
from tests.office import (  # (its `office` fixture is in conftest)
    AGENT,
    M4A,
    MANAGER,
    MP4,
    OGG,
    PDF,
    STAFF_CHAT,
    Office,
    evidence_posts,
    investigating,
    resolved,
    resolved_and_confirmed,
)


async def test_from_report_to_survey_with_the_exact_notifications(office: Office) -> None:
    ticket = await office.new_ticket()
    before = len(office.resident.messages)
    agent = office.agent

    await agent.click("Acknowledge", office.card())
    await office.settle(lambda: "taken up" in office.resident.last_text)
    await office.settle(lambda: "Status: acknowledged" in office.card_text())
    assert "Assignee: Agent Li" in office.card_text()

    await agent.click("Investigation", office.card())
    assert "Site visit" in office.recent(agent)
    await agent.click("Today", office.question(agent))
    await agent.click("Me", office.question(agent))
    await agent.send("The drain pipe of flat 3-301 above leaks into the ceiling.")
    await agent.click("Skip", office.question(agent))
    await agent.click("Medium", office.question(agent))
    await agent.click("Facility or equipment", office.question(agent))
    await agent.send("A corroded pipe joint")
    assert "Investigation recorded" in office.recent(agent)

    await office.settle(lambda: "Severity: Medium" in office.card_text())
    await agent.click("Resolve", office.card())
    await agent.click("Repair", office.question(agent))
    await agent.send("The plumber replaced the pipe joint and dried the ceiling.")
    await agent.send("All joints of that riser will be checked next month.")
    await agent.send("2020-01-31")
    assert "a date to come" in office.recent(agent)
    await agent.send("31.12.2099")
    assert "Please type the date as" in office.recent(agent)
    await agent.click("In a week", office.question(agent))
    assert "Resolved" in office.recent(agent)

    await office.settle(lambda: "has been resolved" in office.resident.last_text)
    survey = office.resident.last
    assert "replaced the pipe joint" in (survey.text or "")
    assert "riser" in (survey.text or "")
    await office.resident.click("✅ Yes", survey)
    assert "Glad it is fixed" in office.resident.last_text
    await office.resident.click("5⭐", office.resident.last)
    assert "comment" in office.resident.last_text
    await office.resident.send("Too long. " * 500)  # told to split it, and still asked
    assert "Please split it into shorter messages" in office.resident.last_text
    await office.resident.send("Quick and friendly, thank you!")
    assert "Thank you for your feedback" in office.resident.last_text

    notified = [t.split("\n")[0] for t in office.resident_texts()[before:]]
    number = ticket.number
    assert [line for line in notified if f"No. {number}" in line] == [
        f"👋 Ticket No. {number}: the office has taken up your complaint. Thank you for telling "
        "us; we will keep you informed here.",
        f"🔎 Ticket No. {number} is now under investigation.",
        f"✅ Ticket No. {number} has been resolved.",
        f"Glad it is fixed! Ticket No. {number} is closed.",
    ]
    stored = await office.ticket()
    assert stored.status == "closed" and stored.rating == 5
    assert stored.rating_comment == "Quick and friendly, thank you!"
    assert stored.severity == "medium" and stored.cause_category == "facility"
    assert stored.resolution_type == "repair" and stored.follow_up_at is not None


def assert_mentions_the_manager(alert: SentMessage) -> None:
    """The manager's name is a text mention: Telegram notifies them, no username needed."""
    text = alert.text or ""
    [mention] = [e for e in alert.raw.get("entities", []) if e["type"] == "text_mention"]
    assert mention["user"]["id"] == MANAGER
    start = len(text[:text.index("Manager Zhao")].encode("utf-16-le")) // 2
    assert (mention["offset"], mention["length"]) == (start, len("Manager Zhao"))


async def test_not_fixed_reopens_and_escalates(office: Office) -> None:
    await resolved(office)
    await office.resident.click("❌ No", office.resident.last)
    assert "open again" in office.resident.last_text
    await office.settle(lambda: any("not fixed" in (m.text or "")
                                    for m in office.emulator.messages(STAFF_CHAT)))
    alert = next(m for m in office.emulator.messages(STAFF_CHAT) if "not fixed" in (m.text or ""))
    assert "Manager Zhao" in (alert.text or "") and "Agent Li" in (alert.text or "")
    assert alert.reply_to_message_id == office.card().message_id  # in the card's thread
    assert_mentions_the_manager(alert)
    stored = await office.ticket()
    assert stored.status == "reopened" and stored.reopen_count == 1
    assert stored.escalated_at is not None


async def test_messages_go_both_ways_with_a_photo(office: Office) -> None:
    ticket = await office.new_ticket()
    agent = office.agent
    await agent.reply_photo(tiny_png((10, 200, 10)), office.card())
    await office.settle(lambda: office.resident.last.kind == "photo")
    relayed = office.resident.last
    assert f"No. {ticket.number}" in (relayed.text or "")
    await agent.reply("Could you tell us when the leak started?", office.card())
    assert "Sent to the resident" in office.recent(agent)
    await office.settle(lambda: "when the leak started" in office.resident.last_text)
    await office.all_sent()
    await office.resident.reply("Yesterday evening, around 8 pm.", office.resident.last)
    assert "Added to ticket" in office.resident.last_text
    await office.resident.reply_photo(tiny_png((200, 10, 10)), office.resident.last_with_text(
        "when the leak started"))
    await office.settle(lambda: any(m.kind == "photo" and m.reply_to_message_id
                                    == office.card().message_id
                                    for m in office.emulator.messages(STAFF_CHAT)))
    thread = [m for m in office.emulator.messages(STAFF_CHAT)
              if m.reply_to_message_id == office.card().message_id]
    assert any("Yesterday evening" in (m.text or "") for m in thread)
    await agent.click("Internal note", office.card())
    await agent.send("Resident sounds worried; call back today.")
    assert all("worried" not in t for t in office.resident_texts())  # internal stays internal


async def test_hotline_intake_then_the_resident_registers(office: Office) -> None:
    agent = office.agent
    await agent.send("/intake")
    await agent.send("Wang Fang")
    await agent.send("call me maybe")  # bad answers are explained and asked again
    assert "does not look like a phone number" in office.recent(agent)
    await agent.send("+86 138 0013 8000")
    await agent.send("x" * 10_000)
    assert "too long" in office.recent(agent)
    await agent.send_sticker()
    assert "answer with text" in office.recent(agent)
    await agent.send("2-301")
    await agent.click("Noise", office.question(agent))
    await agent.send("Loud")
    assert "too short" in office.recent(agent)
    await agent.send("Loud music from 2-401 every night after midnight.")
    await agent.click("Hotline", office.question(agent))
    assert "Logged as No." in office.recent(agent)
    await office.settle(lambda: "Channel: Hotline" in office.card_text())
    await register(office.resident, "Wang Fang", "2-301")
    assert "already has a complaint from you" in office.resident.last_text
    await office.settle(lambda: "Not in the bot" not in office.card_text())
    await agent.click("Acknowledge", office.card())
    await office.settle(lambda: "taken up your complaint" in office.resident.last_text)


async def test_the_card_marks_a_unit_the_office_does_not_know(office: Office) -> None:
    await office.new_ticket()  # "2-301" as typed: the office has no unit list yet
    assert "Unit: 2-301 (unverified)" in office.card_text()
    async with office.desk.db.transaction() as session:
        await Units(session).import_rows([{"building": "7", "unit": "701"}])
    neighbour = office.harness.chat(office.emulator.user(1002, "Zhou Min"))
    await neighbour.send("/start")
    await neighbour.click(AGREE)
    await neighbour.send("Zhou Min")
    await neighbour.share_contact("+8613700000000")
    assert "building 7" in neighbour.last_text  # the only building: its flats are asked
    await neighbour.send("701")
    await file_report(neighbour)
    await office.settle(lambda: "Unit: 7-701" in office.card_text())
    assert "(unverified)" not in office.card_text()


async def test_a_number_written_two_ways_is_one_person_for_the_claim(office: Office) -> None:
    """The hotline writes the caller's number as they say it, nationally; Telegram shares it
    internationally without its "+": both are +8613800138000."""
    agent = office.agent
    await agent.send("/intake")
    await agent.send("Wang Fang")
    await agent.send("138 0013 8000")
    await agent.send("2-301")
    await agent.click("Noise", office.question(agent))
    await agent.send("Loud music from 2-401 every night after midnight.")
    await agent.click("Hotline", office.question(agent))
    await office.settle(lambda: "+8613800138000" in office.card_text())
    resident = office.resident
    await resident.send("/start")
    await resident.click(AGREE)
    await resident.send("Wang Fang")
    await resident.share_contact("8613800138000")
    await resident.send("2-301")
    assert "already has a complaint from you" in resident.last_text


async def test_concurrent_resolve_by_two_staff_one_wins(office: Office) -> None:
    await office.new_ticket()
    await office.agent.click("Acknowledge", office.card())
    await office.settle(lambda: "Status: acknowledged" in office.card_text())
    await office.agent.click("Investigation", office.card())
    await office.agent.click("Cancel", office.question(office.agent))
    await office.settle(lambda: "Status: under investigation" in office.card_text())
    await office.agent.click("Resolve", office.card())
    await office.settle(lambda: "Status: being resolved" in office.card_text())
    await office.manager.click("Resolve", office.card())  # both now fill in the resolution
    for member in (office.agent, office.manager):
        await member.click("Explanation / no fault found",
                           office.question(member))
        await member.send(f"{member.user.first_name}: the noise comes from the street works.")
    for member in (office.agent, office.manager):
        await member.click("Skip", office.question(member))
    texts = [m.text or "" for m in office.emulator.messages(STAFF_CHAT)]
    assert sum("Resolved." in t for t in texts) == 1
    assert sum("changed while you were entering" in t for t in texts) == 1
    await office.settle(lambda: "has been resolved" in office.resident.last_text)
    assert sum("has been resolved" in t for t in office.resident_texts()) == 1


async def test_who_may_act(office: Office) -> None:
    await office.new_ticket()
    stranger = GroupMember(office.emulator, office.emulator.user(999, "Visitor"), STAFF_CHAT,
                           office.harness.wait)
    await stranger.click("Acknowledge", office.card())
    assert "Only office staff" in office.emulator.callback_answers[-1].get("text", "")
    await stranger.send("/stats month")
    assert "Only office staff" in (stranger.messages[-1].text or "")
    await office.agent.click("Reject", office.card())
    assert "Only a manager" in office.emulator.callback_answers[-1].get("text", "")
    old_card = office.card()
    stale = old_card.button("Acknowledge").callback_data or ""
    await office.agent.click("Acknowledge", old_card)
    await office.settle(lambda: "Status: acknowledged" in office.card_text())
    await office.manager.forge(stale, old_card.message_id)  # a button of the card as it was
    assert "changed meanwhile" in office.emulator.callback_answers[-1].get("text", "")
    await office.manager.forge("sf:ack:99999.1", old_card.message_id)
    assert "no longer active" in office.emulator.callback_answers[-1].get("text", "")
    await office.agent.click("Internal note", office.card())
    question = office.question(office.agent)
    await office.manager.click("Cancel", question)  # someone else's question
    assert "not yours" in office.emulator.callback_answers[-1].get("text", "")
    await office.agent.click("Cancel", question)
    async with office.desk.db.transaction() as session:
        await remove_staff(session, AGENT)
    await office.agent.click("Investigation", office.card())
    assert "Only office staff" in office.emulator.callback_answers[-1].get("text", "")
    assert (await office.ticket()).status == "acknowledged"


async def test_a_crash_between_commit_and_send_loses_nothing(office: Office) -> None:
    await office.new_ticket()
    await office.settle(lambda: "Status: received" in office.card_text())
    await office.desk.stop_workers()  # the notifier dies before it sends anything…
    await office.agent.click("Acknowledge", office.card())
    async with office.desk.db.transaction() as session:
        pending = (await session.scalars(select(OutboxMessage).where(
            OutboxMessage.state == "pending"))).all()
    assert any(m.payload.get("kind") == "acknowledged" for m in pending)
    assert "taken up" not in office.resident.last_text
    await office.harness.restart()  # …and the bot with it; the rows wait in the database
    await office.settle(lambda: "taken up your complaint" in office.resident.last_text, 20)
    assert sum("taken up" in t for t in office.resident_texts()) == 1


async def test_a_blocked_resident_shows_on_the_card(office: Office) -> None:
    await office.new_ticket()
    office.emulator.block(office.resident.user)
    await office.agent.click("Acknowledge", office.card())
    await office.settle(lambda: "cannot be reached" in office.card_text())
    async with office.desk.db.transaction() as session:
        states = [m.state for m in (await session.scalars(select(OutboxMessage).where(
            OutboxMessage.chat_id == office.resident.chat_id))).all()]
    assert states == ["unreachable"]


async def test_a_resident_who_unblocks_the_bot_gets_what_they_missed(office: Office) -> None:
    await office.new_ticket()
    resident = office.resident
    office.emulator.block(resident.user)
    await office.agent.click("Acknowledge", office.card())
    await office.settle(lambda: "cannot be reached" in office.card_text())
    await office.agent.click("Investigation", office.card())
    await office.agent.click("Cancel", office.question(office.agent))
    await office.settle(lambda: "Status: under investigation" in office.card_text())
    await office.all_sent()
    missed = len(resident.messages)
    office.emulator.unblock(resident.user)
    await resident.send("/help")  # writing to the bot again
    await office.settle(lambda: "cannot be reached" not in office.card_text())
    await office.settle(lambda: any("under investigation" in (m.text or "")
                                    for m in resident.messages[missed:]))
    news = [m.text or "" for m in resident.messages[missed:]]
    taken_up = next(i for i, t in enumerate(news) if "has taken up your complaint" in t)
    investigating = next(i for i, t in enumerate(news) if "under investigation" in t)
    assert taken_up < investigating, "what was missed comes in order"
    await office.all_sent()
    async with office.desk.db.transaction() as session:
        states = {m.state for m in (await session.scalars(select(OutboxMessage).where(
            OutboxMessage.chat_id == resident.chat_id))).all()}
    assert states == {"sent"}


async def test_escalation_and_someone_elses_survey(office: Office) -> None:
    ticket = await office.new_ticket()
    await office.agent.click("Escalate", office.card())
    await office.settle(lambda: any("escalated by Agent Li" in (m.text or "")
                                    for m in office.emulator.messages(STAFF_CHAT)))
    thread = [m.text or "" for m in office.emulator.messages(STAFF_CHAT)]
    assert any("escalated by Agent Li" in t and "Manager Zhao" in t for t in thread)
    assert "Escalated to managers" in office.card_text()
    await office.agent.click("Acknowledge", office.card())
    await office.settle(lambda: "Status: acknowledged" in office.card_text())
    await office.agent.click("Investigation", office.card())
    await office.agent.click("Cancel", office.question(office.agent))
    await office.settle(lambda: "Status: under investigation" in office.card_text())
    await office.agent.click("Resolve", office.card())
    await office.agent.click("Other", office.question(office.agent))
    await office.agent.send("The street works ended.")
    await office.agent.click("Skip", office.question(office.agent))
    await office.settle(lambda: "has been resolved" in office.resident.last_text)
    survey_data = office.resident.last.button("✅ Yes").callback_data or ""
    stranger = office.harness.chat(office.emulator.user(1002, "Zhou Min"))
    await register(stranger, "Zhou Min", "5-502")
    await stranger.forge(survey_data)  # someone else's survey: as if it did not exist
    assert "Ticket not found" in office.emulator.callback_answers[-1].get("text", "")
    assert (await office.ticket()).status == "resolved"
    await office.resident.click("✅ Yes", office.resident.last_with_text("has been resolved"))
    await office.resident.click("✅ Yes", office.resident.last_with_text("has been resolved"))
    assert "already answered" in office.emulator.callback_answers[-1].get("text", "")
    assert ticket.number and (await office.ticket()).status == "closed"


async def test_replies_go_only_where_they_belong(office: Office) -> None:
    first = await office.new_ticket()
    await file_report(office.resident, "The lift in building 2 stops between floors.")
    await office.settle(lambda: sum("Ticket No." in (m.text or "") and bool(m.inline_buttons)
                                    for m in office.emulator.messages(STAFF_CHAT)) == 2)
    await office.all_sent()
    cards = [m for m in office.emulator.messages(STAFF_CHAT)
             if "Ticket No." in (m.text or "") and m.inline_buttons]
    first_card, second_card = cards
    assert f"No. {first.number}" in (first_card.text or "")
    before = len(office.resident.messages)
    await office.agent.click("Message resident", first_card)
    await office.agent.reply("Meant for the lift ticket", second_card)  # the wrong thread
    assert "another ticket; nothing was sent" in office.recent(office.agent)
    await office.agent.send("/cancel")
    await office.agent.click("Escalate", second_card)
    await office.settle(lambda: any("escalated by" in (m.text or "")
                                    for m in office.emulator.messages(STAFF_CHAT)))
    await office.all_sent()
    escalation = next(m for m in office.emulator.messages(STAFF_CHAT)
                      if "escalated by" in (m.text or ""))
    await office.manager.reply("I'll call the lift company.", escalation)  # staff talk
    await office.all_sent()
    assert len(office.resident.messages) == before  # nothing of this reached the resident


async def test_a_typed_phone_number_does_not_claim_a_hotline_complaint(office: Office) -> None:
    agent = office.agent
    await agent.send("/intake")
    for answer in ("Wang Fang", "+86 138 0013 8000", "2-301"):
        await agent.send(answer)
    await agent.click("Noise", office.question(agent))
    await agent.send("Loud music from 2-401 every night after midnight.")
    await agent.click("Walk-in", office.question(agent))
    impostor = office.resident
    await impostor.send("/start")
    await impostor.click(AGREE)
    await impostor.send("Not Wang")
    await impostor.send("+86 138 0013 8000")  # typed, not shared from their account
    await impostor.send("2-301")
    assert "registered" in impostor.last_text
    assert "already has a complaint" not in impostor.last_text
    assert (await office.ticket()).resident_id is None


async def test_a_missed_deadline_escalates_and_apologises_once_across_a_restart(
        office: Office) -> None:
    ticket = await office.new_ticket()
    number = ticket.number
    await office.all_sent()
    assert await office.desk.scheduler.tick(ticket.ack_due_at - timedelta(hours=1)) == 1
    await office.settle(lambda: any(f"⏳ No. {number} — to be acknowledged by" in (m.text or "")
                                    for m in office.emulator.messages(STAFF_CHAT)))
    assert any("Assignee: nobody yet — please take it" in (m.text or "")
               for m in office.emulator.messages(STAFF_CHAT))

    late = ticket.ack_due_at + timedelta(minutes=1)
    await office.desk.scheduler.tick(late)
    await office.settle(lambda: "we are sorry" in office.resident.last_text)
    assert office.resident.last_text.startswith(
        f"🙏 Ticket No. {number}: we are sorry — the office has not taken up your complaint")
    await office.settle(lambda: "Overdue: acknowledgement was due" in office.card_text())
    card = office.card_text()
    assert "Escalated to managers" in card and "Promised to the resident" in card
    assert "Escalate" not in str(office.card().inline_buttons)
    await office.settle(lambda: any(
        (m.text or "").startswith(f"⏰ No. {number} — not acknowledged in time. Escalated to "
                                  "managers: Manager Zhao")
        for m in office.emulator.messages(STAFF_CHAT)))
    assert_mentions_the_manager(next(m for m in office.emulator.messages(STAFF_CHAT)
                                     if "not acknowledged in time" in (m.text or "")))

    await office.all_sent()
    await office.harness.stop()
    await office.harness.start()
    await office.desk.scheduler.tick(late + timedelta(minutes=5))
    await office.all_sent()
    assert sum("we are sorry" in t for t in office.resident_texts()) == 1
    assert sum("not acknowledged in time" in (m.text or "")
               for m in office.emulator.messages(STAFF_CHAT)) == 1


def posted_report(office: Office) -> tuple[list[str], list[bytes]]:
    """The figures posted in the staff group: the texts and the charts (PNG)."""
    messages = office.emulator.messages(STAFF_CHAT)
    texts = [m.text or "" for m in messages if (m.text or "").startswith("📊 ")]
    charts = [office.emulator.file_bytes(m.file_id) for m in messages
              if m.kind == "media_group_item" and m.file_id]
    return texts, charts


async def test_stats_for_managers_with_charts(office: Office) -> None:
    await office.new_ticket()
    await office.agent.send("/stats")
    assert "Only managers can see the statistics." in office.recent(office.agent)
    await office.manager.send("/stats fortnight")
    assert "Please name a period" in office.recent(office.manager)
    await office.manager.send("/stats month")
    assert "Preparing the figures for" in office.recent(office.manager)
    await office.settle(lambda: len(posted_report(office)[1]) == 4, within=30)
    [text], charts = posted_report(office)
    lines = text.splitlines()
    assert lines[0].startswith("📊 Tickets created") and lines[0].endswith(": 1"), text
    assert "by status: received 1" in text and "by category: Noise 1" in text
    assert "Overdue now: 0" in text
    assert all(chart.startswith(b"\x89PNG\r\n\x1a\n") for chart in charts)


@pytest.mark.parametrize("office", [{"default_language": "ru"}], indirect=True)
async def test_stats_count_an_incident_once_in_the_office_language(office: Office) -> None:
    """An outage's lead and its seven linked reports are one complaint in /stats; the
    incidents line names the reports and the people affected, in the office's language."""
    from locales import gettext_for
    from tests.incident_records import AFFECTED, REPORTS, seed_incident

    await seed_incident(office.desk.db)
    await office.manager.send("/stats week")
    await office.settle(lambda: len(posted_report(office)[1]) == 4, within=30)
    [text], _charts = posted_report(office)
    _ = gettext_for("ru")
    lines = text.splitlines()
    assert lines[0].endswith(": 2"), text  # the lead and the complaint of its own
    incidents = ("incidents: %(incidents)d, each counted once; reports linked to them: "
                 "%(reports)d; residents affected: %(residents)d")
    assert _(incidents) != incidents
    assert lines[1] == "  " + _(incidents) % {"incidents": 1, "reports": REPORTS,
                                              "residents": AFFECTED}, text
    assert "  " + _("by building: %(counts)s") % {"counts": "7 2"} in lines


async def test_the_weekly_report_is_posted_once(office: Office) -> None:
    office.desk.scheduler.weekly_report = (0, 9)  # Mondays at 09:00 (the default setting)
    monday = datetime(2027, 3, 1, 9, 5, tzinfo=office.desk.engine.office.timezone)
    assert await office.desk.scheduler.tick(monday - timedelta(minutes=10)) == 0  # not yet
    assert await office.desk.scheduler.tick(monday) == 1
    await office.settle(lambda: len(posted_report(office)[1]) == 4, within=30)
    [text], _ = posted_report(office)
    assert "Tickets created 2027-02-22 – 2027-02-28" in text
    await office.harness.stop()
    await office.harness.start()
    office.desk.scheduler.weekly_report = (0, 9)
    assert await office.desk.scheduler.tick(monday + timedelta(hours=1)) == 0  # once a week
    await office.all_sent()
    assert len(posted_report(office)[0]) == 1


async def test_a_report_that_cannot_be_made_does_not_hold_up_the_group(office: Office) -> None:
    async with office.desk.db.transaction() as session:
        session.add(OutboxMessage(chat_id=STAFF_CHAT, payload={  # as no writer of ours would
            "kind": "report", "first": "last Monday", "last": "today"}))
    await office.new_ticket()  # its card still arrives
    await office.all_sent()
    async with office.desk.db.transaction() as session:
        [report] = [row for row in (await session.scalars(select(OutboxMessage))).all()
                    if row.payload["kind"] == "report"]
        assert report.state == "failed" and "report failed" in (report.last_error or "")


# real file heads, as each kind's content check reads them (filetype)
async def test_every_piece_of_evidence_reaches_the_staff_thread(office: Office) -> None:
    resident = office.resident
    await register(resident, "Wang Fang", "2-301")
    await report_to_files(resident, "Water & plumbing",
                          "Water comes through the bathroom ceiling since this morning.")
    sent = [await resident.send_photo(tiny_png((9, 9, 9))), await resident.send_voice(OGG),
            await resident.send_video(MP4), await resident.send_document(PDF, "letter.pdf",
                                                                         "application/pdf"),
            await resident.send_audio(M4A, "dripping.m4a", "audio/mp4")]
    assert all("attached" in (replies[-1].text or "") for replies in sent), [
        r[-1].text for r in sent]
    assert "5 files attached" in resident.last_text
    await resident.click("✅ Done")
    await resident.click("Normal")
    await resident.click("✅ Confirm")
    await office.settle(lambda: office.card_text() != "")
    card = office.card()
    await office.settle(lambda: len(evidence_posts(office, card)) == 5)
    ticket = await office.ticket()
    ids = {a.kind: a.file_id for a in ticket.attachments}
    assert set(ids) == {"photo", "voice", "video", "document", "audio"}
    posts = {m.file_id: m for m in evidence_posts(office, card)}
    assert set(posts) == set(ids.values())  # each file, once
    # photo and video as one album; the voice note, the PDF and the audio file on their own
    album = {posts[ids["photo"]].media_group_id, posts[ids["video"]].media_group_id}
    assert len(album) == 1 and None not in album
    assert [posts[ids[k]].kind for k in ("voice", "document", "audio")] == [
        "voice", "document", "audio"]
    assert "Files attached: 5" in office.card_text()

    # later, through My tickets: another document reaches the thread too
    await resident.send("/mytickets")
    await resident.click(resident.last.inline_buttons[0][0].text)
    await resident.click("➕ Add information")
    await resident.send_document(PDF + b"% the plumber's invoice", "invoice.pdf",
                                 "application/pdf")
    await office.settle(lambda: len(evidence_posts(office, card)) == 6)
    [invoice] = [m for m in evidence_posts(office, card) if m.file_id not in posts]
    assert invoice.kind == "document"


def thread_texts(office: Office) -> list[str]:
    return [m.text or "" for m in office.emulator.messages(STAFF_CHAT)]


async def test_the_call_back_a_week_after_closing_finds_it_came_back(office: Office) -> None:
    ticket = await resolved_and_confirmed(office)
    number = ticket.number
    assert ticket.closed_at is not None
    six_days = ticket.closed_at + timedelta(days=6)
    await office.desk.scheduler.tick(six_days)
    await office.all_sent()
    assert not any("Is the problem still solved" in t for t in office.resident_texts())
    a_week = ticket.closed_at + timedelta(days=7, hours=12)  # past 09:00 on the seventh day
    await office.desk.scheduler.tick(a_week)
    await office.settle(lambda: "Is the problem still solved" in office.resident.last_text)
    question = office.resident.last
    closed_on = ticket.closed_at.astimezone(office.desk.engine.office.timezone).date()
    assert question.text == (f"📞 Ticket No. {number} was closed on {closed_on}. Is the "
                             "problem still solved?")
    await office.settle(lambda: any("call-back sent" in t for t in thread_texts(office)))
    # a restart, and the scheduler looking again: asked once
    await office.harness.stop()
    await office.harness.start()
    await office.desk.scheduler.tick(a_week + timedelta(minutes=5))
    await office.all_sent()
    assert sum("Is the problem still solved" in t for t in office.resident_texts()) == 1

    still_solved = question.button("✅ Still solved").callback_data
    assert still_solved is not None
    await office.resident.click("🔁 It came back", question)
    assert office.resident.last_text.startswith(
        f"We are sorry it came back. Ticket No. {number} is open again")
    assert not question.inline_buttons  # the question now reads as its answer
    await office.resident.forge(still_solved, question.message_id)  # an old button, pressed
    assert "already answered" in str(office.emulator.callback_answers[-1].get("text"))
    await office.settle(lambda: any("the problem came back" in t and "Manager Zhao" in t
                                    for t in thread_texts(office)))
    await office.settle(lambda: "Status: reopened" in office.card_text())
    assert "Take up again by" in office.card_text()
    stored = await office.ticket()
    assert stored.status == "reopened" and stored.reopen_count == 1
    assert stored.escalated_at is not None

    await office.manager.send("/stats month")
    await office.settle(lambda: any(t.startswith("📊 ") for t in thread_texts(office)), 30)
    [figures] = [t for t in thread_texts(office) if t.startswith("📊 ")]
    assert ("Call-backs: 1 asked, answered 100% (1 of 1); the problem came back: 100% (1 of 1)"
            in figures)


async def test_a_manager_may_have_the_alerts_in_a_private_chat_too(office: Office) -> None:
    emulator = office.emulator
    zhao = office.harness.chat(emulator.user(MANAGER, "Manager Zhao"))  # private, with the bot
    li = office.harness.chat(emulator.user(AGENT, "Agent Li"))
    await li.send("/alerts private")
    assert "for the office's managers" in li.last_text
    await zhao.send("/alerts")
    assert "reach you in the staff group" in zhao.last_text
    await zhao.send("/alerts everywhere")
    assert "/alerts private or /alerts group" in zhao.last_text
    await zhao.send("/alerts private")
    assert "reach you here in this chat" in zhao.last_text

    ticket = await office.new_ticket()
    await office.agent.click("Escalate", office.card())
    await office.settle(lambda: any("escalated by Agent Li" in (m.text or "")
                                    for m in zhao.messages))
    [alert] = [m for m in zhao.messages if "escalated by Agent Li" in (m.text or "")]
    assert (alert.text or "").startswith(f"⬆️ No. {ticket.number} — escalated by Agent Li")
    assert alert.reply_to_message_id is None  # not a reply: the card lives in the group
    await office.settle(lambda: any("escalated by Agent Li" in (m.text or "")
                                    for m in emulator.messages(STAFF_CHAT)))  # there as well

    await zhao.send("/alerts group")
    assert "reach you in the staff group" in zhao.last_text
    before = len(zhao.messages)
    await office.desk.scheduler.tick(ticket.ack_due_at + timedelta(minutes=1))  # missed
    await office.settle(lambda: any("not acknowledged in time" in (m.text or "")
                                    for m in emulator.messages(STAFF_CHAT)))
    await office.all_sent()
    assert len(zhao.messages) == before  # the group only, now


async def test_a_neighbour_dispute_is_mediated_and_the_complainant_stays_anonymous(
        office: Office) -> None:
    """The other party hears only what the office wrote for them: over the whole mediation,
    none of the complainant's name, unit, phone, words or files reaches their chat."""
    resident, agent = office.resident, office.agent
    await register(resident, "Wang Fang", "2-301")
    await resident.send("/report")
    await resident.click("Noise")
    words = "Loud music and dancing above my bedroom every night until three."
    await resident.send(words)
    await answer_questions(resident, "Noise")
    await resident.send_photo(tiny_png((3, 1, 4)))
    await resident.click("✅ Done")
    await resident.click("Normal")
    await resident.click("✅ Confirm")
    await office.settle(lambda: office.card_text() != "")
    ticket = await office.ticket()
    neighbour = office.harness.chat(office.emulator.user(1002, "Zhang Wei"))
    await register(neighbour, "Zhang Wei", "3-301")

    await agent.click("Acknowledge", office.card())
    await office.settle(lambda: "Status: acknowledged" in office.card_text())
    await agent.click("Other party", office.card())  # a dispute: the card offers mediation
    await agent.send("4-401")
    await agent.click("Message through the bot", office.question(agent))
    await agent.send("Hello, a neighbour has reported loud music at night.")
    assert "Nobody of that flat uses the bot" in office.recent(agent)  # nothing was sent
    await agent.click("Other party", office.card())
    await agent.send("2-301")  # the complainant's own flat
    await agent.click("A call", office.question(agent))
    await agent.send("Called.")
    assert "the complainant's own flat" in office.recent(agent)
    await agent.click("Other party", office.card())
    await agent.send("3-301")
    await agent.click("Message through the bot", office.question(agent))
    await agent.send("Hello, a neighbour has reported loud music at night. Could you keep it "
                     "down after 22:00?")
    assert "their answer will come here" in office.recent(agent)
    await office.settle(lambda: "about a matter a neighbour has reported" in (
        neighbour.last_text))
    asked = neighbour.last
    assert "Could you keep it down after 22:00?" in (asked.text or "")
    await office.settle(lambda: "Other party: unit 3-301 (uses the bot)" in office.card_text())

    await neighbour.reply("Sorry, it was a birthday party; it will not happen again.", asked)
    assert "passed on to the office" in neighbour.last_text
    await office.settle(lambda: any(
        "the other party (unit 3-301) answers" in t and "birthday party" in t
        for t in thread_texts(office)))
    assert not any("birthday" in t for t in office.resident_texts())  # not the complainant's

    await agent.click("Investigation", office.card())
    await agent.click("Cancel", office.question(agent))
    await office.settle(lambda: "Status: under investigation" in office.card_text())
    await agent.click("Agreement", office.card())
    await agent.send("Quiet after 22:00 on weekdays, agreed by both neighbours.")
    await agent.click("Today", office.question(agent))
    assert "resolved as a mediation" in office.recent(agent)
    await office.settle(lambda: "has been resolved" in resident.last_text)
    assert "What was done: Quiet after 22:00 on weekdays" in resident.last_text
    await office.settle(lambda: "has been settled" in neighbour.last_text)
    stored = await office.ticket()
    assert stored.status == "resolved" and stored.resolution_type == "mediation"
    assert stored.party is not None and stored.party.agreement is not None
    assert "Agreement of" in office.card_text()

    await office.all_sent()
    heard = [m for m in office.emulator.messages(neighbour.user.id)]
    texts = " ".join((m.text or "") for m in heard)
    for identifying in ("Wang Fang", "2-301", "13800138000", "138 0013", "bedroom",
                        "Loud music and dancing", words):
        assert identifying not in texts, identifying
    complainant_files = {a.file_id for a in stored.attachments}
    assert not complainant_files & {m.file_id for m in heard}
    assert ticket.number and ticket.number in texts  # the matter is named by its number only


async def test_mediation_is_offered_on_disputes_only(office: Office) -> None:
    await register(office.resident, "Wang Fang", "2-301")
    await office.resident.send("/report")
    await office.resident.click("Electricity")
    await office.resident.send("The corridor lights on floor 12 are off.")
    await answer_questions(office.resident, "Electricity")
    await office.resident.click("Skip")
    await office.resident.click("Normal")
    await office.resident.click("✅ Confirm")
    await office.settle(lambda: office.card_text() != "")
    await office.agent.click("Acknowledge", office.card())
    await office.settle(lambda: "Status: acknowledged" in office.card_text())
    card = office.card()
    assert "Other party" not in str(card.inline_buttons)
    ticket = await office.ticket()
    await office.agent.forge(f"sf:pty:{ticket.id}.{ticket.version}", card.message_id)
    assert office.emulator.callback_answers[-1].get("text")  # refused, with a reason
    assert office.agent.user.first_name + ", " not in office.recent(office.agent)


async def test_the_resolve_clock_pauses_while_the_resident_is_asked(office: Office) -> None:
    ticket = await office.new_ticket()
    agent = office.agent
    await agent.click("Acknowledge", office.card())
    await office.settle(lambda: "Status: acknowledged" in office.card_text())
    await agent.click("Request information", office.card())
    await agent.send("Which flat does the noise come from?")
    await office.settle(lambda: "needs more information" in office.resident.last_text)
    asked = office.resident.last
    await office.settle(lambda: "⏸ Resolve clock paused since" in office.card_text())
    assert "Resolve by" not in office.card_text()
    paused = await office.ticket()
    assert paused.status == "waiting_for_resident" and paused.resolve_paused_at is not None
    await office.resident.reply("From 3-301, every night after midnight.", asked)
    await office.settle(lambda: "Resolve by:" in office.card_text())
    assert "paused" not in office.card_text()
    resumed = await office.ticket()
    assert resumed.status == "acknowledged" and resumed.resolve_paused_at is None
    # the deadline moved on by no more than the wait (seconds, or nothing out of office hours)
    assert ticket.resolve_due_at <= resumed.resolve_due_at <= ticket.resolve_due_at + (
        timedelta(minutes=5))


async def test_the_resident_hears_the_fix_is_under_way_when_it_lasts(office: Office) -> None:
    await investigating(office)
    agent = office.agent
    await agent.click("Resolve", office.card())  # being resolved; its questions begin…
    await agent.click("Cancel", office.question(agent))  # …and wait for another day
    await office.settle(lambda: "Status: being resolved" in office.card_text())
    await office.all_sent()
    assert "working on the fix" not in office.resident.last_text  # not at once
    await office.desk.scheduler.tick(utcnow() + timedelta(minutes=11))
    await office.settle(lambda: "now working on the fix" in office.resident.last_text)
