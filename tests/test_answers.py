"""Small typed contracts of issue 11: the kept answer's JSON, and the safe reasons in logs."""

from __future__ import annotations

import errno
import sqlite3

from bot.logs import reason
from conversations.events import (
    Answer,
    Button,
    CallbackAnswer,
    FileRef,
    KeyboardButton,
    Reply,
    clean_text,
)


def test_an_answer_reads_back_as_it_was_written() -> None:
    answer = Answer(42, (
        Reply("Choose:", buttons=((Button("A", "rp:a"), Button("B", "rp:b")),), edit=True),
        Reply("Phone?", keyboard=((KeyboardButton("📱 Share", request_contact=True),),)),
        Reply("Bye", remove_keyboard=True, reply_to=7),
        Reply("Evidence", file=FileRef("photo", "F1"), edit_message_id=9),
        Reply("", album=(FileRef("photo", "F2"), FileRef("video", "F3"))),
    ), CallbackAnswer("Saved", alert=True))
    assert Answer.from_json(answer.to_json()) == answer
    assert Answer.from_json(Answer(1).to_json()) == Answer(1)
    assert Answer.from_json({"v": 99, "update": 1}) is None  # a newer writer's: no answer
    assert Answer.from_json(None) is None


def test_control_characters_go_and_line_ends_stay() -> None:
    assert clean_text("a\x00b\x07c\x1b\x7f\x85d\ud800") == "abcd"
    assert clean_text("one\r\ntwo\rthree\tfour\n") == "one\ntwo\nthree\tfour\n"
    assert clean_text("李伟 👍🏽 ‍") == "李伟 👍🏽 ‍"  # joiners and emoji are text


def test_reasons_name_the_cause_never_the_values() -> None:
    disk = OSError(errno.ENOSPC, "No space left on device", "/media/ab/secret-name.jpg")
    assert reason(disk) == "OSError ENOSPC"
    connection = sqlite3.connect(":memory:")
    connection.execute("create table residents (id integer primary key, phone text unique)")
    connection.execute("insert into residents (phone) values ('+8613800138000')")
    try:
        connection.execute("insert into residents (phone) values ('+8613800138000')")
    except sqlite3.IntegrityError as error:
        told = reason(error)
    assert "UNIQUE constraint failed: residents.phone" in told and "138" not in told
    assert "IntegrityError" in told
