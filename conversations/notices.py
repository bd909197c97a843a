"""What the outbox rows say: the staff group's ticket cards and thread posts, and the
resident's notifications. Rendered when sent (so a card shows the ticket as it is then), in
the reader's language; the notifier in `bot/` only delivers.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from conversations.events import Button, FileRef, Mention, Reply, inline
from conversations.keyboards import (
    CallBackButton,
    CardAction,
    SurveyButton,
    grid,
    staff_button,
)
from locales import N_, gettext_for, ngettext_for
from locales.dates import format_day, format_numeric_when
from storage.models import Attachment, Ticket, utcnow
from tickets.evidence import ALBUM_MAX, album_class
from tickets.lifecycle import CLOCK_RUNNING, OPEN, STAFF_STATUS_LABELS, Action, Status
from tickets.notices import (
    Acknowledged,
    Apology,
    Assigned,
    AutoClosed,
    CallBackPost,
    CallBackQuestion,
    Card,
    ClosedByResident,
    DeadlineNear,
    DeliveryFailed,
    Escalated,
    Evidence,
    FollowUpDue,
    IncidentDeclared,
    IncidentReport,
    InformationRequested,
    Investigating,
    InvestigationRecorded,
    JoinedIncident,
    Linked,
    MediationPost,
    NotFixed,
    NoticeFile,
    Overdue,
    PartyMessage,
    PartyNotice,
    PartySettled,
    Rejected,
    ReplyLost,
    ResidentAdded,
    ResidentNotice,
    Resolved,
    Resolving,
    StaffMessage,
    SurveyAnswered,
    SurveyQuestion,
    SurveyReminder,
    TicketNotice,
    Withdrawn,
)
from tickets.offers import is_dispute, offered
from tickets.policy import (
    CATEGORY_LABELS,
    CAUSE_LABELS,
    CHANNEL_LABELS,
    PRIORITY_LABELS,
    RESOLUTION_LABELS,
    SEVERITY_LABELS,
    CallBackOutcome,
)
from tickets.questions import QuestionSet, answers_of
from tickets.timers import Stage

Gettext = Callable[[str], str]
SURVEY_ANSWER_LABELS = {"yes": N_("fixed"), "partly": N_("partly fixed"), "no": N_("not fixed")}
# A staff member's reply to these posts in a card's thread goes to the resident (not a reply
# to an assignment, an escalation or a delivery alert: those are talk among the staff).
RELAYED_FROM = frozenset({Card.KIND, ResidentAdded.KIND, Evidence.KIND, Linked.KIND})


@dataclass(frozen=True)
class Notice:
    """One message to deliver, and what to remember once it is out."""

    reply: Reply
    ticket_id: int | None  # None: about the chat, not a ticket (nothing to link)
    is_card: bool = False  # remember its message id as the ticket's card
    survey_id: int | None = None  # a reply to it is a survey comment
    kind: str = ""  # remembered with the message: which replies to it are relayed


def when(moment: datetime | None, timezone: ZoneInfo) -> str:
    return format_numeric_when(moment, timezone) if moment else "—"


def _at(iso: object, timezone: ZoneInfo) -> str:
    return when(datetime.fromisoformat(iso), timezone) if isinstance(iso, str) else "—"


def category_name(_: Gettext, code: str) -> str:
    label = CATEGORY_LABELS.get(code)
    return _(label) if label else code


# --- the card ------------------------------------------------------------------------------

# The label of each of the card's buttons (tickets.offers: which show, in which order).
CARD_LABELS: dict[Action, str] = {
    Action.ACKNOWLEDGE: N_("✅ Acknowledge"),
    Action.TAKE: N_("🙋 Take"),
    Action.ASSIGN: N_("👥 Assign"),
    Action.INVESTIGATE: N_("🔎 Investigation"),
    Action.RECORD_FINDINGS: N_("📝 Record findings"),
    Action.RESOLVE: N_("🛠 Resolve"),
    Action.MESSAGE: N_("✉️ Message resident"),
    Action.REQUEST_INFO: N_("❓ Request information"),
    Action.ESCALATE: N_("⬆️ Escalate"),
    Action.REJECT: N_("⛔ Reject"),
    Action.NOTE: N_("🗒 Internal note"),
    Action.MEDIATE: N_("🤝 Other party"),
    Action.AGREE: N_("🤝 Agreement"),
    Action.DECLARE_INCIDENT: N_("🚨 Incident"),
    Action.LINK_INCIDENT: N_("🔗 Link to incident"),
}
CARD_ACTION_CODES: dict[Action, CardAction] = {
    Action.ACKNOWLEDGE: CardAction.ACKNOWLEDGE, Action.TAKE: CardAction.TAKE,
    Action.ASSIGN: CardAction.ASSIGN, Action.INVESTIGATE: CardAction.INVESTIGATE,
    Action.RECORD_FINDINGS: CardAction.RECORD_FINDINGS, Action.RESOLVE: CardAction.RESOLVE,
    Action.MESSAGE: CardAction.MESSAGE, Action.REQUEST_INFO: CardAction.REQUEST_INFO,
    Action.ESCALATE: CardAction.ESCALATE, Action.REJECT: CardAction.REJECT,
    Action.NOTE: CardAction.NOTE, Action.MEDIATE: CardAction.MEDIATE,
    Action.AGREE: CardAction.AGREE, Action.DECLARE_INCIDENT: CardAction.INCIDENT,
    Action.LINK_INCIDENT: CardAction.LINK,
}


def card_buttons(ticket: Ticket, _: Gettext) -> tuple[tuple[Button, ...], ...]:
    shown = [staff_button(_(CARD_LABELS[action]), CARD_ACTION_CODES[action], ticket)
             for action in offered(ticket)]
    return inline(*(tuple(shown[i:i + 2]) for i in range(0, len(shown), 2)))


@dataclass(frozen=True)
class CardOptions:
    """What the office set for its cards: the category questions whose answers they show, and
    whether a dispute's complainant is hidden on them (managers see it in the console)."""

    questions: QuestionSet = field(default_factory=QuestionSet)
    hide_dispute_complainant: bool = False


def card(ticket: Ticket, lang: str, timezone: ZoneInfo, console_url: str = "",
         now: datetime | None = None, options: CardOptions | None = None,
         incident: IncidentFacts | None = None) -> Reply:
    """The complete card staff need at once (complaint-process step 2, "record"), as of
    `now` (default: the clock's)."""
    _ = gettext_for(lang)
    options = options or CardOptions()
    status = Status(ticket.status)
    icon = "🚨" if ticket.priority == "urgent" else "🎫"
    lines = [
        f"{icon} " + _("Ticket No. %(number)s") % {"number": ticket.number},
        _("Status: %(status)s") % {"status": _(STAFF_STATUS_LABELS[status])},
        _("Resident: hidden in a dispute (managers see it in the console)")
        if options.hide_dispute_complainant and is_dispute(ticket) else
        _("Resident: personal data erased (%(name)s)") % {"name": ticket.complainant}
        if ticket.resident is not None and ticket.resident.erased_at is not None else
        _("Resident: %(name)s, %(phone)s") % {"name": ticket.complainant, "phone": ticket.phone},
        _("Unit: %(unit)s") % {"unit": (ticket.unit_text or "—") + (
            " (" + _("unverified") + ")" if ticket.unit_text and ticket.unit_id is None
            else "")},
        _("Category: %(category)s") % {"category": category_name(_, ticket.category_code)},
        *("  " + line for line in options.questions.lines(
            ticket.category_code, answers_of(ticket), lang, _)),
        _("Urgency: %(urgency)s") % {"urgency": _(PRIORITY_LABELS[ticket.priority])},
        _("Channel: %(channel)s") % {"channel": _(CHANNEL_LABELS.get(ticket.channel,
                                                                      ticket.channel))},
        _("Assignee: %(name)s") % {"name": ticket.assignee.name if ticket.assignee else "—"},
        _("Received: %(time)s") % {"time": when(ticket.created_at, timezone)},
    ]
    if status == Status.NEW:
        lines.append(_("Acknowledge by: %(due)s") % {"due": when(ticket.ack_due_at, timezone)})
    elif status == Status.REOPENED:  # fresh deadlines: taken up again, then resolved
        lines.append(_("Take up again by: %(due)s") % {"due": when(ticket.ack_due_at,
                                                                    timezone)})
    if ticket.resolve_paused_at is not None and status == Status.WAITING_FOR_RESIDENT:
        lines.append("⏸ " + _("Resolve clock paused since %(time)s (waiting for the resident); "
                             "it goes on with the time left once they answer") % {
            "time": when(ticket.resolve_paused_at, timezone)})
    elif status in OPEN:
        lines.append(_("Resolve by: %(due)s") % {"due": when(ticket.resolve_due_at, timezone)})
    if ticket.attachments:
        lines.append(_("Files attached: %(count)d") % {"count": len(ticket.attachments)})
    if (party := ticket.party) is not None:
        lines.append("🤝 " + _("Other party: unit %(unit)s (%(where)s), reached by %(method)s")
                     % {"unit": party.unit_text,
                        "where": _("uses the bot") if party.resident_id else _("not in the bot"),
                        "method": _(PARTY_METHOD_LABELS.get(party.method, party.method))})
        if party.agreement and party.agreed_on:
            lines.append(_("Agreement of %(day)s: %(text)s") % {
                "day": party.agreed_on.isoformat(), "text": party.agreement[:300]})
    # past due by the clock, or escalated by the scheduler for it (its clock may be ahead)
    now, missed = now or utcnow(), set[str]()
    for event in ticket.events:  # (a reopened ticket's fresh deadlines start it over)
        if event.kind == "deadline" and (event.details or {}).get("stage") == "reopened":
            missed.clear()
        elif event.kind == "escalated" and event.details:
            missed.add(event.details.get("stage", ""))
    if status in OPEN and (ticket.acknowledged_at is None or status == Status.REOPENED) and (
            ticket.ack_due_at < now or "ack" in missed):
        lines.append("⏰ " + _("Overdue: acknowledgement was due %(due)s") % {
            "due": when(ticket.ack_due_at, timezone)})
    elif status in CLOCK_RUNNING and (ticket.resolve_due_at < now or "resolve" in missed):
        lines.append("⏰ " + _("Overdue: resolution was due %(due)s") % {
            "due": when(ticket.resolve_due_at, timezone)})
    if ticket.escalated_at is not None and status in OPEN:
        lines.append("⬆️ " + _("Escalated to managers"))
        promised = next((e.details["promised"] for e in reversed(ticket.events)
                         if e.kind == "escalated" and e.details and "promised" in e.details),
                        None)
        if promised:
            lines.append(_("Promised to the resident: %(time)s") % {
                "time": when(datetime.fromisoformat(promised), timezone)})
    repeat = next((e for e in ticket.events if e.kind == "repeat"), None)
    if repeat is not None and repeat.details:
        lines.append("🔁 " + _("Repeat complaint: the same unit and category within %(days)d "
                              "days — earlier: %(numbers)s") % {
            "days": repeat.details.get("days", 0),
            "numbers": ", ".join("No. " + n for n in repeat.details.get("earlier", []))})
    if incident is not None and incident.scope:
        lines.append("🚨 " + _("Incident for %(scope)s: %(reports)d reports from %(residents)d "
                              "residents") % {"scope": incident.scope,
                                               "reports": incident.reports,
                                               "residents": incident.residents})
        if incident.works is not None:
            lines.append("🛠 " + _("Planned works: %(start)s – %(end)s") % {
                "start": format_numeric_when(incident.works[0], timezone),
                "end": format_numeric_when(incident.works[1], timezone)})
    if ticket.resident is not None and ticket.resident.erased_at is not None:
        lines.append("🔒 " + _("The resident cannot be told any more: they had their personal "
                              "data erased."))
    elif ticket.resident is not None and not ticket.resident.reachable:
        lines.append("⚠️ " + _("The resident cannot be reached (the bot is blocked)."))
    if ticket.resident_id is None:
        lines.append("☎️ " + _("Not in the bot: phone the resident to keep them informed."))
    if ticket.severity:
        lines.append(_("Severity: %(severity)s") % {
            "severity": _(SEVERITY_LABELS.get(ticket.severity, ticket.severity))})
    if ticket.cause_category:
        lines.append(_("Cause: %(cause)s") % {"cause": _(CAUSE_LABELS.get(
            ticket.cause_category, ticket.cause_category)) + (
            f" — {ticket.cause}" if ticket.cause else "")})
    if ticket.resolution_type:
        lines.append(_("Resolution: %(type)s — %(text)s") % {
            "type": _(RESOLUTION_LABELS.get(ticket.resolution_type, ticket.resolution_type)),
            "text": ticket.resolution_text or ""})
    if ticket.rating:
        lines.append(_("Rating: %(stars)s") % {"stars": "★" * ticket.rating})
    lines += ["", ticket.description]
    buttons = card_buttons(ticket, _)
    if console_url:  # a link, not a Mini App: those open from private chats only
        buttons += ((Button.link(_("🖥 Open in console"), f"{console_url}/tickets/{ticket.id}"),),)
    return Reply("\n".join(lines), buttons=buttons, edit_message_id=ticket.card_message_id)


def linked_card(ticket: Ticket, lang: str, incident: IncidentFacts | None) -> Reply:
    """The card of a report linked to an incident by hand, once it is: where it went."""
    _ = gettext_for(lang)
    return Reply("🔗 " + _("Ticket No. %(number)s is linked to incident No. %(lead)s: its posts "
                          "and what is done to it are under that incident's card now.") % {
        "number": ticket.number, "lead": incident.lead_number if incident else "—"},
        edit_message_id=ticket.card_message_id)


# --- posts in the card's thread --------------------------------------------------------------


def evidence_file(attachment: Attachment) -> FileRef:
    """Re-sent by Telegram's id; uploaded from the stored copy when Telegram's file is not
    that copy: a file taken in the console (Telegram never saw it), or a picture whose
    location was taken out (Telegram's file still holds it)."""
    stored = attachment.local_path
    if stored and (not attachment.file_id or attachment.received_sha256):
        return FileRef(attachment.kind, "", path=stored, name=Path(stored).name)
    return FileRef(attachment.kind, attachment.file_id)


def thread_post(ticket: Ticket, notice: TicketNotice, lang: str, timezone: ZoneInfo
                ) -> Reply | None:
    """A post under the card, or None when the kind has no post (any more)."""
    _ = gettext_for(lang)
    reply_to = ticket.card_message_id
    if isinstance(notice, Evidence):
        return _evidence_post(ticket, notice, _, reply_to)
    head = _("No. %(number)s") % {"number": ticket.number}
    lines = post_lines(notice, head, _, timezone)
    if lines is None:
        return None
    body = "\n".join(line for line in lines if line)
    file = notice.file if isinstance(notice, ResidentAdded | MediationPost) else None
    buttons = ((staff_button(_("↩️ A ticket of its own"), CardAction.UNLINK, ticket),),
               ) if isinstance(notice, IncidentReport) and ticket.incident is not None else ()
    return Reply(body, buttons=buttons, file=_file(file), reply_to=reply_to,
                 mentions=_mentions(notice))


def _mentions(notice: TicketNotice) -> tuple[Mention, ...]:
    """The managers an alert names, mentioned so that Telegram notifies them."""
    if not isinstance(notice, Escalated | Overdue | NotFixed | CallBackPost):
        return ()
    names = notice.managers.split(", ") if notice.managers else []
    if len(names) != len(notice.manager_ids):  # (a row queued before mentions: names only)
        return ()
    return tuple(Mention(user_id, name) for user_id, name in zip(notice.manager_ids, names,
                                                                 strict=True))


def _evidence_post(ticket: Ticket, notice: Evidence, _: Gettext, reply_to: int | None
                   ) -> Reply | None:
    """One group of the resident's files: an album, or one file with a caption."""
    by_id = {a.id: a for a in ticket.attachments if a.file_id or a.local_path}
    if notice.files:
        chosen = [by_id[i] for i in notice.files if i in by_id]
    else:  # a row queued before groups: its photos and videos, as it was drawn then
        visual = [a for a in by_id.values() if album_class(a.kind) == "visual"]
        chosen = visual[:ALBUM_MAX] if len(visual) >= 2 else list(by_id.values())[:1]
    files = tuple(evidence_file(a) for a in chosen)
    if len(files) >= 2:
        return Reply("", album=files, reply_to=reply_to)
    if files:
        return Reply(_("Evidence from the resident"), file=files[0], reply_to=reply_to)
    return None


def _file(file: NoticeFile | None) -> FileRef | None:
    if file is not None and file.path:  # the stored copy (see NoticeFile)
        return FileRef(file.kind, "", path=file.path, name=Path(file.path).name)
    return FileRef(file.kind, file.file_id) if file is not None else None


@functools.singledispatch
def post_lines(notice: TicketNotice, head: str, _: Gettext, timezone: ZoneInfo
               ) -> list[str] | None:
    """The lines of a kind's post (empty ones are left out); None: the kind has no post."""
    return None


@post_lines.register
def _incident(notice: IncidentDeclared, head: str, _: Gettext, timezone: ZoneInfo
              ) -> list[str]:
    return ["🚨 " + _("%(head)s is an incident for %(scope)s (%(by)s): new reports of its "
                      "category from there are linked to it, and what happens to it reaches "
                      "everyone who reported.") % {
        "head": head, "scope": notice.scope, "by": notice.by}]


@post_lines.register
def _incident_report(notice: IncidentReport, head: str, _: Gettext, timezone: ZoneInfo
                     ) -> list[str]:
    return ["➕ " + _("%(head)s, %(unit)s, reports the same (incident No. %(lead)s):") % {
        "head": head, "unit": notice.unit or "—", "lead": notice.lead}, notice.text]


@post_lines.register
def _resident_added(notice: ResidentAdded, head: str, _: Gettext, timezone: ZoneInfo
                    ) -> list[str]:
    return ["💬 " + _("%(head)s — the resident writes:") % {"head": head}, notice.text]


@post_lines.register
def _withdrawn(notice: Withdrawn, head: str, _: Gettext, timezone: ZoneInfo) -> list[str]:
    return ["↩️ " + _("%(head)s — the resident withdrew this ticket.") % {"head": head}]


@post_lines.register
def _assigned(notice: Assigned, head: str, _: Gettext, timezone: ZoneInfo) -> list[str]:
    return ["👤 " + _("%(head)s — assigned to %(name)s by %(by)s.") % {
        "head": head, "name": notice.name, "by": notice.by}]


@post_lines.register
def _investigation(notice: InvestigationRecorded, head: str, _: Gettext, timezone: ZoneInfo
                   ) -> list[str]:
    return ["📝 " + _("%(head)s — investigation recorded by %(by)s.") % {
        "head": head, "by": notice.by}]


@post_lines.register
def _escalated(notice: Escalated, head: str, _: Gettext, timezone: ZoneInfo) -> list[str]:
    return ["⬆️ " + _("%(head)s — escalated by %(by)s. Managers: %(managers)s") % {
        "head": head, "by": notice.by or _("the system"), "managers": notice.managers or "—"},
        notice.reason]


@post_lines.register
def _not_fixed(notice: NotFixed, head: str, _: Gettext, timezone: ZoneInfo) -> list[str]:
    return ["🔁 " + _("%(head)s — the resident's answer: %(answer)s. Reopened; "
                     "assignee: %(assignee)s; managers: %(managers)s") % {
        "head": head, "answer": _(SURVEY_ANSWER_LABELS.get(notice.answer, "—")),
        "assignee": notice.assignee or "—", "managers": notice.managers or "—"}]


@post_lines.register
def _closed_by_resident(notice: ClosedByResident, head: str, _: Gettext, timezone: ZoneInfo
                        ) -> list[str]:
    return ["🏁 " + _("%(head)s — the resident confirmed the fix; closed.") % {"head": head}]


@post_lines.register
def _survey_answer(notice: SurveyAnswered, head: str, _: Gettext, timezone: ZoneInfo
                   ) -> list[str]:
    return ["⭐ " + _("%(head)s — survey answer received.") % {"head": head},
            "★" * notice.rating, notice.comment]


@post_lines.register
def _call_back(notice: CallBackPost, head: str, _: Gettext, timezone: ZoneInfo) -> list[str]:
    if notice.outcome == CallBackOutcome.HELD:
        return ["📞 " + _("%(head)s — call-back: the resident says the problem stays solved.")
                % {"head": head}]
    if notice.outcome == CallBackOutcome.RECURRED:
        return ["🔁 " + _("%(head)s — call-back: the resident says the problem came back. "
                         "Reopened as a recurrence; managers: %(managers)s") % {
            "head": head, "managers": notice.managers or "—"}]
    if notice.outcome == CallBackOutcome.UNANSWERED:
        return ["📞 " + _("%(head)s — call-back: no answer from the resident; nothing more "
                         "will be sent.") % {"head": head}]
    return ["📞 " + _("%(head)s — call-back sent: the resident is asked whether the problem "
                     "stays solved.") % {"head": head}]


PARTY_METHOD_LABELS = {"bot": N_("a message through the bot"), "visit": N_("a visit"),
                       "call": N_("a call")}


@post_lines.register
def _mediation(notice: MediationPost, head: str, _: Gettext, timezone: ZoneInfo) -> list[str]:
    if notice.step == "answered":
        return ["🤝 " + _("%(head)s — the other party (unit %(unit)s) answers:") % {
            "head": head, "unit": notice.unit}, notice.text]
    if notice.step == "agreed":
        return ["🤝 " + _("%(head)s — agreement reached with the other party (unit %(unit)s); "
                         "resolved as a mediation:") % {"head": head, "unit": notice.unit},
                notice.text]
    return ["🤝 " + _("%(head)s — the other party (unit %(unit)s) reached by %(method)s:") % {
        "head": head, "unit": notice.unit,
        "method": _(PARTY_METHOD_LABELS.get(notice.method, notice.method))}, notice.text]


@post_lines.register
def _deadline_near(notice: DeadlineNear, head: str, _: Gettext, timezone: ZoneInfo
                   ) -> list[str]:
    text = (_("%(head)s — to be acknowledged by %(due)s. Assignee: %(assignee)s")
            if notice.stage == Stage.ACKNOWLEDGE else
            _("%(head)s — to be resolved by %(due)s. Assignee: %(assignee)s"))
    return ["⏳ " + text % {"head": head, "due": _at(notice.due, timezone),
                           "assignee": notice.assignee or _("nobody yet — please take it")}]


@post_lines.register
def _overdue(notice: Overdue, head: str, _: Gettext, timezone: ZoneInfo) -> list[str]:
    text = (_("%(head)s — not acknowledged in time. Escalated to managers: %(managers)s. "
              "Assignee: %(assignee)s")
            if notice.stage == Stage.ACKNOWLEDGE else
            _("%(head)s — not resolved in time. Escalated to managers: %(managers)s. "
              "Assignee: %(assignee)s"))
    return ["⏰ " + text % {"head": head, "managers": notice.managers or "—",
                           "assignee": notice.assignee or "—"}]


@post_lines.register
def _follow_up(notice: FollowUpDue, head: str, _: Gettext, timezone: ZoneInfo) -> list[str]:
    return ["📅 " + _("%(head)s — follow-up due: check that the improvement measures hold.")
            % {"head": head}, notice.measures]


@post_lines.register
def _linked(notice: Linked, head: str, _: Gettext, timezone: ZoneInfo) -> list[str]:
    return ["🔗 " + _("%(head)s — %(name)s registered in the bot and now follows this "
                     "ticket.") % {"head": head, "name": notice.name}]


@post_lines.register
def _delivery_failed(notice: DeliveryFailed, head: str, _: Gettext, timezone: ZoneInfo
                     ) -> list[str]:
    return ["⚠️ " + _("%(head)s — a message to the resident could not be delivered: "
                     "%(error)s") % {"head": head, "error": notice.error}]


# --- the resident's notifications ----------------------------------------------------------


def survey_buttons(survey_id: int, _: Gettext) -> tuple[tuple[Button, ...], ...]:
    return inline(
        (SurveyButton("yes", survey_id).labelled(_("✅ Yes")),
         SurveyButton("partly", survey_id).labelled(_("🟡 Partly")),
         SurveyButton("no", survey_id).labelled(_("❌ No"))),
        tuple(SurveyButton(f"r{n}", survey_id).labelled("⭐" * n if n == 1 else str(n) + "⭐")
              for n in range(1, 6)),
    )


def for_resident(ticket: Ticket, notice: ResidentNotice, lang: str, timezone: ZoneInfo
                 ) -> Reply | None:
    _ = gettext_for(lang)
    head = _("Ticket No. %(number)s") % {"number": ticket.number}
    return resident_reply(notice, ticket, head, _, timezone)


@functools.singledispatch
def resident_reply(notice: ResidentNotice, ticket: Ticket, head: str, _: Gettext,
                   timezone: ZoneInfo) -> Reply | None:
    """A kind's message to the resident; None: the kind says nothing."""
    return None


@resident_reply.register
def _acknowledged(notice: Acknowledged, ticket: Ticket, head: str, _: Gettext,
                  timezone: ZoneInfo) -> Reply:
    return Reply("👋 " + _("%(head)s: the office has taken up your complaint. Thank you for "
                          "telling us; we will keep you informed here.") % {"head": head})


@resident_reply.register
def _information_requested(notice: InformationRequested, ticket: Ticket, head: str,
                           _: Gettext, timezone: ZoneInfo) -> Reply:
    return Reply("❓ " + _("%(head)s: the office needs more information:\n\n%(text)s\n\n"
                          "Reply to this message (text, photo or voice note).") % {
        "head": head, "text": notice.text})


@resident_reply.register
def _resolving(notice: Resolving, ticket: Ticket, head: str, _: Gettext, timezone: ZoneInfo
               ) -> Reply | None:
    if ticket.status != Status.RESOLVING:  # resolved (or sent back) before this went out
        return None
    return Reply("🛠 " + _("%(head)s: the office knows what to do and is now working on the "
                          "fix.") % {"head": head})


@resident_reply.register
def _joined_incident(notice: JoinedIncident, ticket: Ticket, head: str, _: Gettext,
                     timezone: ZoneInfo) -> Reply | None:
    if ticket.status not in OPEN:  # (finished before this went out: that message says more)
        return None
    return Reply("📌 " + _("%(head)s: we already know about this problem and are working on "
                          "it; you will be told here when it is fixed.") % {"head": head})


@resident_reply.register
def _investigating(notice: Investigating, ticket: Ticket, head: str, _: Gettext,
                   timezone: ZoneInfo) -> Reply:
    return Reply("🔎 " + _("%(head)s is now under investigation.") % {"head": head})


@resident_reply.register
def _staff_message(notice: StaffMessage, ticket: Ticket, head: str, _: Gettext,
                   timezone: ZoneInfo) -> Reply:
    return Reply("✉️ " + _("%(head)s — message from the office:\n\n%(text)s\n\n"
                          "You can reply to this message.") % {"head": head, "text": notice.text},
                 file=_file(notice.file))


@resident_reply.register
def _resolved(notice: Resolved, ticket: Ticket, head: str, _: Gettext, timezone: ZoneInfo
              ) -> Reply:
    lines = ["✅ " + _("%(head)s has been resolved.") % {"head": head}]
    if ticket.resolution_text:
        lines.append(_("What was done: %(text)s") % {"text": ticket.resolution_text})
    if ticket.improvement_measures:
        lines.append(_("To keep it from happening again: %(text)s") % {
            "text": ticket.improvement_measures})
    return _survey_question(lines, notice.survey_id, _)


@resident_reply.register
def _survey_reminder(notice: SurveyReminder, ticket: Ticket, head: str, _: Gettext,
                     timezone: ZoneInfo) -> Reply:
    return _survey_question(["🔔 " + _("%(head)s: we would still like to know whether the "
                                      "problem is fixed.") % {"head": head}],
                            notice.survey_id, _)


def _survey_question(lines: list[str], survey_id: int, _: Gettext) -> Reply:
    lines += ["", _("Is it fixed? And how would you rate our work (1–5)?")]
    return Reply("\n".join(lines), buttons=survey_buttons(survey_id, _))


@resident_reply.register
def _call_back_question(notice: CallBackQuestion, ticket: Ticket, head: str, _: Gettext,
                        timezone: ZoneInfo) -> Reply:
    text = "📞 " + _("%(head)s was closed on %(day)s. Is the problem still solved?") % {
        "head": head, "day": format_day(ticket.closed_at.astimezone(timezone).date(), "en")
        if ticket.closed_at else "—"}  # (the numeric form, the same in every language)
    return Reply(text, buttons=inline((
        CallBackButton("held", notice.call_back_id).labelled(_("✅ Still solved")),
        CallBackButton("back", notice.call_back_id).labelled(_("🔁 It came back")))))


@resident_reply.register
def _party_message(notice: PartyMessage, ticket: Ticket, head: str, _: Gettext,
                   timezone: ZoneInfo) -> Reply:
    # the other party: who complained is never said, only what the office wrote for them
    return Reply("🏘 " + _("The property office, about a matter a neighbour has reported "
                          "(No. %(number)s):\n\n%(text)s\n\nYou can reply to this message; "
                          "your answer goes to the office.") % {
        "number": ticket.number, "text": notice.text})


@resident_reply.register
def _party_settled(notice: PartySettled, ticket: Ticket, head: str, _: Gettext,
                   timezone: ZoneInfo) -> Reply:
    return Reply("🤝 " + _("The matter a neighbour reported (No. %(number)s) has been settled: "
                          "%(text)s\nThank you for your help.") % {
        "number": ticket.number, "text": notice.text})


@resident_reply.register
def _rejected(notice: Rejected, ticket: Ticket, head: str, _: Gettext, timezone: ZoneInfo
              ) -> Reply:
    return Reply("⛔ " + _("%(head)s was not accepted. Reason: %(text)s") % {
        "head": head, "text": notice.text})


@resident_reply.register
def _apology(notice: Apology, ticket: Ticket, head: str, _: Gettext, timezone: ZoneInfo
             ) -> Reply:
    text = (_("%(head)s: we are sorry — the office has not taken up your complaint as soon as "
              "we promised. A manager has been told and will see to it; you will hear from us "
              "by %(time)s.")
            if notice.stage == Stage.ACKNOWLEDGE else
            _("%(head)s: we are sorry — your complaint is taking longer than we promised. A "
              "manager is now following it; we expect to resolve it by %(time)s."))
    return Reply("🙏 " + text % {"head": head, "time": _at(notice.promised, timezone)})


@resident_reply.register
def _auto_closed(notice: AutoClosed, ticket: Ticket, head: str, _: Gettext,
                 timezone: ZoneInfo) -> Reply:
    return Reply("🏁 " + _("%(head)s has been closed. If the problem comes back, please report "
                          "it again.") % {"head": head})


@dataclass(frozen=True)
class IncidentFacts:
    """What a card and a thread post show of an incident: on the lead's card its scope and how
    many reported; a linked report's posts go under the lead's card (`lead_card`)."""

    scope: str = ""
    reports: int = 0
    residents: int = 0
    lead_card: int | None = None  # a linked report's: the lead's card message
    lead_number: str = ""  # a linked report's: the lead's
    works: tuple[datetime, datetime] | None = None  # planned works: when they run


def render(ticket: Ticket, notice: TicketNotice, *, resident_lang: str, staff_lang: str,
           timezone: ZoneInfo, console_url: str = "", options: CardOptions | None = None,
           in_thread: bool = True, incident: IncidentFacts | None = None) -> Notice | None:
    """The message a ticket's notice stands for, or None when there is nothing to say (any
    more)."""
    if isinstance(notice, ResidentNotice):
        if isinstance(notice, PartyNotice) and notice.language:  # another resident's chat
            resident_lang = notice.language
        reply = for_resident(ticket, notice, resident_lang, timezone)
        survey_id = notice.survey_id if isinstance(notice, SurveyQuestion) else None
        return Notice(reply, ticket.id, survey_id=survey_id or None,
                      kind=notice.KIND) if reply else None
    if isinstance(notice, Card) and ticket.incident is not None:
        # linked by hand after its card was posted: the card only points to the incident's
        # now (its buttons would act on a report the incident works)
        if ticket.card_message_id is None:
            return None
        return Notice(linked_card(ticket, staff_lang, incident), ticket.id, is_card=True,
                      kind=notice.KIND)
    if isinstance(notice, Card):
        return Notice(card(ticket, staff_lang, timezone, console_url, options=options,
                           incident=incident), ticket.id, is_card=True, kind=notice.KIND)
    reply = thread_post(ticket, notice, staff_lang, timezone)
    if reply is not None and incident is not None and incident.lead_card is not None:
        reply = replace(reply, reply_to=incident.lead_card)  # under the incident's card
    if reply is not None and not in_thread:
        reply = replace(reply, reply_to=None)
    return Notice(reply, ticket.id, kind=notice.KIND) if reply else None


MESSAGE_MAX = 4096  # Telegram's limit on a message's text
# Linked reports in one joined post: their buttons, two a row, stay a keyboard staff can read.
JOINED_MAX = 20


@dataclass(frozen=True)
class LinkedReport:
    """A report linked to an incident, and its line waiting to go under the lead's card."""

    ticket: Ticket
    notice: IncidentReport


@dataclass(frozen=True)
class JoinedReports:
    """One post for several linked reports of an incident (`joined` of those offered, the
    first ones: what fits in one message)."""

    notice: Notice
    joined: int


def incident_reports(reports: Sequence[LinkedReport], lead_id: int, *, staff_lang: str,
                     incident: IncidentFacts | None) -> JoinedReports:
    """Linked reports that came in together, in one post under the lead's card instead of
    one post each (the staff group takes 20 messages a minute): a line per report, in the
    order they came, each with its button to make it a ticket of its own — as many as fit in
    one message, at least one."""
    _ = gettext_for(staff_lang)
    lines: list[str] = []
    buttons: list[Button] = []
    for report in reports[:JOINED_MAX]:
        ticket, notice = report.ticket, report.notice
        line = "• " + _("No. %(number)s, %(unit)s: %(text)s") % {
            "number": ticket.number or "", "unit": notice.unit or "—", "text": notice.text}
        if lines and len(_joined_text([*lines, line], notice.lead, staff_lang)) > MESSAGE_MAX:
            break
        lines.append(line)
        buttons.append(staff_button(_("↩️ %(number)s on its own") % {"number": ticket.number or ""},
                                    CardAction.UNLINK, ticket))
    text = _joined_text(lines, reports[0].notice.lead, staff_lang)
    if len(text) > MESSAGE_MAX:  # one report alone too long: it is cut, not left out
        text = text[:MESSAGE_MAX - 1] + "…"
    reply_to = incident.lead_card if incident is not None else None
    return JoinedReports(Notice(Reply(text, buttons=grid(buttons), reply_to=reply_to),
                                lead_id, kind=IncidentReport.KIND), len(lines))


def _joined_text(lines: list[str], lead: str, lang: str) -> str:
    ngettext = ngettext_for(lang)
    head = ngettext(
        "➕ %(count)d more report of the same (incident No. %(lead)s):",
        "➕ %(count)d more reports of the same (incident No. %(lead)s):",
        len(lines)) % {"count": len(lines), "lead": lead}
    return "\n".join([head, *lines])


def reply_lost(notice: ReplyLost) -> Notice:
    """Our answer to the resident's last message is lost: said once."""
    _ = gettext_for(notice.lang)
    return Notice(Reply(_(
        "Sorry, Telegram did not let us answer your last message. What you sent is "
        "saved, and the office will get back to you. You can also carry on where you "
        "were, or send /help.")), None, kind=notice.KIND)
