"""Rules of a report: limits, priorities, categories' names, service-level due times."""

from __future__ import annotations

from datetime import datetime, timedelta

from locales import N_

DESCRIPTION_MIN = 10
DESCRIPTION_MAX = 2000
NAME_MAX = 64
UNIT_TEXT_MAX = 32
MAX_EVIDENCE = 10
MAX_FILE_BYTES = 20 * 1024 * 1024  # what the Bot API lets a bot download
INFO_MAX = 2000

PRIORITIES = ("normal", "urgent")
PRIORITY_LABELS = {"normal": N_("Normal"), "urgent": N_("Urgent")}
# Urgent reports are acknowledged within the hour and resolved within a day at the latest.
URGENT_ACK_HOURS = 1
URGENT_RESOLVE_HOURS = 24

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


def due_times(
    now: datetime, ack_hours: int, resolve_hours: int, priority: str
) -> tuple[datetime, datetime]:
    if priority == "urgent":
        ack_hours = min(ack_hours, URGENT_ACK_HOURS)
        resolve_hours = min(resolve_hours, URGENT_RESOLVE_HOURS)
    return now + timedelta(hours=ack_hours), now + timedelta(hours=resolve_hours)
