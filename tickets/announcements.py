"""Announcements: a notice from the office to the residents of a scope, now or at a set time.

A manager drafts one (`/announce` in the staff group: `AnnouncementDraft`), confirms it, and it
is stored with its `send_at`. The scheduler queues it once per deployment (`queue_due`): in one
transaction it claims the row (a conditional UPDATE: of two replicas one wins), writes one
`AnnouncementDelivery` per recipient and one outbox row per resident who can receive it, so
nobody gets it twice, whatever restarts. The notifier sends those rows like any other; the
delivery report reads their states (`storage.announcements`), so it needs no bookkeeping of
its own when the notifier settles a row.

The console writes one too (`NewAnnouncement`): a text for everyone or one per language (a
resident gets theirs, else the text for everyone, else the office's language's), a photo,
and, for planned works, the incident it opens for its scope, category and window
(tickets/incidents.py `plan`), so that reports of it are linked as they come.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from locales import SUPPORTED
from storage.announcements import Announcements, Area
from storage.incidents import Incidents
from storage.models import Announcement, AnnouncementDelivery, OutboxMessage
from storage.repositories import Units
from tickets import incidents
from tickets.notices import AnnouncementNotice
from tickets.scope import Scope, ScopeError, ScopeKind, floors_from

EVERYONE = "*"  # the key of `Announcement.texts` for a text in no particular language
TEXT_MAX = 3500  # under Telegram's 4096 with the header (a caption is shorter: see below)
CAPTION_TEXT_MAX = 900  # under a photo's caption limit of 1024, with the header
LANGUAGES = (EVERYONE, *SUPPORTED)  # the keys `texts` may have
_TAGS = {"en": "en", "zh": "zh_Hans", "ru": "ru"}  # the tags of a text per language
_LANGUAGE_TAG = re.compile(r"^[ \t]*\[(en|zh|ru)\][ \t]*", re.IGNORECASE | re.MULTILINE)
_WHEN = re.compile(r"\s+at\s+(\d{4}-\d{2}-\d{2})[ T](\d{1,2}:\d{2})\s*$", re.IGNORECASE)
# planned works in the staff group: "works water 2026-12-05 09:00-12:00" (or "... 09:00 -
# 2026-12-06 12:00"), a line of its own after the scope
_WORKS = re.compile(r"^[ \t]*works[ \t]+(\S+)[ \t]+(\d{4}-\d{2}-\d{2})[ T](\d{1,2}:\d{2})[ \t]*"
                    r"[-–—~][ \t]*(?:(\d{4}-\d{2}-\d{2})[ T])?(\d{1,2}:\d{2})[ \t]*$",
                    re.IGNORECASE | re.MULTILINE)
_WORKS_LINE = re.compile(r"^[ \t]*works\b.*$", re.IGNORECASE | re.MULTILINE)


class Problem(StrEnum):
    """What is wrong with a draft as typed (the staff group says how to write it)."""

    SCOPE = "scope"
    BUILDING = "building"  # not in the unit list
    UNIT = "unit"
    FLOORS = "floors"
    TIME = "time"
    TEXT = "text"  # none at all, or one too long (for a caption, with a photo)
    LANGUAGE = "language"
    PAST = "past"
    WINDOW = "window"  # planned works that end before they start
    WORKS = "works"  # a "works" line that cannot be read
    CATEGORY = "category"  # planned works of a category the office does not offer


class AnnouncementError(ValueError):
    """A draft that cannot be sent as written."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.value)
        self.problem = problem


@dataclass(frozen=True)
class PlannedWorks:
    """Planned works an announcement tells of: reports of `category` from its scope between
    `starts_at` and `ends_at` (aware) are linked to the incident it opens."""

    category: str
    starts_at: datetime
    ends_at: datetime


@dataclass(frozen=True)
class AnnouncementDraft:
    """What a manager asked for, before they confirm it (kept in the staff group's state)."""

    scope: Scope
    texts: dict[str, str]  # by language (LANGUAGES), EVERYONE for all
    send_at: datetime | None  # aware; None: now
    key: str = ""  # random; the confirm button carries it
    photo_file_id: str | None = None  # the photo the command was the caption of
    works: PlannedWorks | None = None  # and the incident it opens
    scope_text: str = ""  # the scope in words (for the planned works' card)

    def to_json(self) -> dict[str, Any]:
        works = self.works
        return {"v": 1, "scope": self.scope.to_json(), "texts": self.texts, "key": self.key,
                "send_at": self.send_at.isoformat() if self.send_at else None,
                "photo_file_id": self.photo_file_id, "scope_text": self.scope_text,
                "works": {"category": works.category, "from": works.starts_at.isoformat(),
                          "to": works.ends_at.isoformat()} if works else None}

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> AnnouncementDraft | None:
        if not data or data.get("v") != 1:
            return None
        try:
            at = data.get("send_at")
            # (a draft saved before texts per language has one "text", for everyone)
            texts = ({str(k): str(v) for k, v in data["texts"].items()} if "texts" in data
                     else {EVERYONE: str(data["text"])})
            works = data.get("works")  # (a draft saved before planned works has none)
            return cls(Scope.from_json(data["scope"]), texts,
                       datetime.fromisoformat(at) if at else None, str(data.get("key", "")),
                       data.get("photo_file_id") or None,
                       PlannedWorks(str(works["category"]), datetime.fromisoformat(works["from"]),
                                    datetime.fromisoformat(works["to"])) if works else None,
                       str(data.get("scope_text") or ""))
        except (KeyError, ValueError, TypeError, AttributeError, ScopeError):
            return None


def works_from(body: str, timezone: ZoneInfo) -> tuple[str, PlannedWorks | None]:
    """The body without its "works" line, and the planned works that line names (the
    category as its code; times in office time; the end's day, if not given, the start's)."""
    line = _WORKS_LINE.search(body)
    if line is None:
        return body, None
    found = _WORKS.fullmatch(line[0])
    if found is None:
        raise AnnouncementError(Problem.WORKS)
    category, day, start, end_day, end = found.groups()
    try:
        starts = datetime.fromisoformat(f"{day} {int(start[:-3]):02d}:{start[-2:]}")
        ends = datetime.fromisoformat(f"{end_day or day} {int(end[:-3]):02d}:{end[-2:]}")
    except ValueError:
        raise AnnouncementError(Problem.WORKS) from None
    rest = body[:line.start()] + body[line.end():].lstrip("\n")
    return rest, PlannedWorks(category.lower(), starts.replace(tzinfo=timezone),
                              ends.replace(tzinfo=timezone))


def texts_from(body: str) -> dict[str, str]:
    """The text of /announce: for everyone, then optionally a text per language, each after
    its tag at the start of a line ("[en]", "[zh]", "[ru]"). Empty ones are left out."""
    parts = _LANGUAGE_TAG.split(body)
    texts = {EVERYONE: parts[0]} | {_TAGS[tag.lower()]: text
                                    for tag, text in zip(parts[1::2], parts[2::2], strict=True)}
    return {key: text.strip() for key, text in texts.items() if text.strip()}


@dataclass(frozen=True)
class NewAnnouncement:
    """An announcement as the console writes it (the staff group's draft becomes one too)."""

    scope: Scope
    texts: dict[str, str]  # by language (LANGUAGES), EVERYONE for all
    send_at: datetime | None  # aware; None: now
    photo_path: str | None = None  # a kept upload, without its metadata
    works: PlannedWorks | None = None
    scope_text: str = ""  # the scope in words (for the planned works' card)
    photo_file_id: str | None = None  # a photo sent in the staff group (Telegram's id)
    form_key: str | None = None  # the console's form: sent twice, it is one announcement

    def problems(self, now: datetime) -> list[Problem]:
        """What is wrong with it (nothing: it can be saved)."""
        found = []
        longest = CAPTION_TEXT_MAX if self.photo_path or self.photo_file_id else TEXT_MAX
        texts = [t for t in self.texts.values() if t.strip()]
        if not texts or any(len(t) > longest for t in texts):
            found.append(Problem.TEXT)
        if any(key not in LANGUAGES for key in self.texts):
            found.append(Problem.LANGUAGE)
        if self.send_at is not None and self.send_at <= now:
            found.append(Problem.PAST)
        if self.works is not None and not (now < self.works.ends_at
                                           and self.works.starts_at < self.works.ends_at):
            found.append(Problem.WINDOW)
        return found


@dataclass(frozen=True)
class DeliveryReport:
    """How an announcement's copies fared: sent, not deliverable (blocked us, or gave up),
    muted by the resident, and still on their way."""

    sent: int = 0
    unreachable: int = 0
    muted: int = 0
    pending: int = 0

    @property
    def total(self) -> int:
        return self.sent + self.unreachable + self.muted + self.pending


def split_when(first_line: str, timezone: ZoneInfo) -> tuple[str, datetime | None]:
    """`… at 2026-12-05 09:00` (office time) at the end of the scope line: the scope's words
    and the time; without it, now."""
    found = _WHEN.search(first_line)
    if found is None:
        return first_line.strip(), None
    try:
        at = datetime.fromisoformat(f"{found[1]}T{int(found[2].split(':')[0]):02d}:"
                                    f"{found[2].split(':')[1]}")
    except ValueError:
        raise AnnouncementError(Problem.TIME) from None
    return first_line[:found.start()].strip(), at.replace(tzinfo=timezone)


async def scope_from(session: AsyncSession, words: str) -> Scope:
    """The scope as a manager types it: "all", "building 2", "building 2 floors 3-5",
    "units 2-0301, 2-0302". Buildings and units are looked up in the office's list."""
    units = Units(session)
    head, _, rest = words.strip().partition(" ")
    head, rest = head.lower(), rest.strip()
    if head in ("all", "everyone", "property"):
        return Scope(ScopeKind.PROPERTY)
    if head == "building" and rest:
        parts = re.split(r"\s+floors?\s+", rest, maxsplit=1, flags=re.I)
        name, floors = parts[0].strip(), (parts[1] if len(parts) == 2 else "")
        building = next((b for b in await units.buildings()
                         if b.name.casefold() == name.casefold()), None)
        if building is None:
            raise AnnouncementError(Problem.BUILDING)
        if len(parts) == 1:
            return Scope(ScopeKind.BUILDING, building.id)
        try:
            return Scope(ScopeKind.FLOORS, building.id, floors=floors_from(floors))
        except ScopeError:
            raise AnnouncementError(Problem.FLOORS) from None
    if head in ("unit", "units") and rest:
        found = []
        for label in re.split(r"[,，\s]+", rest):
            if label:
                unit = await units.by_label(label)
                if unit is None:
                    raise AnnouncementError(Problem.UNIT)
                found.append(unit.id)
        return Scope(ScopeKind.UNITS, unit_ids=tuple(dict.fromkeys(found)))
    raise AnnouncementError(Problem.SCOPE)


def area_of(scope: Scope) -> Area:
    if scope.kind == ScopeKind.UNITS:
        return Area(unit_ids=scope.unit_ids)
    return Area(scope.building_id, scope.floors) if scope.building_id is not None else Area()


async def report(session: AsyncSession, announcement_ids: list[int]
                 ) -> dict[int, DeliveryReport]:
    counts = await Announcements(session).report(announcement_ids)
    return {i: DeliveryReport(**c) for i, c in counts.items()}


async def create(session: AsyncSession, draft: AnnouncementDraft | NewAnnouncement,
                 staff_id: int | None, now: datetime) -> Announcement:
    """Store it (and open its planned works' incident); AnnouncementError if it cannot be
    sent as it is (the console and the group check first, to say what is wrong)."""
    new = (NewAnnouncement(draft.scope, draft.texts, draft.send_at,
                           photo_file_id=draft.photo_file_id, works=draft.works,
                           scope_text=draft.scope_text)
           if isinstance(draft, AnnouncementDraft) else draft)
    if new.form_key and (sent := await Announcements(session).by_form_key(new.form_key)):
        return sent  # (a form sent twice: a double click, a reload)
    if problems := new.problems(now):
        raise AnnouncementError(problems[0])
    texts = {key: text.strip() for key, text in new.texts.items() if text.strip()}
    announcement = Announcement(created_by_id=staff_id, scope=new.scope.to_json(),
                                texts=texts, send_at=new.send_at or now,
                                photo_path=new.photo_path, photo_file_id=new.photo_file_id,
                                form_key=new.form_key or None, created_at=now)
    if new.works is not None:
        incident = await incidents.plan(session, new.works.category, new.scope,
                                        new.scope_text, new.works.starts_at,
                                        new.works.ends_at, staff_id, now)
        announcement.incident_id = incident.id
    session.add(announcement)
    await session.flush()
    return announcement


async def cancel(session: AsyncSession, announcement_id: int, now: datetime) -> bool:
    """Cancel a scheduled one (False: already on its way, or cancelled); its planned works
    are off too, unless a report already leads them."""
    store = Announcements(session)
    if not await store.cancel(announcement_id, now):
        return False
    announcement = await store.get(announcement_id)
    if announcement is not None and announcement.incident_id is not None:
        await Incidents(session).close_if_unreported(announcement.incident_id, now)
    return True


async def queue_due(session: AsyncSession, now: datetime) -> int:
    """Queue the announcements whose time has come; returns the messages queued."""
    queued = 0
    for announcement_id in await Announcements(session).due_ids(now):
        queued += await queue(session, announcement_id, now) or 0
    return queued


async def queue(session: AsyncSession, announcement_id: int, now: datetime) -> int | None:
    """Write the announcement's deliveries and outbox rows; None if it is not ours to queue.
    It is claimed first: a replica (or a restart) that finds it claimed writes nothing, and
    the claim commits with the rows, so a crash before the commit leaves it due again."""
    store = Announcements(session)
    if not await store.claim(announcement_id, now):
        return None  # queued (by another scheduler, or before a restart) or cancelled
    announcement = await store.get(announcement_id)
    assert announcement is not None
    rows: list[tuple[int, OutboxMessage]] = []
    for recipient in await store.recipients(area_of(Scope.from_json(announcement.scope))):
        if recipient.muted or not recipient.reachable:  # counted, not sent
            session.add(AnnouncementDelivery(
                announcement_id=announcement_id, resident_id=recipient.resident_id,
                state="muted" if recipient.muted else "unreachable"))
            continue
        row = OutboxMessage(chat_id=recipient.chat_id, payload=AnnouncementNotice(
            announcement_id, recipient.language).to_payload())
        rows.append((recipient.resident_id, row))
    session.add_all([row for _, row in rows])
    await session.flush()  # the outbox ids, for the deliveries
    session.add_all([AnnouncementDelivery(announcement_id=announcement_id,
                                          resident_id=resident_id, state="queued",
                                          outbox_id=row.id) for resident_id, row in rows])
    await session.flush()
    if rows:
        session.info["outbox_touched"] = True  # (as Outbox.enqueue: the notifier is woken)
    return len(rows)
