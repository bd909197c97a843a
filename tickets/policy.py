"""Rules of a report: limits, priorities, categories' names, service-level due times."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from locales import N_
from tickets.sla import PRIORITIES as PRIORITIES  # re-exported: the rules of a report
from tickets.sla import SlaPolicy

DESCRIPTION_MIN = 10
DESCRIPTION_MAX = 2000
NAME_MAX = 64
UNIT_TEXT_MAX = 32
MAX_EVIDENCE = 10
MAX_FILE_BYTES = 20 * 1024 * 1024  # what the Bot API lets a bot download
INFO_MAX = 2000
STAFF_TEXT_MAX = 2000  # a staff message, note, reason or finding

PRIORITY_LABELS = {"normal": N_("Normal"), "urgent": N_("Urgent")}
# Built-in names of the default categories; an office may rename them in the categories table.
CATEGORY_LABELS = {
    "noise": N_("Noise"),
    "facility": N_("Facility fault / repair"),
    "water": N_("Water & plumbing"),
    "electricity": N_("Electricity"),
    "sanitation": N_("Sanitation"),
    "security": N_("Security"),
    "parking": N_("Parking"),
    "neighbour": N_("Neighbour dispute"),
    "service": N_("Property service"),
    "other": N_("Other"),
}


@dataclass(frozen=True)
class Timing:
    """How long the office takes and waits (set in OfficeSettings and the SLA file)."""

    survey_reminder_after: timedelta = timedelta(hours=48)
    survey_close_after: timedelta = timedelta(hours=72)  # after the reminder
    follow_up_hour: int = 9  # office time, on the follow-up date
    sla: SlaPolicy = field(default_factory=SlaPolicy)


SEVERITIES = ("low", "medium", "high", "critical")
SEVERITY_LABELS = {"low": N_("Low"), "medium": N_("Medium"), "high": N_("High"),
                   "critical": N_("Critical")}
CAUSES = ("facility", "management", "third_party", "neighbour", "resident", "none", "other")
CAUSE_LABELS = {
    "facility": N_("Facility or equipment"),
    "management": N_("Management or service failure"),
    "third_party": N_("Contractor or utility"),
    "neighbour": N_("Neighbour"),
    "resident": N_("Resident's own installation"),
    "none": N_("No fault found"),
    "other": N_("Other"),
}
RESOLUTIONS = ("repair", "mediation", "explanation", "other")
RESOLUTION_LABELS = {
    "repair": N_("Repair"),
    "mediation": N_("Mediation"),
    "explanation": N_("Explanation / no fault found"),
    "other": N_("Other"),
}
CHANNELS = ("telegram", "hotline", "email", "walk_in")
CHANNEL_LABELS = {"telegram": N_("Telegram"), "hotline": N_("Hotline"), "email": N_("E-mail"),
                  "walk_in": N_("Walk-in")}
SURVEY_ANSWERS = ("yes", "partly", "no")


_PHONE_CHARS = re.compile(r"^\+?[\d\s\-().]{7,24}$")


def normalize_phone(text: str) -> str | None:
    """A typed phone number as +digits, or None when it cannot be one (7 to 15 digits)."""
    text = text.strip()
    if not _PHONE_CHARS.match(text):
        return None
    digits = re.sub(r"\D", "", text)
    if not 7 <= len(digits) <= 15:
        return None
    return ("+" if text.startswith("+") else "") + digits


def same_phone(a: str, b: str) -> bool:
    """Two spellings of one number (with or without the +)."""
    return a.lstrip("+") == b.lstrip("+")


def category_title(code: str, titles: Mapping[str, Any] | None, lang: str,
                   gettext: Callable[[str], str]) -> str:
    """The office's own name for a category in `lang`, else the built-in translation, else
    the office's English name, else the code."""
    titles = titles or {}
    if titles.get(lang):
        return str(titles[lang])
    label = CATEGORY_LABELS.get(code)
    return gettext(label) if label else str(titles.get("en") or code)
