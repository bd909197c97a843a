"""Reply templates: kept only when every placeholder is known; filled per ticket and language;
picked in the staff group (shown filled, then used or rewritten); kept with `residesk
templates`."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from storage.models import ReplyTemplate, TicketEvent
from storage.repositories import ReplyTemplates
from tests.office import Office
from tests.processes import residesk
from tickets.templates import Fields, TemplateError, check, fill, text_for

PLUMBER = {"en": "Dear {name}, a plumber will come to {unit} about No. {number} today.",
           "zh_Hans": "{name}您好，关于{number}号工单，水电工今天会到{unit}上门。"}


def test_a_template_is_kept_only_with_known_placeholders() -> None:
    assert check("  Plumber   booked ", PLUMBER) == ("Plumber booked", PLUMBER)
    for texts, says in (({"en": "Hi {resident}"}, "unknown placeholder {resident}"),
                        ({"en": "Hi {name"}, "without its }"),
                        ({"en": " "}, "at least one language"),
                        ({"fr": "Salut"}, "not a language"),
                        ({"en": "x" * 2001}, "longer than 2000")):
        with pytest.raises(TemplateError, match=says):
            check("A title", texts)
    with pytest.raises(TemplateError, match="title"):
        check("x" * 65, PLUMBER)


def test_a_template_is_filled_in_the_residents_language() -> None:
    template = ReplyTemplate(title="Plumber booked", purpose="message", texts=PLUMBER)
    fields = Fields(number="2612-0007", name="Wang Fang", unit="2-301", category="Water")
    assert fill(text_for(template, "zh_Hans"), fields) == (
        "Wang Fang您好，关于2612-0007号工单，水电工今天会到2-301上门。")
    assert fill(text_for(template, "ru"), fields).startswith("Dear Wang Fang, a plumber")
    assert fill("{{braces}} stay, {unknown} too", fields) == "{braces} stay, {unknown} too"


async def test_staff_pick_a_template_see_it_filled_and_send_or_rewrite_it(office: Office
                                                                          ) -> None:
    async with office.desk.db.transaction() as session:
        templates = ReplyTemplates(session)
        await templates.upsert("Plumber booked", "message", PLUMBER)
        await templates.upsert("Not ours", "reject", {"en": "Not the office's: {category}."})
        await templates.upsert("Old one", "message", {"en": "Unused."}, active=False)
    ticket = await office.new_ticket()
    agent = office.agent
    await agent.click("Message resident", office.card())
    question = office.question(agent)
    labels = [b.text for row in question.inline_buttons for b in row]
    assert "📋 Plumber booked" in labels and "📋 Old one" not in labels
    assert "📋 Not ours" not in labels  # a rejection's template, not a message's
    await agent.click("📋 Plumber booked", question)
    shown = office.question(agent)
    expected = f"Dear Wang Fang, a plumber will come to 2-301 about No. {ticket.number} today."
    assert expected in (shown.text or "") and "Use this text" in (shown.text or "")
    await agent.click("✅ Use this text", shown)
    assert "Sent to the resident" in office.recent(agent)
    await office.settle(lambda: expected in office.resident.last_text)

    await agent.click("Message resident", office.card())
    await agent.click("📋 Plumber booked", office.question(agent))
    await agent.send("Dear Wang Fang, the plumber comes tomorrow at nine instead.")
    await office.settle(lambda: "tomorrow at nine" in office.resident.last_text)
    await agent.click("Message resident", office.card())
    question = office.question(agent)
    tag = (question.inline_buttons[0][0].callback_data or "").rsplit(":", 1)[1]
    await agent.forge(f"sd:tpl.999:{tag}", question.message_id)  # no such template
    assert "no longer offered" in (office.question(agent).text or "")
    async with office.desk.db.transaction() as session:
        sent = (await session.scalars(select(TicketEvent.note).where(
            TicketEvent.kind == "staff_message"))).all()
    assert sent == [expected, "Dear Wang Fang, the plumber comes tomorrow at nine instead."]


def test_templates_are_kept_with_the_command_line(tmp_path: Path) -> None:
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'desk.db'}"}
    added = residesk("templates", "set", "Plumber booked", "--for", "message",
                     "--text", f"en={PLUMBER['en']}", "--text", f"zh_Hans={PLUMBER['zh_Hans']}",
                     cwd=tmp_path, env=env)
    assert added.returncode == 0 and "'Plumber booked' (message) added" in added.stdout
    refused = residesk("templates", "set", "Bad", "--text", "en=Hi {resident}", cwd=tmp_path,
                       env=env)
    assert refused.returncode == 1 and "unknown placeholder {resident}" in refused.stderr
    changed = residesk("templates", "set", "Plumber booked", "--text", "ru=Здравствуйте, {name}",
                       "--disable", cwd=tmp_path, env=env)
    assert changed.returncode == 0 and "updated" in changed.stdout
    listing = residesk("templates", "list", cwd=tmp_path, env=env).stdout
    assert "message  disabled Plumber booked" in listing
    assert "zh_Hans: {name}您好" in listing and "ru: Здравствуйте, {name}" in listing
    assert "Bad" not in listing


@pytest.mark.parametrize("office", [{"dispute_hide_complainant": True}], indirect=True)
async def test_a_hidden_complainant_is_not_named_by_a_template(office: Office) -> None:
    """DISPUTE_HIDE_COMPLAINANT: the staff group does not see who complained of a noise,
    so no template that would fill in their name or flat is offered there."""
    async with office.desk.db.transaction() as session:
        templates = ReplyTemplates(session)
        await templates.upsert("Plumber booked", "message", PLUMBER)
        await templates.upsert("Neutral", "message", {"en": "About No. {number}: noted."})
    await office.new_ticket()  # a noise report: a dispute
    await office.agent.click("Message resident", office.card())
    labels = [b.text for row in office.question(office.agent).inline_buttons for b in row]
    assert "📋 Neutral" in labels and "📋 Plumber booked" not in labels
