"""Per-category questions: the built-in ones in every language, an office's own from its file
(and each mistake in it named), and the answers on the card and in the export."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from conversations.notices import CardOptions, card
from locales import SUPPORTED, gettext_for
from storage.db import Database
from storage.export import HEADERS, ticket_rows
from storage.models import Resident, Ticket, TicketDetail
from tests.records import setup
from tickets.inputs import Submission
from tickets.questions import (
    DEFAULT_QUESTIONS,
    AnswerKind,
    Detail,
    QuestionsError,
    QuestionSet,
    questions_from,
)
from tickets.service import TicketService

ROOT = Path(__file__).parents[1]
EXAMPLE = ROOT / "questions.example.toml"


@pytest.mark.parametrize("lang", SUPPORTED)
def test_the_built_in_questions_are_asked_in_every_language(lang: str) -> None:
    _ = gettext_for(lang)
    assert set(DEFAULT_QUESTIONS) == {"noise", "water", "electricity", "facility"}
    for questions in DEFAULT_QUESTIONS.values():
        for question in questions:
            english = [question.text.msgid, *(c.label.msgid for c in question.choices)]
            texts = [question.text(lang, _), *(c.label(lang, _) for c in question.choices)]
            assert all(t.strip() for t in texts)
            if lang != "en":  # translated, not the English fallback
                assert not set(texts) & set(english), texts


def test_answers_are_checked_against_the_question() -> None:
    questions = QuestionSet()
    water = questions.of("water")
    assert [q.code for q in water] == ["where", "running"]
    assert water[0].accepts("ceiling") and not water[0].accepts("roof")
    assert water[1].accepts("no") and not water[1].accepts("maybe")
    facility = questions.find("facility", "what")
    assert facility is not None and facility.kind == AnswerKind.TEXT
    assert facility.accepts("the lift") and not facility.accepts("x" * 201)
    assert not facility.accepts("   ")
    # kept in the questions' order; an answer to another category's question is dropped
    given = (Detail("running", "yes"), Detail("when", "night"), Detail("where", "roof"),
             Detail("where", "wall"))
    assert questions.checked("water", given) == (Detail("where", "wall"),
                                                 Detail("running", "yes"))


def test_the_example_file_reads_and_names_its_languages() -> None:
    office = questions_from(tomllib.loads(EXAMPLE.read_text(encoding="utf-8")))
    noise = office.of("noise")
    assert [q.code for q in noise] == ["when", "source"]
    zh = gettext_for("zh_Hans")
    assert noise[0].text("zh_Hans", zh) == "噪音什么时候出现？"
    assert noise[0].answer_text("night", "ru", gettext_for("ru")) == "Ночью (22:00–07:00)"
    assert office.of("parking")[0].text("ru", gettext_for("ru")) == "Номер машины, если знаете"
    assert office.of("water") == DEFAULT_QUESTIONS["water"]  # not named: the built-in ones
    assert questions_from({"noise": []}).of("noise") == ()


@pytest.mark.parametrize(("data", "named"), [
    ({"noise": {"code": "when"}}, "noise: expected up to 6"),
    ({"Noise!": []}, "category: expected a code"),
    ({"noise": [{"code": "when", "kind": "slider", "text": "When?"}]}, "noise question 1.kind"),
    ({"noise": [{"code": "when", "kind": "choice", "text": "When?",
                 "choices": [{"code": "day", "text": "Day"}]}]}, "2 to 8 choices"),
    ({"noise": [{"code": "when", "text": "When?", "choices": [{"code": "d", "text": "D"}]}]},
     "only a choice has choices"),
    ({"noise": [{"code": "when", "text": {"fr": "Quand ?"}}]}, "unknown language 'fr'"),
    ({"noise": [{"code": "when", "text": ""}]}, "noise question 1.text"),
    ({"noise": [{"code": "w", "text": "A?"}, {"code": "w", "text": "B?"}]}, "two questions"),
    ({"noise": [{"code": "when", "text": "When?", "required": "yes"}]}, "required"),
    ({"noise": [{"code": "when", "text": "When?", "hint": "…"}]}, "unknown setting 'hint'"),
])
def test_a_mistake_in_the_file_is_named(data: dict[str, object], named: str) -> None:
    with pytest.raises(QuestionsError, match=named.replace(".", r"\.").replace("?", r"\?")):
        questions_from(data)


def test_the_card_shows_the_answers_in_the_staff_language() -> None:
    ticket = Ticket(id=1, number="2612-0001", status="new", priority="normal",
                    category_code="water", channel="telegram", description="Water everywhere",
                    unit_text="2-301")
    ticket.details = [TicketDetail(question="where", value="ceiling"),
                      TicketDetail(question="running", value="yes")]
    ticket.attachments, ticket.events = [], []
    ticket.created_at = ticket.ack_due_at = ticket.resolve_due_at = datetime(2026, 12, 3,
                                                                              tzinfo=UTC)
    shown = card(ticket, "zh_Hans", ZoneInfo("Asia/Shanghai"),
                 options=CardOptions(QuestionSet())).text
    zh = gettext_for("zh_Hans")
    assert f"  {zh('Where is the water coming from?')} {zh('The ceiling')}" in shown
    english = card(ticket, "en", ZoneInfo("Asia/Shanghai"), options=CardOptions(QuestionSet())).text
    assert "  Where is the water coming from? The ceiling\n  Is water still running now? Yes" in (
        english)


async def test_the_answers_are_kept_and_exported(db: Database) -> None:
    resident_id, *_ = await setup(db)
    async with db.transaction() as session:
        resident = await session.get(Resident, resident_id)
        assert resident is not None
        ticket, _ = await TicketService(session).submit(resident, Submission(
            "k", "water", "Water through the ceiling", details=(
                Detail("where", "ceiling"), Detail("running", "yes"))))
        created = ticket.created_at
    async with db.reading() as session:
        rows = [dict(zip(HEADERS, row, strict=True)) async for row in ticket_rows(
            session, created - timedelta(minutes=1), created + timedelta(minutes=1))]
    assert [row["details"] for row in rows] == ["where=ceiling; running=yes"]
