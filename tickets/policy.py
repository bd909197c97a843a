"""Rules of a report: limits, priorities, categories' names, service-level due times."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import Any

import phonenumbers

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
    follow_up_hour: int = 9  # office time, on the follow-up date (and the call-back's)
    call_back_days: int = 7  # the call-back (回访) after closing; 0: none (FOLLOW_UP_DAYS)
    call_back_wait: timedelta = timedelta(days=3)  # unanswered after this: recorded as such
    # a ticket still "being resolved" this long after it began is told to the resident
    tell_resolving_after: timedelta = timedelta(minutes=10)
    sla: SlaPolicy = field(default_factory=SlaPolicy)

    def call_back_after(self, category: str) -> int:
        """Days after closing that a ticket of `category` gets its call-back (0: none)."""
        return self.sla.call_back_days.get(category, self.call_back_days)


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


class CallBackOutcome(StrEnum):
    """What the call-back (回访) found, a while after the ticket closed."""

    HELD = "held"  # still solved
    RECURRED = "recurred"  # it came back: the ticket reopens
    UNANSWERED = "unanswered"  # no answer in time; nothing more is sent


DEFAULT_PHONE_REGION = "CN"  # PHONE_REGION: how a number without a country code is read
E164 = re.compile(r"\+[1-9]\d{6,14}")


def normalize_phone(text: str, region: str) -> str | None:
    """A typed or shared phone number in E.164 (+8613800138000), or None when it is not a
    valid number. Without a country code it is read as a number of `region` ("CN": 138 0013
    8000, 010 8888 0000), so every spelling of one number is stored the same way."""
    text = text.strip()
    if not text or len(text) > 32:
        return None
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def is_e164(phone: str) -> bool:
    return E164.fullmatch(phone) is not None


def shared_phone(phone_number: str, region: str) -> str | None:
    """A number from a shared Telegram contact: international, with or without its "+"."""
    digits = phone_number.strip()
    return normalize_phone(digits if digits.startswith("+") else "+" + digits, region)


def category_title(code: str, titles: Mapping[str, Any] | None, lang: str,
                   gettext: Callable[[str], str]) -> str:
    """The office's own name for a category in `lang`, else the built-in translation, else
    the office's English name, else the code."""
    titles = titles or {}
    if titles.get(lang):
        return str(titles[lang])
    label = CATEGORY_LABELS.get(code)
    return gettext(label) if label else str(titles.get("en") or code)
