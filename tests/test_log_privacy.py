"""Who saw what (issue 16): a whole ticket's life through the real bot, on both frameworks and
both databases, logged as production logs it — at DEBUG and at INFO. No line holds the
resident's name, phone number, anything they or the staff wrote, nor a raw chat or user id."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from bot import logs
from bot.demo import tiny_png
from tests.chats import AGREE, answer_questions
from tests.office import STAFF_CHAT, Office

# unique enough that no log line could hold one by chance
USER_ID = 918273645
FIRST, LAST = "Ximena", "Oyelaran-Quist"
NAME = "Ximena Oyelaran-Quist"
USERNAME = "xoq_resident"
UNIT = "3-1207"
PHONE_TYPED = "139 2468 1357"
PHONES = ("+8613924681357", "8613924681357", "13924681357", PHONE_TYPED, "139-2468-1357")
OGG = b"OggS\x00\x02" + b"\x00" * 64
TEXTS = {
    "description": "Zircon-blue water seeps through the bathroom wall behind the mirror",
    "agent reply": "Could you tell us whether the quokka-shaped stain has grown?",
    "resident answer": "It doubled since Tuesday, covering the marmalade tiles",
    "investigation": "Cracked elbow joint inside the shaft behind apartment sapphire",
    "resolution": "Our plumber swapped the periwinkle elbow joint and dried the wall",
    "prevention": "Every riser joint of the tangerine building gets a yearly check",
    "internal note": "Resident seems anxious about the xylophone insurance claim",
    "comment": "Swift, courteous and tidy work, many thanks from the flamingo flat",
}


class Captured:
    """Every record the process logs, through the handler production logs through."""

    def __init__(self, level: int) -> None:
        self.stream = io.StringIO()
        self.handler = logs.handler(self.stream)
        self.level = level

    def __enter__(self) -> Captured:
        root = logging.getLogger()
        self._before = root.level
        root.addHandler(self.handler)
        root.setLevel(self.level)
        logs.hold_libraries()
        return self

    def __exit__(self, *_: object) -> None:
        root = logging.getLogger()
        root.removeHandler(self.handler)
        # the libraries stay held, as in production: undone, httpx would lose the WARNING
        # level importing the PTB adapter gave it (its URLs hold the token)
        root.setLevel(self._before)

    @property
    def text(self) -> str:
        return self.stream.getvalue()


@pytest.fixture(params=[logging.DEBUG, logging.INFO], ids=["debug", "info"])
def captured(request: pytest.FixtureRequest) -> Iterator[Captured]:
    with Captured(int(request.param)) as found:
        yield found


async def a_whole_life(office: Office) -> None:
    """Registration with a typed phone, a report with a photo and a voice note, messages both
    ways, an internal note, investigation, resolution, the survey with a comment."""
    emulator, agent = office.emulator, office.agent
    resident = office.resident = office.harness.chat(emulator.user(
        USER_ID, FIRST, last_name=LAST, username=USERNAME))
    await resident.send("/start")
    await resident.click(AGREE)
    await resident.send(NAME)
    await resident.send(PHONE_TYPED)
    await resident.send(UNIT)
    assert "registered" in resident.last_text
    await resident.send("/report")
    await resident.click("Water & plumbing")
    await resident.send(TEXTS["description"])
    await answer_questions(resident, "Water & plumbing")
    emulator.inject_error("sendMessage", 500)  # a retried answer logs its failure too
    await resident.send_photo(tiny_png((4, 8, 15)), caption=TEXTS["description"])
    await resident.send_voice(OGG)
    await resident.click("✅ Done")
    await resident.click("Normal")
    await resident.click("✅ Confirm")
    await office.settle(lambda: "Ticket No." in office.card_text())

    await agent.click("Acknowledge", office.card())
    await office.settle(lambda: "taken up" in resident.last_text)
    await agent.reply(TEXTS["agent reply"], office.card())
    await office.settle(lambda: "quokka" in resident.last_text)
    await office.all_sent()
    await resident.reply(TEXTS["resident answer"], resident.last)
    assert "Added to ticket" in resident.last_text
    await agent.click("Internal note", office.card())
    await agent.send(TEXTS["internal note"])

    await agent.click("Investigation", office.card())
    await agent.click("Today", office.question(agent))
    await agent.click("Me", office.question(agent))
    await agent.send(TEXTS["investigation"])
    await agent.click("Skip", office.question(agent))
    await agent.click("Medium", office.question(agent))
    await agent.click("Facility or equipment", office.question(agent))
    await agent.send("A corroded joint")
    await office.settle(lambda: "Severity: Medium" in office.card_text())
    await agent.click("Resolve", office.card())
    await agent.click("Repair", office.question(agent))
    await agent.send(TEXTS["resolution"])
    await agent.send(TEXTS["prevention"])
    await agent.click("In a week", office.question(agent))

    await office.settle(lambda: "has been resolved" in resident.last_text)
    await resident.click("✅ Yes", resident.last)
    await resident.click("5⭐", resident.last)
    await resident.send(TEXTS["comment"])
    assert "Thank you for your feedback" in resident.last_text
    await resident.send("/mytickets")
    await resident.click(resident.last.inline_buttons[0][0].text)
    await office.all_sent()


async def test_a_whole_life_logs_no_personal_data(captured: Captured, office: Office) -> None:
    await a_whole_life(office)
    ticket = await office.ticket()
    assert ticket.status == "closed" and ticket.rating_comment == TEXTS["comment"]
    assert ticket.resident is not None and ticket.resident.phone == PHONES[0]
    logged = captured.text
    # it did log: one line per update, each chat by its ref
    ref = logs.chat_ref(USER_ID)
    assert f"chat={ref} " in logged and f"chat={logs.chat_ref(STAFF_CHAT)} " in logged
    assert "Telegram unavailable" in logged
    secret = office.emulator.token
    forbidden = {"the token": secret.split(":")[1], "the name": FIRST, "the surname": LAST,
                 "the username": USERNAME, "the user id": str(USER_ID),
                 "the staff group's id": str(STAFF_CHAT),
                 **{f"the phone as {phone}": phone for phone in PHONES},
                 **{f"the {what}": text for what, text in TEXTS.items()}}
    # a few words of each text too: a line cut short still must not quote it
    forbidden |= {f"words of the {what}": " ".join(text.split()[2:5])
                  for what, text in TEXTS.items()}
    leaks = [f"{what} in: {line}" for line in logged.splitlines()
             for what, value in forbidden.items() if value.lower() in line.lower()]
    assert not leaks, "\n".join(leaks)


def test_a_chat_ref_is_short_keyed_and_stable() -> None:
    a = logs.chat_ref(USER_ID, secret="123:token-one")
    assert a == logs.chat_ref(USER_ID, secret="123:token-one") and len(a) == 10
    assert a != logs.chat_ref(USER_ID, secret="123:token-two")  # another deployment
    assert a != logs.chat_ref(USER_ID + 1, secret="123:token-one")
    assert str(USER_ID) not in a and logs.chat_ref(None) == "-"


def test_library_debug_lines_are_held_back_and_tracebacks_name_no_values() -> None:
    with Captured(logging.DEBUG) as found:
        logging.getLogger("telegram.Bot").debug("Calling sendMessage with %s", TEXTS["comment"])
        logging.getLogger("some.library").debug("update %s", TEXTS["comment"])
        logging.getLogger("bot.somewhere").debug("ours at debug")
        try:
            raise ValueError(f"cannot read {PHONES[0]}")
        except ValueError:
            logging.getLogger("residesk").exception("failed")
    assert TEXTS["comment"] not in found.text and PHONES[0] not in found.text
    assert "ours at debug" in found.text
    assert "Traceback" in found.text and "ValueError" in found.text
    assert "test_log_privacy.py" in found.text  # the frames stay: where it failed


def test_an_access_log_line_keeps_no_query() -> None:
    record = logging.LogRecord("gunicorn.access", logging.INFO, __file__, 1,
                               '127.0.0.1 [x] "GET /console/tickets?q=%2B8613924681357&page=2 '
                               'HTTP/1.1" 200 512 0.01', None, None)
    assert logs.DropQueries().filter(record)
    assert record.getMessage() == '127.0.0.1 [x] "GET /console/tickets?… HTTP/1.1" 200 512 0.01'
