"""Reading one answer of a guided action: typed, sent as a file, or pressed; dates."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from conversations.context import Context
from conversations.events import EventKind
from conversations.staffdesk.questions import SKIP, Ask
from storage.models import Staff, utcnow
from tickets.policy import normalize_phone

QUICK_DAYS = {"today": 0, "yesterday": -1, "7d": 7, "30d": 30}  # a date question's buttons


def value_of(ctx: Context, staff: Staff, ask: Ask,
             pressed: str | None) -> tuple[Any, str | None]:
    """The answer's value, or a polite problem to show before asking again."""
    _ = ctx._
    event = ctx.event
    if pressed == SKIP and ask.optional:
        return None, None
    if pressed is not None:
        valid = {value for value, _label in ask.choices}
        if ask.key == "category":
            return pressed, None  # checked against the categories when saved
        if pressed not in valid:
            return None, _("Please use the buttons of the latest question.")
        if ask.kind == "date":
            return _quick_date(pressed, ctx), None
        if ask.key == "visit_by" and pressed == "me":
            return staff.name, None
        return pressed, None
    if ask.kind == "media" and event.media is not None:
        media = event.media
        return {"text": event.text or "", "file": {"kind": media.kind,
                                                   "file_id": media.file_id}}, None
    text = (event.text or "").strip()
    if event.kind not in (EventKind.TEXT, EventKind.COMMAND) or not text:
        return None, _("Please answer with text.")
    return text_value(ctx, ask, text)


def text_value(ctx: Context, ask: Ask, text: str) -> tuple[Any, str | None]:
    """A text answer (typed, or a reply template's), checked as the question asks."""
    _ = ctx._
    if ask.kind == "choice":
        return None, _("Please choose one of the buttons.")
    if len(text) < ask.min_len:
        return None, _("That is too short (at least %(count)d characters).") % {
            "count": ask.min_len}
    if len(text) > ask.max_len:
        return None, _("That is too long: %(length)d characters, at most %(limit)d.") % {
            "length": len(text), "limit": ask.max_len}
    if ask.kind == "phone":
        phone = normalize_phone(text, ctx.office.phone_region)
        if phone is None:
            return None, _("That does not look like a phone number.")
        return phone, None
    if ask.kind == "date":
        moment = _typed_date(text, ctx)
        if moment is None:
            return None, _("Please type the date as 2026-11-28 (or 2026-11-28 15:30).")
        # a site visit has happened; a follow-up is still to come
        past = datetime.fromisoformat(moment) <= utcnow()
        if ask.key == "visit_at" and not past:
            return None, _("The site visit should be a date that has passed.")
        if ask.key == "follow_up" and past:
            return None, _("The follow-up should be a date to come.")
        return moment, None
    if ask.kind == "media":
        return {"text": text, "file": None}, None
    return text, None


def _quick_date(value: str, ctx: Context) -> str | None:
    """A date button: days from today in the office's time zone ("No site visit": None)."""
    today = utcnow().astimezone(ctx.office.timezone).date()
    if value not in QUICK_DAYS:
        return None
    return _iso(today + timedelta(days=QUICK_DAYS[value]), None, ctx)


def _typed_date(text: str, ctx: Context) -> str | None:
    day_text, _sep, time_text = text.strip().partition(" ")
    try:
        day = date.fromisoformat(day_text)
        at = time.fromisoformat(time_text.strip()) if time_text.strip() else None
    except ValueError:
        return None
    return _iso(day, at, ctx)


def _iso(day: date, at: time | None, ctx: Context) -> str:
    """The moment in the office's time zone; a day alone means the follow-up hour."""
    moment = datetime.combine(day, at or time(ctx.office.timing.follow_up_hour),
                              tzinfo=ctx.office.timezone)
    return moment.isoformat()
