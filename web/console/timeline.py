"""A ticket's events in words, for the console's timeline (the audit trail, every event)."""

from __future__ import annotations

from collections.abc import Callable

from locales import N_
from storage.models import TicketEvent
from tickets.lifecycle import STAFF_STATUS_LABELS, Status

Gettext = Callable[[str], str]

# what happened, by event kind; the event's note follows it
EVENT_LABELS: dict[str, str] = {
    "assigned": N_("Assigned to"),
    "erased": N_("The complainant's personal data was erased"),
    "escalated": N_("Escalated"),
    "evidence": N_("File added"),
    "follow_up": N_("Time to check the improvement measures"),
    "investigation": N_("Investigation recorded"),
    "linked": N_("The resident registered in Telegram and took over the complaint"),
    "message": N_("Information from the resident"),
    "note": N_("Internal note"),
    "reminder": N_("Reminder sent"),
    "repeat": N_("Repeat complaint; earlier"),
    "staff_message": N_("Message to the resident"),
    "survey": N_("Survey answered"),
}


CALL_BACK_LABELS = {  # by the outcome ("": asked)
    "": N_("Call-back sent: is the problem still solved?"),
    "held": N_("Call-back: the problem stays solved"),
    "recurred": N_("Call-back: the problem came back"),
    "unanswered": N_("Call-back: no answer"),
}
INCIDENT_LABELS = {  # an "incident" event: marked, linked (at once, by hand), unlinked
    "declared": N_("Marked an incident; its scope"),
    "linked": N_("Linked to an incident; its lead"),
    "by_hand": N_("Linked by hand to an incident; its lead"),
    "unlinked": N_("A ticket of its own again; the incident's lead"),
}
RESUMED_DEADLINE = N_("The resolve deadline moved on by the time the resident held the ticket")
REOPENED_DEADLINES = N_("Fresh deadlines for the reopened ticket")


def _status(code: str | None, _: Gettext) -> str:
    if code is None:
        return "—"
    try:
        return _(STAFF_STATUS_LABELS[Status(code)])
    except ValueError:  # a status of a newer release
        return code


def event_text(event: TicketEvent, _: Gettext) -> str:
    if event.kind == "status":
        if event.from_status is None:
            text = _("Received")
        else:
            text = f"{_status(event.from_status, _)} → {_status(event.to_status, _)}"
    elif event.kind == "call_back":
        text = _(CALL_BACK_LABELS.get((event.details or {}).get("outcome") or "",
                                      CALL_BACK_LABELS[""]))
    elif event.kind == "incident":
        details = event.details or {}
        text = _(INCIDENT_LABELS["declared" if details.get("scope") else
                                 "unlinked" if details.get("unlinked") else
                                 "by_hand" if details.get("by_hand") else "linked"])
    elif event.kind == "deadline":
        text = _(REOPENED_DEADLINES if (event.details or {}).get("stage") == "reopened"
                 else RESUMED_DEADLINE)
    else:
        label = EVENT_LABELS.get(event.kind)
        text = _(label) if label else event.kind
    if event.kind == "survey" and event.details and event.details.get("rating"):
        text += " " + "★" * int(event.details["rating"])
    return f"{text}: {event.note}" if event.note else text
