"""`residesk stats`: the office's figures as plain text (English, like the rest of the CLI)."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from tickets.stats import SATISFACTION_TARGET, Stats

PERIOD_DAYS = {"week": 7, "month": 30, "quarter": 90}


def _hours(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} h"


def _share(part: int, whole: int) -> str:
    return f"{part / whole:.0%} ({part} of {whole})" if whole else "—"


def _counts(counts: dict[str, int]) -> str:
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return ", ".join(f"{name or '(none)'} {n}" for name, n in ordered) or "—"


def stats_report(stats: Stats, first: date, last: date, timezone: ZoneInfo) -> str:
    median_ack, p90_ack = stats.hours_to_acknowledge
    median_resolve, p90_resolve = stats.hours_to_resolve
    satisfied = stats.satisfied_share
    verdict = "" if satisfied is None else (
        "  (target ≥ {:.0%}: {})".format(SATISFACTION_TARGET,
                                         "met" if stats.satisfaction_met else "NOT met"))
    lines = [
        f"Tickets created {first} – {last} ({timezone.key}): {stats.total}",
        f"  by status:   {_counts(stats.by_status)}",
        f"  by category: {_counts(stats.by_category)}",
        f"  by building: {_counts(stats.by_building)}",
        f"  by channel:  {_counts(stats.by_channel)}",
        f"Time to acknowledge: median {_hours(median_ack)}, 90th percentile {_hours(p90_ack)}",
        f"Time to resolve:     median {_hours(median_resolve)}, "
        f"90th percentile {_hours(p90_resolve)}",
        f"Acknowledged in time: {_share(*stats.acknowledged_on_time)}",
        f"Resolved in time:     {_share(*stats.resolved_on_time)}",
        "Satisfaction: " + ("no ratings" if not stats.rated else
                            f"average {stats.average_rating:.2f} of 5, satisfied "
                            f"{_share(stats.satisfied, stats.rated)}{verdict}"),
        f"Reopened: {_share(*stats.reopened)} of the resolved",
        f"Top causes: {_counts(dict(stats.top_causes))}",
        f"Overdue now: {stats.overdue}",
    ]
    lines += [f"  No. {t.number}  {t.status:<14} {t.category_code:<10} due "
              f"{t.resolve_due_at.astimezone(timezone):%Y-%m-%d %H:%M}"
              for t in stats.overdue_first]
    return "\n".join(lines)
