"""Per-category questions (complaint-process step 2, "record"): the facts a noise complaint or
a leak needs beyond the description. A category carries a few questions, each a choice
(buttons), a yes/no or a short text, optional or required; the answers are kept with the
ticket as `Detail`s.

The defaults below are translated like every other text (N_). An office replaces them with
its own in a TOML file (QUESTIONS_FILE; see questions.example.toml), its texts given per
language; `residesk questions` shows the questions in force or names what it cannot read.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from locales import N_, SUPPORTED
from storage.models import Ticket

DETAIL_TEXT_MAX = 200  # a short text answer
QUESTIONS_MAX = 6  # per category: a report stays quick
CODE_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_")
CODE_MAX = 16  # codes ride in callback data (64 bytes)


class AnswerKind(StrEnum):
    CHOICE = "choice"  # one of the question's choices, as buttons
    YES_NO = "yes_no"
    TEXT = "text"  # a short typed answer


class QuestionsError(ValueError):
    """The questions file says something impossible; the message names the place."""


@dataclass(frozen=True)
class Wording:
    """A text in the office's languages: the built-in ones are message ids (translated by
    gettext); an office's own are given per language, English the fallback."""

    msgid: str = ""
    by_language: Mapping[str, str] = field(default_factory=dict)

    def __call__(self, lang: str, gettext: Callable[[str], str]) -> str:
        if self.by_language:
            return self.by_language.get(lang) or self.by_language.get("en") or next(
                iter(self.by_language.values()))
        return gettext(self.msgid)


@dataclass(frozen=True)
class Choice:
    code: str
    label: Wording


@dataclass(frozen=True)
class Question:
    code: str
    kind: AnswerKind
    text: Wording
    choices: tuple[Choice, ...] = ()
    required: bool = False

    def choice(self, code: str) -> Choice | None:
        return next((c for c in self.choices if c.code == code), None)

    def accepts(self, value: str) -> bool:
        """Whether `value` answers this question (a choice's code, yes/no, or short text)."""
        if self.kind == AnswerKind.CHOICE:
            return self.choice(value) is not None
        if self.kind == AnswerKind.YES_NO:
            return value in ("yes", "no")
        return 0 < len(value.strip()) <= DETAIL_TEXT_MAX

    def answer_text(self, value: str, lang: str, gettext: Callable[[str], str]) -> str:
        """The answer as the reader reads it."""
        if self.kind == AnswerKind.CHOICE:
            found = self.choice(value)
            return found.label(lang, gettext) if found else value
        if self.kind == AnswerKind.YES_NO:
            return gettext(YES_NO[value]) if value in YES_NO else value
        return value


@dataclass(frozen=True)
class Detail:
    """One answer kept with a ticket: the question's code, and the choice's code (or "yes" /
    "no", or the text typed)."""

    question: str
    value: str


YES_NO = {"yes": N_("Yes"), "no": N_("No")}


def answers_of(ticket: Ticket) -> tuple[Detail, ...]:
    """A ticket's kept answers to its category's questions."""
    return tuple(Detail(d.question, d.value) for d in ticket.details)


def _choice(code: str, msgid: str) -> Choice:
    return Choice(code, Wording(msgid))


def _ask(code: str, kind: AnswerKind, msgid: str, *choices: Choice,
         required: bool = False) -> Question:
    return Question(code, kind, Wording(msgid), tuple(choices), required)


C, YN, T = AnswerKind.CHOICE, AnswerKind.YES_NO, AnswerKind.TEXT
DEFAULT_QUESTIONS: dict[str, tuple[Question, ...]] = {
    "noise": (
        _ask("when", C, N_("When does the noise happen?"),
             _choice("day", N_("During the day")), _choice("evening", N_("In the evening")),
             _choice("night", N_("At night (22:00–07:00)")), _choice("always", N_("All the time")),
             required=True),
        _ask("from", C, N_("Where does it come from?"),
             _choice("above", N_("The flat above")), _choice("below", N_("The flat below")),
             _choice("beside", N_("Next door")), _choice("outside", N_("Outside / the street")),
             _choice("unknown", N_("I don't know"))),
    ),
    "water": (
        _ask("where", C, N_("Where is the water coming from?"),
             _choice("ceiling", N_("The ceiling")), _choice("wall", N_("A wall")),
             _choice("pipe", N_("A pipe or tap")), _choice("floor", N_("The floor / a drain")),
             _choice("none", N_("No leak: no water or low pressure")), required=True),
        _ask("running", YN, N_("Is water still running now?"), required=True),
    ),
    "electricity": (
        _ask("scope", C, N_("What is without power?"),
             _choice("flat", N_("My whole flat")), _choice("part", N_("Some sockets or lights")),
             _choice("common", N_("Stairs, corridor or lift"))),
        _ask("danger", YN, N_("Do you see sparks, smoke or a burning smell?"), required=True),
    ),
    "facility": (
        _ask("what", T, N_("What is broken (for example: the lift, the entrance door, a "
                           "light)?"), required=True),
        _ask("usable", YN, N_("Can it still be used?")),
    ),
}


class QuestionSet:
    """The questions in force, by category code."""

    def __init__(self, by_category: Mapping[str, tuple[Question, ...]] | None = None) -> None:
        self.by_category = dict(DEFAULT_QUESTIONS if by_category is None else by_category)

    def of(self, category: str) -> tuple[Question, ...]:
        return self.by_category.get(category, ())

    def find(self, category: str, code: str) -> Question | None:
        return next((q for q in self.of(category) if q.code == code), None)

    def checked(self, category: str, details: tuple[Detail, ...]) -> tuple[Detail, ...]:
        """The answers that answer this category's questions, in the questions' order (an
        answer to a question the category does not have, or an invalid one, is dropped)."""
        given = {d.question: d.value for d in details}
        return tuple(Detail(q.code, given[q.code]) for q in self.of(category)
                     if q.code in given and q.accepts(given[q.code]))

    def lines(self, category: str, details: tuple[Detail, ...], lang: str,
              gettext: Callable[[str], str]) -> list[str]:
        """"Question: answer" lines for a card, a summary, an export."""
        shown = []
        for detail in details:
            question = self.find(category, detail.question)
            if question is None:  # the office changed its questions since: keep the answer
                shown.append(f"{detail.question}: {detail.value}")
            else:
                shown.append(f"{question.text(lang, gettext)} "
                             f"{question.answer_text(detail.value, lang, gettext)}")
        return shown

    def describe(self) -> list[str]:
        """The questions in plain lines (`residesk questions`)."""
        lines = []
        for category, questions in sorted(self.by_category.items()):
            for q in questions:
                choices = (" [" + ", ".join(c.code for c in q.choices) + "]" if q.choices
                           else "")
                lines.append(f"{category:<12} {q.code:<10} {q.kind:<7}"
                             f"{' required' if q.required else ' optional'}  "
                             f"{q.text('en', lambda s: s)}{choices}")
        return lines or ["no questions beyond the description"]


def _code(value: object, where: str) -> str:
    if (not isinstance(value, str) or not value or len(value) > CODE_MAX
            or not set(value) <= CODE_CHARS):
        raise QuestionsError(f"{where}: expected a code of up to {CODE_MAX} lowercase letters, "
                             f"digits or _, not {value!r}")
    return value


def _wording(value: object, where: str) -> Wording:
    if isinstance(value, str) and value.strip():
        return Wording(by_language={"en": value.strip()})
    if isinstance(value, Mapping) and value and all(
            isinstance(v, str) and v.strip() for v in value.values()):
        unknown = sorted(set(value) - set(SUPPORTED))
        if unknown:
            raise QuestionsError(f"{where}: unknown language {unknown[0]!r} (known: "
                                 f"{', '.join(SUPPORTED)})")
        return Wording(by_language={str(k): str(v).strip() for k, v in value.items()})
    raise QuestionsError(f"{where}: expected a text, or texts by language such as "
                         f"{{ en = \"…\", zh_Hans = \"…\" }}")


def questions_from(data: Mapping[str, Any]) -> QuestionSet:
    """The questions a file describes: `[[category]]` tables, one per question. A category the
    file names has exactly the file's questions; the others keep the defaults (an empty list,
    `noise = []`, leaves a category without questions)."""
    found = dict(DEFAULT_QUESTIONS)
    for category, entries in data.items():
        _code(category, "category")
        if not isinstance(entries, list) or len(entries) > QUESTIONS_MAX:
            raise QuestionsError(f"{category}: expected up to {QUESTIONS_MAX} [[{category}]] "
                                 f"tables")
        questions: list[Question] = []
        for n, entry in enumerate(entries, 1):
            where = f"{category} question {n}"
            if not isinstance(entry, Mapping):
                raise QuestionsError(f"{where}: expected a table")
            unknown = sorted(set(entry) - {"code", "kind", "text", "choices", "required"})
            if unknown:
                raise QuestionsError(f"{where}: unknown setting {unknown[0]!r}")
            code = _code(entry.get("code"), f"{where}.code")
            try:
                kind = AnswerKind(entry.get("kind", "text"))
            except ValueError:
                raise QuestionsError(f"{where}.kind: expected one of "
                                     f"{', '.join(AnswerKind)}") from None
            choices: list[Choice] = []
            raw = entry.get("choices", [])
            if kind == AnswerKind.CHOICE and (not isinstance(raw, list) or not 2 <= len(raw) <= 8):
                raise QuestionsError(f"{where}.choices: a choice needs 2 to 8 choices, each "
                                     f"{{ code = \"…\", text = \"…\" }}")
            if kind != AnswerKind.CHOICE and raw:
                raise QuestionsError(f"{where}.choices: only a choice has choices")
            for m, item in enumerate(raw if isinstance(raw, list) else [], 1):
                if not isinstance(item, Mapping):
                    raise QuestionsError(f"{where}.choices[{m}]: expected a table")
                choices.append(Choice(_code(item.get("code"), f"{where}.choices[{m}].code"),
                                      _wording(item.get("text"), f"{where}.choices[{m}].text")))
            if len({c.code for c in choices}) != len(choices):
                raise QuestionsError(f"{where}.choices: two choices with one code")
            required = entry.get("required", False)
            if not isinstance(required, bool):
                raise QuestionsError(f"{where}.required: expected true or false")
            questions.append(Question(code, kind, _wording(entry.get("text"), f"{where}.text"),
                                      tuple(choices), required))
        if len({q.code for q in questions}) != len(questions):
            raise QuestionsError(f"{category}: two questions with one code")
        found[category] = tuple(questions)
    return QuestionSet(found)
