"""The outbox's typed messages (`tickets/notices.py`): each kind is stored and read back as
itself, rows in the shape written before the classes existed are still read, a row nobody can
read is no exception, and every kind has words in every language."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from conversations.notices import (
    MESSAGE_MAX,
    CardOptions,
    IncidentFacts,
    LinkedReport,
    card,
    incident_reports,
    render,
)
from locales import SUPPORTED
from storage.models import Attachment, Category, Ticket
from tickets.notices import (
    Acknowledged,
    Apology,
    Card,
    DeadlineNear,
    IncidentReport,
    NoticeFile,
    ReplyLost,
    ResidentAdded,
    Resolving,
    StaffMessage,
    StatisticsReport,
    SurveyAnswered,
    TicketNotice,
    read_payload,
)
from tickets.timers import Stage

TZ = ZoneInfo("Asia/Shanghai")
SAMPLES: dict[str, Any] = {  # by the field's annotation
    "str": "some words", "int": 3, "NoticeFile | None": NoticeFile("photo", "F", "m/ab.jpg"),
    "Stage": Stage.RESOLVE, "tuple[int, ...]": (5, 6)}


def every_kind() -> list[type[TicketNotice]]:
    return sorted(TicketNotice.kinds(), key=lambda kind: kind.__name__)


def sample(kind: type[TicketNotice]) -> TicketNotice:
    """The kind with every field filled in (ISO times where a field holds one)."""
    values: dict[str, Any] = {}
    for item in dataclasses.fields(kind)[1:]:
        values[item.name] = SAMPLES[str(item.type)]
        if item.name in ("due", "promised"):
            values[item.name] = "2026-12-02T09:30:00+00:00"
    return kind(41, **values)


@pytest.mark.parametrize("kind", every_kind(), ids=lambda kind: kind.__name__)
def test_every_kind_is_read_back_as_itself(kind: type[TicketNotice]) -> None:
    notice = sample(kind)
    assert read_payload(notice.to_payload()) == notice


def test_the_other_outbox_messages_are_read_back_as_themselves() -> None:
    report = StatisticsReport(date(2026, 11, 23), date(2026, 11, 29), weekly=True)
    assert read_payload(report.to_payload()) == report
    assert read_payload(ReplyLost("ru").to_payload()) == ReplyLost("ru")


def test_rows_written_before_the_classes_are_still_read() -> None:
    """The payloads as `TicketService` wrote them with string kinds and keyword details."""
    old_rows: list[tuple[dict[str, Any], object]] = [
        ({"kind": "acknowledged", "ticket_id": 7, "to": "resident"}, Acknowledged(7)),
        ({"kind": "staff_message", "ticket_id": 7, "to": "resident", "text": "We come at 3",
          "staff": "Li Na", "file": {"kind": "photo", "file_id": "AgAD", "file_unique_id": "u",
                                     "size": 1200}},
         StaffMessage(7, "We come at 3", "Li Na", NoticeFile("photo", "AgAD"))),
        ({"kind": "resident_added", "ticket_id": 7, "text": "", "file": None},
         ResidentAdded(7, "", None)),
        ({"kind": "survey_answer", "ticket_id": 7, "fixed": "yes", "rating": 5, "comment": ""},
         SurveyAnswered(7, "yes", 5, "")),
        ({"kind": "apology", "ticket_id": 7, "to": "resident", "stage": "ack",
          "promised": "2026-12-02T09:30:00+00:00"},
         Apology(7, Stage.ACKNOWLEDGE, "2026-12-02T09:30:00+00:00")),
        ({"kind": "deadline_reminder", "ticket_id": 7, "stage": "ack",
          "due": "2026-12-02T09:30:00+00:00", "assignee": ""},
         DeadlineNear(7, Stage.ACKNOWLEDGE, "2026-12-02T09:30:00+00:00", "")),
        ({"kind": "card", "ticket_id": 7}, Card(7)),
        ({"kind": "report", "first": "2026-11-01", "last": "2026-11-30"},
         StatisticsReport(date(2026, 11, 1), date(2026, 11, 30))),
        ({"kind": "reply_lost", "lang": "zh_Hans"}, ReplyLost("zh_Hans")),
    ]
    for payload, notice in old_rows:
        assert read_payload(payload) == notice, payload


@pytest.mark.parametrize("payload", [
    {"kind": "new_ticket", "ticket_id": 1},  # a kind of an older release, long gone
    {"kind": "acknowledged", "to": "resident"},  # no ticket
    {"kind": "assigned", "ticket_id": 1, "to": "resident"},  # a staff kind, to a resident
    {"kind": "report", "first": "last Monday", "last": "today"},
    {},
], ids=["unknown kind", "no ticket", "wrong audience", "no such period", "empty"])
def test_a_row_nobody_can_read_is_none(payload: dict[str, Any]) -> None:
    assert read_payload(payload) is None


@pytest.mark.parametrize("lang", SUPPORTED)
def test_every_kind_has_words_in_every_language(lang: str) -> None:
    """A kind added without a renderer (or a renderer that fails) fails here, not in the
    notifier. The card is drawn from the whole ticket and is tested with it."""
    ticket = Ticket(id=41, number="2612-0041", card_message_id=900, status="resolving",
                    resolution_text="The pipe was replaced.", improvement_measures="Checks")
    ticket.attachments = [Attachment(id=5, kind="photo", file_id="P1", file_unique_id="u1",
                                     size=1)]  # (the sample evidence group: files 5 and 6)
    for kind in every_kind():
        if kind is Card:
            continue
        rendered = render(ticket, sample(kind), resident_lang=lang, staff_lang=lang,
                          timezone=TZ)
        assert rendered is not None and rendered.ticket_id == 41, kind
        assert rendered.reply.text or rendered.reply.file, kind
        assert rendered.kind == kind.KIND


def test_being_resolved_is_not_told_once_the_ticket_moved_on() -> None:
    ticket = Ticket(id=41, number="2612-0041", status="resolved")
    assert render(ticket, Resolving(41), resident_lang="en", staff_lang="en",
                  timezone=TZ) is None
    ticket.status = "resolving"
    shown = render(ticket, Resolving(41), resident_lang="en", staff_lang="en", timezone=TZ)
    assert shown is not None and "now working on the fix" in shown.reply.text


def test_a_dispute_card_may_hide_the_complainant() -> None:
    ticket = Ticket(id=41, number="2612-0041", status="acknowledged", priority="normal",
                    channel="hotline", description="Loud music", unit_text="2-301",
                    contact_name="Wang Fang", contact_phone="+8613800138000",
                    category_code="noise", created_at=datetime(2026, 12, 3, tzinfo=UTC),
                    ack_due_at=datetime(2026, 12, 5, tzinfo=UTC),
                    resolve_due_at=datetime(2026, 12, 9, tzinfo=UTC))
    ticket.attachments, ticket.events, ticket.details = [], [], []
    ticket.category = Category(code="noise", titles={}, dispute=True)
    hidden = card(ticket, "en", TZ, options=CardOptions(hide_dispute_complainant=True)).text
    assert "Resident: hidden in a dispute" in hidden and "Wang Fang" not in hidden
    assert "8613800138000" not in hidden
    shown = card(ticket, "en", TZ, options=CardOptions()).text  # the default: staff see it
    assert "Resident: Wang Fang, +8613800138000" in shown
    ticket.category = Category(code="water", titles={}, dispute=False)
    assert "Wang Fang" in card(ticket, "en", TZ,
                               options=CardOptions(hide_dispute_complainant=True)).text


@pytest.mark.parametrize("lang", SUPPORTED)
def test_joined_incident_reports_fit_one_message_in_order(lang: str) -> None:
    """Long reports: as many as fit in Telegram's 4096 characters, the first ones, in order,
    each with its own button; the rest wait for the next post."""
    reports = [LinkedReport(Ticket(id=100 + n, number=f"2612-{n:04d}", version=1),
                            IncidentReport(100 + n, lead="2612-0001", unit=f"7-{n:02d}01",
                                           text=f"report {n}: " + "water " * 82))
               for n in range(2, 22)]
    post = incident_reports(reports, 1, staff_lang=lang, incident=IncidentFacts(lead_card=77))
    reply = post.notice.reply
    assert 2 <= post.joined < len(reports) and len(reply.text) <= MESSAGE_MAX
    assert re.findall(r"report (\d+):", reply.text) == [
        str(n) for n in range(2, 2 + post.joined)]  # the first ones, in order
    assert reply.reply_to == 77 and post.notice.ticket_id == 1
    assert sum(len(row) for row in reply.buttons) == post.joined
    short = incident_reports(reports[:3], 1, staff_lang=lang, incident=None)
    assert short.joined == 3 and "3" in short.notice.reply.text.splitlines()[0]
