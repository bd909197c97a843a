"""What the office's staff group is told. Rendered here, sent by the notifier in `bot/`."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from conversations.events import Reply
from locales import gettext_for
from storage.models import Ticket
from tickets.lifecycle import STATUS_LABELS, Status
from tickets.policy import CATEGORY_LABELS, PRIORITY_LABELS


def new_ticket_card(ticket: Ticket, lang: str, timezone: ZoneInfo) -> Reply:
    """The complete card staff need at once (complaint-process step 2, "record")."""
    _ = gettext_for(lang)
    resident = ticket.resident
    due = ticket.ack_due_at.astimezone(timezone).strftime("%Y-%m-%d %H:%M")
    category = CATEGORY_LABELS.get(ticket.category_code)
    lines = [
        ("🚨 " if ticket.priority == "urgent" else "🆕 ")
        + _("New ticket No. %(number)s") % {"number": ticket.number},
        _("Category: %(category)s") % {"category": _(category) if category
                                        else ticket.category_code},
        _("Urgency: %(urgency)s") % {"urgency": _(PRIORITY_LABELS[ticket.priority])},
        _("Resident: %(name)s, %(phone)s") % {"name": resident.name, "phone": resident.phone},
        _("Unit: %(unit)s") % {"unit": ticket.unit_text},
        _("Status: %(status)s") % {"status": _(STATUS_LABELS[Status(ticket.status)])},
        _("Files attached: %(count)d") % {"count": len(ticket.attachments)},
        _("Acknowledge by: %(due)s") % {"due": due},
        "",
        ticket.description,
    ]
    return Reply("\n".join(lines))


def resident_update(ticket: Ticket, kind: str, details: dict[str, object], lang: str) -> Reply:
    """The resident withdrew a ticket, or added information or a file to it."""
    _ = gettext_for(lang)
    head = _("Ticket No. %(number)s (%(unit)s)") % {"number": ticket.number,
                                                  "unit": ticket.unit_text}
    if kind == "withdrawn":
        return Reply(f"↩ {head}\n" + _("The resident withdrew this ticket."))
    lines = [f"➕ {head}", _("The resident added information:")]
    if details.get("file"):
        lines.append(_("a file (%(kind)s)") % {"kind": details["file"]})
    if details.get("text"):
        lines.append(str(details["text"]))
    return Reply("\n".join(lines))
