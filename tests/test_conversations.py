"""The conversation core by plain function calls (no network), on SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
from typing import Any

from sqlalchemy import select

from conversations.context import Office
from conversations.engine import Engine
from conversations.events import Button, Event, EventKind, Media, Outcome, Sender
from conversations.keyboards import CALLBACK_LIMIT
from conversations.report import ReportDraft
from storage.db import Database
from storage.models import ConversationState, Resident, Ticket, UnitInvite
from storage.repositories import Units

_update_ids = itertools.count(1)


class Talk:
    """A resident talking to the engine directly, one transaction per event."""

    def __init__(self, db: Database, *, user_id: int = 77, language: str | None = "en") -> None:
        self.db = db
        self.engine = Engine(Office(emergency_phone="110"))
        self.sender = Sender(user_id, user_id, "Test Resident", language)
        self.buttons: list[Button] = []  # every button the engine built in this talk

    async def _event(self, **fields: Any) -> Outcome:
        event = Event(update_id=next(_update_ids), sender=self.sender, **fields)
        return await self.replay(event)

    async def replay(self, event: Event) -> Outcome:
        async with self.db.transaction() as session:
            outcome = await self.engine.handle(session, event)
        self.buttons += [b for r in outcome.replies for row in r.buttons for b in row]
        return outcome

    async def send(self, text: str) -> Outcome:
        if text.startswith("/"):
            name, _, args = text[1:].partition(" ")
            return await self._event(kind=EventKind.COMMAND, text=text, command=name,
                                     command_args=args)
        return await self._event(kind=EventKind.TEXT, text=text)

    async def press(self, data: str) -> Outcome:
        return await self._event(kind=EventKind.BUTTON, callback_data=data, callback_id="q",
                                 message_id=5)

    async def click(self, label: str) -> Outcome:
        """Press the most recent button whose text contains `label`."""
        found = next(b for b in reversed(self.buttons) if label in b.text)
        return await self.press(found.data)

    async def contact(self, phone: str, owner: int | None = None) -> Outcome:
        return await self._event(kind=EventKind.CONTACT, phone=phone,
                                 contact_user_id=owner or self.sender.user_id)

    async def photo(self, unique: str, album: str | None = None,
                    caption: str | None = None) -> Outcome:
        media = Media("photo", f"file-{unique}", unique, 1000, "image/png", "0" * 64, None)
        return await self._event(kind=EventKind.PHOTO, media=media, album_id=album,
                                 text=caption)


def text_of(outcome: Outcome) -> str:
    return "\n".join(r.text for r in outcome.replies)


async def register(talk: Talk) -> None:
    await talk.send("/start")
    await talk.click("I agree")
    await talk.send("Zhang San")
    await talk.contact("+8613700000000")
    outcome = await talk.send("7-0701")
    assert "registered" in text_of(outcome)


async def test_report_flow_stores_a_ticket(db: Database) -> None:
    talk = Talk(db)
    await register(talk)
    assert "Choose a category" in text_of(await talk.send("/report"))
    assert "describe" in text_of(await talk.press("rp:cat:noise"))
    asked = await talk.send("Loud music every night after midnight from 7-0801.")
    assert text_of(asked) == "(1/2) When does the noise happen?"
    await talk.press("rp:ans:when.night")
    await talk.press("rp:skipq:from")  # optional
    await talk.photo("u1")
    await talk.press("rp:done")
    summary = await talk.press("rp:prio:urgent")
    assert "110" in text_of(summary) and summary.replies[0].edit
    confirmed = await talk.click("Confirm")
    assert "registered as No." in text_of(confirmed)
    async with db.transaction() as session:
        ticket = await session.scalar(select(Ticket))
        assert ticket is not None
        assert (ticket.category_code, ticket.priority, ticket.status) == ("noise", "urgent", "new")
        assert [a.file_unique_id for a in ticket.attachments] == ["u1"]
        assert [(d.question, d.value) for d in ticket.details] == [("when", "night")]
        assert [(e.kind, e.to_status) for e in ticket.events] == [("status", "new")]
        assert ticket.ack_due_at > ticket.created_at


async def test_a_draft_written_before_the_upgrade_is_finished_after_it(db: Database) -> None:
    """The report draft of an earlier release (no version, plain keys) is read and sent."""
    talk = Talk(db)
    await register(talk)
    await talk.send("/report")
    old_draft = {"key": "0123456789abcdef", "evidence": [], "category": "noise",
                 "description": "Drilling on the floor above since 7 am.", "priority": "normal"}
    async with db.transaction() as session:
        state = await session.get(ConversationState, talk.sender.chat_id)
        assert state is not None
        state.step, state.data = "summary", {"lang": "en", "draft": old_draft}
    confirmed = await talk.press("rp:confirm:01234567")
    assert "registered as No." in text_of(confirmed)
    async with db.transaction() as session:
        ticket = await session.scalar(select(Ticket))
        assert ticket is not None and ticket.description == old_draft["description"]
    draft = ReportDraft.read(old_draft)
    assert (draft.key, draft.category, draft.priority) == ("0123456789abcdef", "noise", "normal")
    assert ReportDraft.read(draft.to_json()) == draft and draft.to_json()["v"] == 2
    assert draft.details == {} and draft.asking is None  # (version 1 had no questions)


async def test_editing_from_the_summary_returns_to_the_summary(db: Database) -> None:
    talk = Talk(db)
    await register(talk)
    await talk.send("/report")
    await talk.press("rp:cat:noise")
    await talk.send("First description, long enough.")
    await talk.press("rp:ans:when.day")
    await talk.press("rp:ans:from.below")
    await talk.press("rp:skip")
    await talk.press("rp:prio:normal")
    await talk.press("rp:edit")
    await talk.press("rp:goto:description")
    summary = await talk.send("Second description, better.")
    assert "Second description, better." in text_of(summary)
    await talk.press("rp:edit")
    summary = await talk.press("rp:goto:category")
    summary = await talk.press("rp:cat:parking")
    assert "Category: Parking" in text_of(summary) and "Please check" in text_of(summary)


async def test_same_update_twice_is_handled_once(db: Database) -> None:
    talk = Talk(db)
    event = Event(update_id=next(_update_ids), sender=talk.sender, kind=EventKind.COMMAND,
                  text="/start", command="start")
    first = await talk.replay(event)
    again = await talk.replay(event)
    assert first.result == "ok" and again.result == "duplicate"
    # no second effect; the answer kept with the update comes back, for the shell to send
    # again should it never have gone out (it sends it only if this process did not)
    assert again.replies == first.replies and again.callback_answer == first.callback_answer
    later = Event(update_id=next(_update_ids), sender=talk.sender, kind=EventKind.COMMAND,
                  text="/help", command="help")
    await talk.replay(later)
    assert (await talk.replay(event)).replies == []  # only the chat's last answer is kept


async def test_every_button_fits_telegrams_64_bytes(db: Database) -> None:
    """Walk every flow and check each button the engine builds."""
    talk = Talk(db, user_id=999_999_999_999)
    await talk.send("/language")
    await register(talk)
    await talk.send("/help")
    for _ in range(7):  # enough tickets for two pages
        await talk.send("/report")
        await talk.press("rp:cat:neighbour")
        await talk.send("A dispute with the neighbours about the shared corridor.")
        await talk.photo(f"p{_}")
        await talk.press("rp:done")
        await talk.press("rp:prio:normal")
        await talk.press("rp:edit")
        await talk.press("rp:back")
        await talk.click("Confirm")
    listing = await talk.send("/mytickets")
    await talk.press(listing.replies[0].buttons[-1][-1].data)  # next page
    ticket_button = listing.replies[0].buttons[0][0].data
    await talk.press(ticket_button)
    await talk.press(ticket_button.replace("show", "wd"))
    await talk.press(ticket_button.replace("show", "add"))
    assert talk.buttons
    for button in talk.buttons:
        assert len(button.data.encode()) <= CALLBACK_LIMIT, button
        assert button.text.strip()


async def test_invite_token_registers_the_unit(db: Database) -> None:
    async with db.transaction() as session:
        await Units(session).import_rows([{"building": "9", "unit": "901", "floor": "9"}])
        unit = await Units(session).find((await Units(session).buildings())[0].id, "901")
        assert unit is not None
        session.add(UnitInvite(token="tok123", unit_id=unit.id))
    talk = Talk(db)
    await talk.send("/start tok123")
    await talk.click("I agree")
    await talk.send("Zhao Liu")
    done = await talk.contact("+8613600000000")
    assert "9-901" in text_of(done)
    async with db.transaction() as session:
        resident = await session.scalar(select(Resident))
        invite = await session.get(UnitInvite, "tok123")
        assert resident is not None and resident.unit_verified and invite is not None
        assert invite.used_by_resident_id == resident.id
    # a used token is refused politely, and registration goes on as usual
    other = Talk(db, user_id=78)
    assert "not valid" in text_of(await other.send("/start tok123"))


async def test_language_choice_is_kept(db: Database) -> None:
    talk = Talk(db, language="en")
    await talk.send("/language")
    switched = await talk.press("lg:set:ru")
    assert "Русский" in text_of(switched)
    assert "Добро пожаловать" in text_of(await talk.send("/start"))
    async with db.transaction() as session:
        state = await session.get(ConversationState, talk.sender.chat_id)
        assert state is not None and state.data["lang"] == "ru"


async def test_starting_again_asks_before_discarding_a_draft(db: Database) -> None:
    talk = Talk(db)
    await register(talk)
    await talk.send("/report")
    await talk.press("rp:cat:water")
    await talk.send("The basement is flooding since noon today.")
    await talk.photo("w1")
    question = await talk.send("/report")
    assert "unfinished report" in text_of(question)
    resumed = await talk.click("Continue")
    # back at the question asked, draft intact
    assert "Where is the water coming from?" in text_of(resumed)
    await talk.send("/start")
    fresh = await talk.click("Start anew")
    assert "Choose a category" in text_of(fresh)


async def test_a_captioned_photo_describes_and_attaches(db: Database) -> None:
    talk = Talk(db)
    await register(talk)
    await talk.send("/report")
    await talk.press("rp:cat:facility")
    outcome = await talk.photo("c1", caption="The lift door does not close on floor 3.")
    assert "What is broken" in text_of(outcome) and "attached to your report" in text_of(outcome)
    await talk.send("The lift")
    await talk.press("rp:skipq:usable")
    await talk.press("rp:done")
    summary = await talk.press("rp:prio:normal")
    assert "The lift door does not close on floor 3." in text_of(summary)
    assert "Files attached: 1" in text_of(summary)


async def test_the_confirm_of_an_old_summary_does_not_submit_a_new_draft(db: Database) -> None:
    talk = Talk(db)
    await register(talk)
    await talk.send("/report")
    await talk.press("rp:cat:noise")
    await talk.send("First report about the barking dog.")
    await talk.press("rp:ans:when.always")
    await talk.press("rp:skipq:from")
    await talk.press("rp:skip")
    await talk.press("rp:prio:normal")
    old_confirm = next(b for b in reversed(talk.buttons) if "Confirm" in b.text).data
    await talk.press("rp:cancel")
    await talk.send("/report")
    await talk.press("rp:cat:noise")
    await talk.send("Second report, different words.")
    await talk.press("rp:ans:when.always")
    await talk.press("rp:skipq:from")
    await talk.press("rp:skip")
    await talk.press("rp:prio:normal")
    stale = await talk.press(old_confirm)
    assert stale.callback_answer is not None
    assert stale.callback_answer.text == "This button is no longer active."
    async with db.transaction() as session:
        assert (await session.scalars(select(Ticket))).all() == []


async def test_an_unlisted_flat_is_registered_unverified(db: Database) -> None:
    async with db.transaction() as session:
        await Units(session).import_rows([{"building": "5", "unit": "501"}])
    talk = Talk(db)
    await talk.send("/start")
    await talk.click("I agree")
    await talk.send("Qian Qi")
    await talk.contact("+8613500000000")
    missing = await talk.send("599")
    assert "could not find flat 599" in text_of(missing)
    done = await talk.click("not on the list")
    assert "5-599" in text_of(done)
    async with db.transaction() as session:
        resident = await session.scalar(select(Resident))
        assert resident is not None and not resident.unit_verified
        assert resident.unit_text == "5-599"


async def test_an_office_category_is_offered_with_its_own_name(db: Database) -> None:
    from storage.repositories import Categories

    async with db.transaction() as session:
        await Categories(session).upsert("lift", titles={"en": "Lift", "zh_Hans": "电梯"})
        await Categories(session).upsert("noise", titles={}, active=False)
    talk = Talk(db)
    await register(talk)
    menu = await talk.send("/report")
    labels = [b.text for row in menu.replies[0].buttons for b in row]
    assert "Lift" in labels and "Noise" not in labels
    await talk.press("rp:cat:lift")
    await talk.send("The lift stops between floors 4 and 5.")
    await talk.press("rp:skip")
    summary = await talk.press("rp:prio:normal")
    assert "Category: Lift" in text_of(summary)
    await talk.click("Confirm")
    listing = await talk.send("/mytickets")
    assert "Lift" in listing.replies[0].buttons[0][0].text
