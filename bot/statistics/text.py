"""The office's figures as text: `residesk stats` (English) and `/stats` / the weekly report in
the staff group (the office's language)."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from conversations.notices import category_name
from locales import gettext_for
from locales.dates import format_day, format_when
from tickets.lifecycle import STAFF_STATUS_LABELS
from tickets.policy import CAUSE_LABELS, CHANNEL_LABELS, CallBackOutcome
from tickets.statistics import SATISFACTION_TARGET, Statistics


def statistics_text(stats: Statistics, first: date, last: date, timezone: ZoneInfo,
                 lang: str = "en") -> str:
    _ = gettext_for(lang)

    def hours(value: float | None) -> str:
        return "—" if value is None else _("%(hours).1f h") % {"hours": value}

    def share(part: int, whole: int) -> str:
        return _("%(share)s (%(part)d of %(whole)d)") % {
            "share": f"{part / whole:.0%}", "part": part, "whole": whole} if whole else "—"

    def counts(found: dict[str, int], label: dict[str, str] | None = None) -> str:
        ordered = sorted(found.items(), key=lambda item: (-item[1], item[0]))
        return ", ".join(f"{(label or {}).get(name, name) or _('(none)')} {n}"
                         for name, n in ordered) or "—"

    statuses = {s.value: _(label) for s, label in STAFF_STATUS_LABELS.items()}
    median_ack, p90_ack = stats.hours_to_acknowledge
    median_resolve, p90_resolve = stats.hours_to_resolve
    satisfied = stats.satisfied_share
    verdict = "" if satisfied is None else "  " + (
        _("(target ≥ %(target)s: met)") if stats.satisfaction_met
        else _("(target ≥ %(target)s: NOT met)")) % {"target": f"{SATISFACTION_TARGET:.0%}"}
    lines = [
        _("Tickets created %(first)s – %(last)s (%(zone)s): %(total)d") % {
            "first": format_day(first, lang), "last": format_day(last, lang),
            "zone": timezone.key, "total": stats.total},
        # (an incident is one ticket above, its lead; its linked reports are not in the total)
        "  " + _("incidents: %(incidents)d, each counted once; reports linked to them: "
                 "%(reports)d; residents affected: %(residents)d") % {
            "incidents": stats.incidents.incidents, "reports": stats.incidents.reports,
            "residents": stats.incidents.residents},
        "  " + _("by status: %(counts)s") % {"counts": counts(stats.by_status, statuses)},
        "  " + _("by category: %(counts)s") % {"counts": counts(stats.by_category, {
            code: category_name(_, code) for code in stats.by_category})},
        "  " + _("by building: %(counts)s") % {"counts": counts(stats.by_building)},
        "  " + _("by channel: %(counts)s") % {"counts": counts(stats.by_channel, {
            code: _(label) for code, label in CHANNEL_LABELS.items()})},
        _("Time to acknowledge: median %(median)s, 90th percentile %(p90)s") % {
            "median": hours(median_ack), "p90": hours(p90_ack)},
        _("Time to resolve: median %(median)s, 90th percentile %(p90)s") % {
            "median": hours(median_resolve), "p90": hours(p90_resolve)},
        _("Acknowledged in time: %(share)s") % {"share": share(*stats.acknowledged_on_time)},
        _("Resolved in time: %(share)s") % {"share": share(*stats.resolved_on_time)},
        "  " + _("resolve clock paused, waiting for the resident: %(count)d") % {
            "count": stats.paused},
        _("Satisfaction: no ratings") if not stats.rated else
        _("Satisfaction: average %(average).2f of 5, satisfied %(share)s") % {
            "average": stats.average_rating, "share": share(stats.satisfied, stats.rated)}
        + verdict,
        _("Reopened: %(share)s of the resolved") % {"share": share(*stats.reopened)},
        _("Call-backs: %(asked)d asked, answered %(answered)s; the problem came back: "
          "%(recurred)s") % {
            "asked": stats.call_backs_asked,
            "answered": share(stats.call_backs_answered, stats.call_backs_asked),
            "recurred": share(stats.call_backs.get(CallBackOutcome.RECURRED, 0),
                              stats.call_backs_answered)},
        _("Top causes: %(counts)s") % {"counts": counts(dict(stats.top_causes), {
            code: _(label) for code, label in CAUSE_LABELS.items()})},
        _("Overdue now: %(count)d") % {"count": stats.overdue},
    ]
    lines += ["  " + _("No. %(number)s  %(status)s  %(category)s  due %(due)s") % {
        "number": t.number, "status": statuses.get(t.status, t.status),
        "category": category_name(_, t.category_code),
        "due": format_when(t.resolve_due_at, lang, timezone)}
        for t in stats.overdue_first]
    return "\n".join(lines)


