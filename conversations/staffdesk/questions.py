"""What each guided action asks (`DIALOGS`), in order, and which lifecycle action it makes.

Asking, answering and finishing are in `guided.py`; reading one answer is in `answers.py`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from conversations.staffdesk.dialog import Guided
from locales import N_
from tickets.lifecycle import Action
from tickets.policy import (
    CAUSE_LABELS,
    CAUSES,
    DESCRIPTION_MAX,
    DESCRIPTION_MIN,
    NAME_MAX,
    RESOLUTION_LABELS,
    RESOLUTIONS,
    SEVERITIES,
    SEVERITY_LABELS,
    STAFF_TEXT_MAX,
    UNIT_TEXT_MAX,
)
from tickets.templates import Purpose

# how a question is answered: text; media (text or a file); choice (a button); date; phone
AnswerKind = Literal["text", "media", "choice", "date", "phone"]

# the buttons every question may have besides its choices (they travel in callback data)
SKIP = "-skip"
CANCEL = "-cancel"


@dataclass(frozen=True)
class Ask:
    """One question of a guided action."""

    key: str  # the answer's name in GuidedAction.answers
    prompt: str
    kind: AnswerKind = "text"
    choices: tuple[tuple[str, str], ...] = ()  # (value, label) buttons; for dates: quick picks
    optional: bool = False
    min_len: int = 1
    max_len: int = STAFF_TEXT_MAX
    only_if: Callable[[Mapping[str, Any]], bool] | None = None  # asked only if, given answers
    templates: Purpose | None = None  # the office's reply templates offered for the answer

    def applies(self, answers: Mapping[str, Any]) -> bool:
        return self.only_if is None or self.only_if(answers)


def _labels(values: tuple[str, ...], labels: dict[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple((v, labels[v]) for v in values)


DIALOGS: dict[Guided, tuple[Ask, ...]] = {
    Guided.MESSAGE: (
        Ask("text", N_("Write the message for the resident (text, photo or voice note):"),
            kind="media", templates=Purpose.MESSAGE),
    ),
    Guided.REQUEST_INFO: (
        Ask("text", N_("What information or evidence do you need from the resident?"),
            templates=Purpose.MESSAGE),
    ),
    Guided.REJECT: (
        Ask("text", N_("Why is the complaint rejected? The resident will see this "
                       "reason."), templates=Purpose.REJECT),
    ),
    Guided.NOTE: (Ask("text", N_("Write the internal note (residents never see it):")),),
    Guided.FINDINGS: (
        Ask("visit_at", N_("Site visit: when was it? Type a date (2026-11-28 or 2026-11-28 "
                           "15:30) or press a button."), kind="date",
            choices=(("today", N_("Today")), ("yesterday", N_("Yesterday")),
                     ("none", N_("No site visit")))),
        Ask("visit_by", N_("Who went on site? Type the names, or press “Me”."),
            choices=(("me", N_("Me")),), only_if=lambda a: a.get("visit_at") is not None),
        Ask("findings", N_("What was found?")),
        Ask("interviewed", N_("Who was interviewed (staff, neighbours, contractors)?"),
            optional=True),
        Ask("severity", N_("How serious is it?"), kind="choice",
            choices=_labels(SEVERITIES, SEVERITY_LABELS)),
        Ask("cause_category", N_("What caused it?"), kind="choice",
            choices=_labels(CAUSES, CAUSE_LABELS)),
        Ask("cause", N_("Describe the cause in a few words.")),
    ),
    Guided.RESOLUTION: (
        Ask("type", N_("How was it resolved?"), kind="choice",
            choices=_labels(RESOLUTIONS, RESOLUTION_LABELS)),
        Ask("text", N_("What was done? The resident will read this."),
            templates=Purpose.RESOLVE),
        Ask("measures", N_("What will be done so that it does not happen again "
                           "(improvement measures)?"),
            optional=True),
        Ask("follow_up", N_("When should we check that the measures hold? Type a date "
                            "(2026-12-31) or press a button."), kind="date",
            choices=(("7d", N_("In a week")), ("30d", N_("In a month"))), optional=True,
            only_if=lambda a: bool(a.get("measures"))),
    ),
    Guided.PARTY: (
        Ask("unit", N_("The other party: their building and flat (e.g. 3-1302)?"),
            max_len=UNIT_TEXT_MAX * 2),
        Ask("method", N_("How do you reach them?"), kind="choice",
            choices=(("bot", N_("Message through the bot")), ("visit", N_("A visit")),
                     ("call", N_("A call")))),
        Ask("text", N_("Through the bot: what they will read (never name the complainant, "
                       "their flat or their words). A visit or a call: what was said.")),
    ),
    Guided.AGREEMENT: (
        Ask("text", N_("What was agreed? Both sides will read it.")),
        Ask("on", N_("When was it agreed? Type a date (2026-11-28) or press a button."),
            kind="date", choices=(("today", N_("Today")), ("yesterday", N_("Yesterday")))),
    ),
    Guided.INCIDENT: (
        Ask("scope", N_("One outage, many residents: what does it cover? New reports of this "
                        "category from there will be linked to this ticket, and what you do "
                        "here reaches all who reported."), kind="choice",
            choices=(("building", N_("This building")), ("floors", N_("Some floors of it")),
                     ("units", N_("Some flats")), ("property", N_("The whole property")))),
        Ask("floors", N_("Which floors? For example 3-7, or 3, 5, 9."), max_len=100,
            only_if=lambda a: a.get("scope") == "floors"),
        Ask("units", N_("Which flats? For example 0301, 0302 in this building, or 2-0301, "
                        "3-0102 as on the unit list."), max_len=300,
            only_if=lambda a: a.get("scope") == "units"),
    ),
    Guided.INTAKE: (
        Ask("name", N_("New complaint taken by phone, e-mail or at the desk. The "
                       "complainant's name?"), max_len=NAME_MAX),
        Ask("phone", N_("Their phone number?"), kind="phone"),
        Ask("unit", N_("Building and flat (e.g. 3-1202)?"), max_len=UNIT_TEXT_MAX),
        Ask("category", N_("Category?"), kind="choice"),  # choices: the office's categories
        Ask("description", N_("What is the complaint? (at least %(min)d characters)"),
            min_len=DESCRIPTION_MIN, max_len=DESCRIPTION_MAX),
        Ask("channel", N_("How did it come in?"), kind="choice",
            choices=(("hotline", N_("Hotline")), ("email", N_("E-mail")),
                     ("walk_in", N_("Walk-in")))),
    ),
}

# the lifecycle action a ticket's guided action makes (asked again at the last answer)
DIALOG_ACTIONS: dict[Guided, Action] = {
    Guided.MESSAGE: Action.MESSAGE, Guided.REQUEST_INFO: Action.REQUEST_INFO,
    Guided.REJECT: Action.REJECT, Guided.NOTE: Action.NOTE,
    Guided.FINDINGS: Action.RECORD_FINDINGS, Guided.RESOLUTION: Action.RESOLVE,
    Guided.PARTY: Action.MEDIATE, Guided.AGREEMENT: Action.AGREE,
    Guided.INCIDENT: Action.DECLARE_INCIDENT,
}
