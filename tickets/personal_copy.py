"""A resident's copy of their personal data (/mydata; PIPL art. 45, GDPR art. 15): what they
gave and what they were told, never the office's internal notes or staff-only records.

The copy is a JSON document and, for their evidence, ZIP files each below Telegram's 50 MB
limit for a bot's documents. This module decides what goes in; bot/personal_copy.py makes
the files when the outbox sends them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from storage.models import Attachment, CallBack, Survey, Ticket, TicketEvent
from storage.personal_data import CopyFacts

PART_BYTES = 45 * 1024 * 1024  # a ZIP part's files at most (Telegram takes 50 MB documents)
COPY_EVERY_HOURS = 24  # one copy a day at most
# what of a ticket's timeline the resident saw or did (not notes, assignments, deadlines…)
SEEN_EVENTS = frozenset({"status", "message", "evidence", "staff_message", "survey",
                         "call_back", "linked"})
# the statuses whose note the resident was told (what was asked of them, why it was rejected)
TOLD_NOTES = frozenset({"waiting_for_resident", "rejected"})


def _at(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def zip_name(ticket: Ticket, attachment: Attachment, index: int) -> str:
    """The file's name in the ZIP: its ticket's number, its order and kind."""
    suffix = Path(attachment.local_path or "").suffix or ".bin"
    return f"{ticket.number or ticket.id}/{index:02d}-{attachment.kind}{suffix}"


def evidence_names(tickets: Sequence[Ticket]) -> dict[int, str]:
    """Attachment id → its name in the ZIP, for the files kept as a copy."""
    return {a.id: zip_name(t, a, i)
            for t in tickets
            for i, a in enumerate((a for a in t.attachments if a.local_path), start=1)}


def parts_of(tickets: Sequence[Ticket], limit: int = PART_BYTES) -> list[tuple[int, ...]]:
    """The evidence files, grouped into ZIP parts of at most `limit` bytes each."""
    parts: list[list[int]] = []
    size = 0
    for ticket in tickets:
        for attachment in ticket.attachments:
            if not attachment.local_path:
                continue
            if not parts or size + attachment.size > limit:
                parts.append([])
                size = 0
            parts[-1].append(attachment.id)
            size += attachment.size
    return [tuple(part) for part in parts]


def document(facts: CopyFacts, made_at: datetime) -> dict[str, Any]:
    """The JSON document of the copy."""
    resident = facts.resident
    names = evidence_names(facts.tickets)
    surveys: dict[int, list[Survey]] = {}
    for survey in facts.surveys:
        surveys.setdefault(survey.ticket_id, []).append(survey)
    call_backs: dict[int, list[CallBack]] = {}
    for call_back in facts.call_backs:
        call_backs.setdefault(call_back.ticket_id, []).append(call_back)
    return {
        "made_at": _at(made_at),
        "profile": {
            "name": resident.name, "phone": resident.phone, "unit": resident.unit_label,
            "unit_verified": resident.unit_verified, "language": resident.language,
            "telegram_user_id": resident.telegram_user_id, "registered_at": _at(
                resident.created_at),
            "privacy_notice": {"version": resident.privacy_version,
                               "agreed_at": _at(resident.privacy_agreed_at)},
            "changes": [{"field": c.field, "from": c.old, "to": c.new, "at": _at(c.changed_at)}
                        for c in facts.changes],
        },
        "tickets": [_ticket(t, names, surveys.get(t.id, []), call_backs.get(t.id, []))
                    for t in facts.tickets],
        "as_the_other_party": [_as_party(t, resident.id) for t in facts.as_party],
    }


def _ticket(ticket: Ticket, names: dict[int, str], surveys: Sequence[Survey],
            call_backs: Sequence[CallBack]) -> dict[str, Any]:
    told_resolution = ticket.resolved_at is not None and ticket.status in (
        "resolved", "closed")
    return {
        "number": ticket.number, "category": ticket.category_code, "unit": ticket.unit_text,
        "description": ticket.description, "status": ticket.status,
        "urgency": ticket.priority, "created_at": _at(ticket.created_at),
        "resolved_at": _at(ticket.resolved_at), "closed_at": _at(ticket.closed_at),
        "resolution": ({"type": ticket.resolution_type, "text": ticket.resolution_text}
                       if told_resolution else None),
        "answers": {d.question: d.value for d in ticket.details},
        "timeline": [_event(e) for e in ticket.events if e.kind in SEEN_EVENTS],
        "surveys": [{"round": s.round, "fixed": s.fixed, "rating": s.rating,
                     "comment": s.comment, "sent_at": _at(s.sent_at),
                     "answered_at": _at(s.answered_at)} for s in surveys],
        "call_backs": [{"asked_at": _at(c.asked_at), "answered_at": _at(c.answered_at),
                        "outcome": c.outcome} for c in call_backs],
        "files": [{"name": names.get(a.id), "kind": a.kind, "type": a.mime_type,
                   "size": a.size, "sha256_stored": a.sha256,
                   "sha256_received": a.received_sha256 or a.sha256,
                   "received_at": _at(a.created_at),
                   "copy": "in the ZIP" if a.id in names else "not kept"}
                  for a in ticket.attachments],
    }


def _event(event: TicketEvent) -> dict[str, Any]:
    item: dict[str, Any] = {"at": _at(event.created_at), "what": event.kind,
                            "by": event.actor_type}
    if event.kind == "status":
        item |= {"from": event.from_status, "to": event.to_status}
        if event.to_status in TOLD_NOTES and event.note:
            item["text"] = event.note
    elif event.kind in ("message", "evidence", "staff_message") and event.note:
        item["text"] = event.note
    elif event.kind == "survey" and event.note:
        item["comment"] = event.note
    return item


def _as_party(ticket: Ticket, resident_id: int) -> dict[str, Any]:
    """A dispute where they were the other party: the office's messages to them and their
    answers; nothing of the complainant."""
    messages = []
    for event in ticket.events:
        details = event.details or {}
        if event.kind != "mediation":
            continue
        if details.get("step") == "contacted" and details.get("method") == "bot":
            messages.append({"at": _at(event.created_at), "from": "office", "text": event.note})
        elif details.get("step") == "answered" and event.actor_id == resident_id:
            messages.append({"at": _at(event.created_at), "from": "you", "text": event.note})
    return {"number": ticket.number, "messages": messages}
