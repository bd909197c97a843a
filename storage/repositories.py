"""Repositories: every query the app runs lives here, over one session (one transaction)."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import ColumnElement, bindparam, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.models import (
    Building,
    CallBack,
    Category,
    ConversationState,
    MessageLink,
    OutboxMessage,
    PersonalDataView,
    ReplyTemplate,
    Resident,
    ResidentChange,
    Staff,
    Survey,
    Ticket,
    Timer,
    Unit,
    UnitInvite,
    WeeklyReport,
    utcnow,
)


def like_pattern(text: str) -> str:
    """A LIKE pattern for "contains `text`", lower-cased, its wildcards taken literally."""
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class Repository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session


RECENT_UPDATES_KEPT = 50
# Built once: this query runs for every update, and building it costs more than running it.
_STATE_WITH_RESIDENT = (
    select(ConversationState, Resident)
    .outerjoin(Resident, Resident.telegram_user_id == bindparam("user"))
    .where(ConversationState.chat_id == bindparam("chat"))
    .with_for_update(of=ConversationState)
)


class Conversations(Repository):
    async def load_with_resident(
        self, chat_id: int, user_id: int | None
    ) -> tuple[ConversationState, Resident | None]:
        """The chat's state (locked where the database can lock rows) and the resident who
        writes, in one query: this runs for every update."""
        row = (
            await self.session.execute(_STATE_WITH_RESIDENT, {"chat": chat_id, "user": user_id})
        ).first()
        if row is not None:
            return row[0], row[1]
        state = ConversationState(chat_id=chat_id, flow="", step="", data={}, version=0,
                                  recent_updates=[])
        self.session.add(state)
        resident = await Residents(self.session).by_user(user_id) if user_id else None
        return state, resident

    @staticmethod
    def claim(state: ConversationState, update_id: int) -> bool:
        """Record the update as handled in the chat's state; False for a redelivery."""
        recent = list(state.recent_updates or [])
        if update_id in recent:
            return False
        state.recent_updates = [*recent[-(RECENT_UPDATES_KEPT - 1):], update_id]
        return True


class Residents(Repository):
    async def by_user(self, telegram_user_id: int) -> Resident | None:
        return await self.session.scalar(
            select(Resident).where(Resident.telegram_user_id == telegram_user_id)
        )

    async def by_chat(self, chat_id: int) -> Resident | None:
        return await self.session.scalar(select(Resident).where(Resident.chat_id == chat_id))

    async def with_phone(self, phone: str) -> Sequence[Resident]:
        return (await self.session.scalars(select(Resident).where(Resident.phone == phone)
                                           .order_by(Resident.id))).all()

    def add(self, resident: Resident) -> None:
        self.session.add(resident)

    async def of_unit(self, unit_id: int | None, unit_text: str) -> Resident | None:
        """A resident registered for this unit (of the office's list, or as typed)."""
        match = (Resident.unit_id == unit_id if unit_id is not None
                 else func.lower(Resident.unit_text) == unit_text.strip().lower())
        return await self.session.scalar(select(Resident).where(match).order_by(Resident.id)
                                         .limit(1))

    def record_change(self, resident: Resident, field: str, old: str | None,
                      new: str | None) -> None:
        """The audit trail of a resident's own changes (/profile)."""
        self.session.add(ResidentChange(resident_id=resident.id, field=field,
                                        old=(old or "")[:128] or None,
                                        new=(new or "")[:128] or None))

    async def changes(self, resident_id: int) -> Sequence[ResidentChange]:
        return (await self.session.scalars(
            select(ResidentChange).where(ResidentChange.resident_id == resident_id)
            .order_by(ResidentChange.id))).all()

    async def get(self, resident_id: int) -> Resident | None:
        return await self.session.get(Resident, resident_id)

    async def search(self, text: str, limit: int = 20) -> Sequence[Resident]:
        """Residents whose name or phone contains `text` (phones by their digits)."""
        text = text.strip()
        if not text:
            return []
        digits = "".join(ch for ch in text if ch.isdigit())
        wanted = like_pattern(text)
        match: ColumnElement[bool] = func.lower(Resident.name).like(wanted, escape="\\")
        if len(digits) >= 4:
            match = or_(match, Resident.phone.like(like_pattern(digits), escape="\\"))
        return (await self.session.scalars(
            select(Resident).where(match).order_by(Resident.name, Resident.id).limit(limit))
        ).all()


@dataclass(frozen=True)
class ImportResult:
    buildings: int
    units: int
    skipped: int


class Units(Repository):
    async def any_loaded(self) -> bool:
        return bool(await self.session.scalar(select(func.count(Unit.id))))

    async def buildings(self) -> Sequence[Building]:
        return (await self.session.scalars(select(Building).order_by(Building.name))).all()

    async def building(self, building_id: int) -> Building | None:
        return await self.session.get(Building, building_id)

    async def find(self, building_id: int, number: str) -> Unit | None:
        return await self.session.scalar(
            select(Unit).where(
                Unit.building_id == building_id, func.upper(Unit.number) == number.upper()
            )
        )

    async def get(self, unit_id: int) -> Unit | None:
        return await self.session.get(Unit, unit_id)

    async def by_label(self, label: str) -> Unit | None:
        """The unit a label such as "3-1202" names (building names may hold "-" too)."""
        label = label.strip()
        for building in await self.buildings():
            if label.startswith(building.name + "-"):
                found = await self.find(building.id, label[len(building.name) + 1:])
                if found is not None:
                    return found
        return None

    async def labels(self, limit: int = 5000) -> list[str]:
        """Units as staff type them ("3-1202"), for a form's suggestions."""
        rows = await self.session.execute(
            select(Building.name, Unit.number).join(Unit.building)
            .order_by(Building.name, Unit.number).limit(limit))
        return [f"{name}-{number}" for name, number in rows]

    async def invite(self, token: str) -> UnitInvite | None:
        return await self.session.get(UnitInvite, token)

    async def use_invite(self, token: str, resident_id: int) -> bool:
        """Mark the invite used by this resident; False when another resident has it already.

        One conditional UPDATE, so two residents finishing at once cannot both get the unit.
        """
        result = await self.session.execute(
            update(UnitInvite)
            .where(UnitInvite.token == token)
            .where(or_(UnitInvite.used_by_resident_id.is_(None),
                       UnitInvite.used_by_resident_id == resident_id))
            .values(used_by_resident_id=resident_id)
            .execution_options(synchronize_session=False)
        )
        # an UPDATE gives a CursorResult (rowcount); SQLAlchemy types execute() as Result
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def import_rows(self, rows: Iterable[dict[str, str]]) -> ImportResult:
        """Add buildings and units from CSV rows (building,unit[,floor]); existing ones are kept."""
        known = {b.name: b for b in await self.buildings()}
        new_buildings = new_units = skipped = 0
        seen: set[tuple[str, str]] = set()
        for row in rows:
            name = (row.get("building") or "").strip()
            number = (row.get("unit") or "").strip()
            if not name or not number or (name, number.upper()) in seen:
                skipped += 1
                continue
            seen.add((name, number.upper()))
            building = known.get(name)
            if building is None:
                building = known[name] = Building(name=name)
                self.session.add(building)
                await self.session.flush()
                new_buildings += 1
            if await self.find(building.id, number) is not None:
                skipped += 1
                continue
            floor = (row.get("floor") or "").strip() or None
            self.session.add(Unit(building_id=building.id, number=number, floor=floor))
            new_units += 1
        await self.session.flush()
        return ImportResult(new_buildings, new_units, skipped)

    async def import_csv(self, text: str) -> ImportResult:
        reader = csv.DictReader(text.splitlines())
        if not reader.fieldnames or not {"building", "unit"} <= {
            f.strip().lower() for f in reader.fieldnames
        }:
            raise ValueError("the CSV needs a header row with the columns building,unit[,floor]")
        rows = ({k.strip().lower(): v for k, v in r.items() if k} for r in reader)
        return await self.import_rows(rows)


class Categories(Repository):
    async def active(self) -> Sequence[Category]:
        return (
            await self.session.scalars(
                select(Category).where(Category.active.is_(True)).order_by(Category.sort_order)
            )
        ).all()

    async def by_code(self, code: str) -> Category | None:
        return await self.session.scalar(select(Category).where(Category.code == code))

    async def all(self) -> Sequence[Category]:
        return (await self.session.scalars(select(Category).order_by(Category.sort_order))).all()

    async def upsert(
        self,
        code: str,
        *,
        titles: dict[str, str],
        active: bool | None = None,
        dispute: bool | None = None,
    ) -> tuple[Category, bool]:
        """Add a category or change one; returns (category, created)."""
        if not code.isascii() or not code.replace("_", "").isalnum() or len(code) > 24:
            raise ValueError("a category code is up to 24 letters, digits or _")
        category = await self.by_code(code)
        created = category is None
        if category is None:
            if "en" not in titles:
                raise ValueError("a new category needs at least --title en=…")
            last = await self.session.scalar(select(func.max(Category.sort_order)))
            category = Category(code=code, titles={}, sort_order=(last or 0) + 1,
                                active=True)
            self.session.add(category)
        category.titles = {**category.titles, **titles}
        if active is not None:
            category.active = active
        if dispute is not None:
            category.dispute = dispute
        await self.session.flush()
        return category, created


class Tickets(Repository):
    def add(self, ticket: Ticket) -> None:
        self.session.add(ticket)

    async def earlier_of_unit(self, ticket: Ticket, since: datetime
                              ) -> list[tuple[int, str]]:
        """(id, number) of earlier tickets of the same unit and category created since
        `since`, latest first (withdrawn ones too: the problem was there all the same)."""
        rows = (await self.session.execute(
            select(Ticket.id, Ticket.number).where(Ticket.unit_text == ticket.unit_text,
                                 Ticket.category_code == ticket.category_code,
                                 Ticket.created_at >= since,
                                 Ticket.created_at <= ticket.created_at, Ticket.id != ticket.id)
            .order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(20))).all()
        return [(int(id_), str(number)) for id_, number in rows]

    async def by_submission(self, key: str) -> Ticket | None:
        return await self.session.scalar(select(Ticket).where(Ticket.submission_key == key))

    async def for_resident(self, resident_id: int, ticket_id: int) -> Ticket | None:
        return await self.session.scalar(
            select(Ticket).where(Ticket.id == ticket_id, Ticket.resident_id == resident_id)
        )

    async def get(self, ticket_id: int) -> Ticket | None:
        return await self.session.get(Ticket, ticket_id)

    async def by_number(self, number: str) -> Ticket | None:
        return await self.session.scalar(select(Ticket).where(Ticket.number == number))

    async def unclaimed_with_phone(self, phones: Sequence[str]) -> Sequence[Ticket]:
        """Tickets taken for someone by phone who has not registered yet."""
        return (await self.session.scalars(
            select(Ticket)
            .where(Ticket.resident_id.is_(None), Ticket.contact_phone.in_(phones))
            .order_by(Ticket.id))).all()

    async def live_of_resident(self, resident_id: int, statuses: Iterable[str]
                               ) -> Sequence[Ticket]:
        return (await self.session.scalars(
            select(Ticket).where(Ticket.resident_id == resident_id,
                                 Ticket.status.in_(list(statuses))).order_by(Ticket.id))).all()

    async def page_for_resident(
        self, resident_id: int, offset: int, limit: int
    ) -> tuple[Sequence[Ticket], int]:
        total = await self.session.scalar(
            select(func.count(Ticket.id)).where(Ticket.resident_id == resident_id)
        )
        rows = await self.session.scalars(
            select(Ticket)
            .where(Ticket.resident_id == resident_id)
            .order_by(Ticket.id.desc())
            .offset(offset)
            .limit(limit)
        )
        return rows.all(), int(total or 0)


class WeeklyReports(Repository):
    async def claim(self, day: date) -> bool:
        """Mark the report of `day` queued; False when it already was (by anyone)."""
        if await self.session.get(WeeklyReport, day) is not None:
            return False
        try:
            async with self.session.begin_nested():
                self.session.add(WeeklyReport(report_day=day))
        except IntegrityError:  # another scheduler was a moment faster
            return False
        return True


class OutboxPayload(Protocol):
    """A message the outbox carries (`tickets.notices`): it says how it is stored."""

    def to_payload(self) -> dict[str, Any]: ...


class Outbox(Repository):
    def enqueue(self, chat_id: int, message: OutboxPayload) -> None:
        self.session.add(OutboxMessage(chat_id=chat_id, payload=message.to_payload()))
        self.session.info["outbox_touched"] = True

    @staticmethod
    def touched(session: AsyncSession) -> bool:
        """Whether this transaction queued anything (then the notifier is woken after it)."""
        return bool(session.info.get("outbox_touched"))

    async def claim(self, now: datetime, limit: int, owner: str, lease: timedelta
                    ) -> Sequence[OutboxMessage]:
        """Take the due rows for sending (`due`), each for `lease`: rows another notifier
        holds are skipped — on PostgreSQL without waiting for its lock (SKIP LOCKED) — and a
        chat whose oldest row is held sends nothing else meanwhile (order, one sender)."""
        rows = await self.due(now, limit, lock=True)
        for row in rows:
            row.claimed_by, row.lease_until = owner, now + lease
        return rows

    async def followed_by(self, row: OutboxMessage, kind: str, ticket_id: int) -> bool:
        """Whether a later pending row of this chat is a `kind` notice of the same ticket (a
        card drawn again: this row's edit would be shown for a moment only)."""
        return await self.session.scalar(
            select(OutboxMessage.id).where(
                OutboxMessage.chat_id == row.chat_id, OutboxMessage.state == "pending",
                OutboxMessage.id > row.id, OutboxMessage.payload["kind"].as_string() == kind,
                OutboxMessage.payload["ticket_id"].as_integer() == ticket_id).limit(1)
        ) is not None

    async def following(self, row: OutboxMessage, now: datetime, limit: int
                        ) -> Sequence[OutboxMessage]:
        """The chat's pending rows right after `row` (claimed: none else sends this chat),
        in order, up to the first that is not due or is held: what may go out with it.
        Locked on PostgreSQL until this transaction claims them."""
        rows = (await self.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.chat_id == row.chat_id, OutboxMessage.state == "pending",
                   OutboxMessage.id > row.id)
            .order_by(OutboxMessage.id).limit(limit)
            .with_for_update(of=OutboxMessage))).all()
        ready: list[OutboxMessage] = []
        for follower in rows:
            if follower.next_attempt_at > now or (follower.lease_until is not None
                                                  and follower.lease_until >= now):
                break
            ready.append(follower)
        return ready

    def claim_rows(self, rows: Sequence[OutboxMessage], owner: str, lease_until: datetime
                   ) -> None:
        """Rows that go out with one claimed already (`following`): held as it is."""
        for row in rows:
            row.claimed_by, row.lease_until = owner, lease_until

    async def settling(self, row_id: int) -> OutboxMessage | None:
        """The row, to record how its send went: no longer anyone's claim."""
        row = await self.get(row_id)
        if row is not None:
            row.claimed_by = row.lease_until = None
        return row

    async def release(self, row_ids: Sequence[int]) -> None:
        """Claimed but not sent (a chat that must wait): free for the next drain."""
        if row_ids:
            await self.session.execute(
                update(OutboxMessage).where(OutboxMessage.id.in_(list(row_ids)))
                .values(claimed_by=None, lease_until=None))

    async def last_sent_at(self) -> datetime | None:
        """When the last row was marked sent, by any process."""
        return await self.session.scalar(select(func.max(OutboxMessage.sent_at)))

    async def release_every_claim(self) -> int:
        """Free every claimed row: for the only process there can be (SQLite), at start-up,
        when any claim is a dead process's (killed mid-send) and would otherwise hold its
        rows until the lease ran out. Rows it sent and had not marked go out again (at
        least once)."""
        result = await self.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.state == "pending", OutboxMessage.claimed_by.is_not(None))
            .values(claimed_by=None, lease_until=None))
        # an UPDATE gives a CursorResult (rowcount); SQLAlchemy types execute() as Result
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def due(self, now: datetime, limit: int = 100, *, lock: bool = False
                  ) -> Sequence[OutboxMessage]:
        """Pending rows whose time has come and that no notifier holds, each the oldest
        pending row of its chat: a chat's messages go out in order, and one waiting (or held)
        row holds back the rest of its chat."""
        earlier = aliased(OutboxMessage)
        older_pending = (
            select(earlier.id)
            .where(earlier.chat_id == OutboxMessage.chat_id, earlier.state == "pending",
                   earlier.id < OutboxMessage.id)
            .exists()
        )
        query = (select(OutboxMessage)
                 .where(OutboxMessage.state == "pending", OutboxMessage.next_attempt_at <= now,
                        or_(OutboxMessage.lease_until.is_(None),
                            OutboxMessage.lease_until < now),
                        ~older_pending)
                 .order_by(OutboxMessage.id)
                 .limit(limit))
        if lock:
            query = query.with_for_update(skip_locked=True, of=OutboxMessage)
        return (await self.session.scalars(query)).all()

    async def unsent(self, now: datetime) -> int:
        """Rows whose time has come and that are not sent yet, held by a notifier or not."""
        return int(await self.session.scalar(
            select(func.count(OutboxMessage.id))
            .where(OutboxMessage.state == "pending", OutboxMessage.next_attempt_at <= now))
            or 0)

    async def get(self, message_id: int) -> OutboxMessage | None:
        return await self.session.get(OutboxMessage, message_id)

    async def ticket(self, ticket_id: int) -> Ticket | None:
        return await self.session.get(Ticket, ticket_id)

    async def count_by_state(self, states: Sequence[str]) -> dict[str, int]:
        rows = await self.session.execute(
            select(OutboxMessage.state, func.count(OutboxMessage.id))
            .where(OutboxMessage.state.in_(states)).group_by(OutboxMessage.state))
        return {state: 0 for state in states} | {str(s): int(n) for s, n in rows.all()}

    async def pending_kinds(self, chat_id: int) -> set[str]:
        """The kinds of the chat's rows still to be sent."""
        payloads = await self.session.scalars(
            select(OutboxMessage.payload).where(OutboxMessage.chat_id == chat_id,
                                                OutboxMessage.state == "pending"))
        return {str(p.get("kind")) for p in payloads}

    async def resend_to_chat(self, chat_id: int) -> int:
        """The chat takes messages again: what it missed goes out now, in order."""
        result = await self.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.chat_id == chat_id, OutboxMessage.state == "unreachable")
            .values(state="pending", attempts=0, next_attempt_at=utcnow(), last_error=None))
        # an UPDATE gives a CursorResult (rowcount); SQLAlchemy types execute() as Result
        resent = int(result.rowcount or 0)  # type: ignore[attr-defined]
        if resent:
            self.session.info["outbox_touched"] = True
        return resent

    async def give_up_on_chat(self, chat_id: int, error: str) -> int:
        """The chat blocked us: its pending rows will never go out."""
        result = await self.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.chat_id == chat_id, OutboxMessage.state == "pending")
            .values(state="unreachable", last_error=error))
        # an UPDATE gives a CursorResult (rowcount); SQLAlchemy types execute() as Result
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


class StaffMembers(Repository):
    async def by_user(self, telegram_user_id: int) -> Staff | None:
        return await self.session.scalar(
            select(Staff).where(Staff.telegram_user_id == telegram_user_id))

    async def get(self, staff_id: int) -> Staff | None:
        return await self.session.get(Staff, staff_id)

    async def active(self) -> Sequence[Staff]:
        return (await self.session.scalars(
            select(Staff).where(Staff.active.is_(True)).order_by(Staff.name, Staff.id))).all()

    async def everyone(self) -> Sequence[Staff]:
        return (await self.session.scalars(select(Staff).order_by(Staff.id))).all()

    async def managers(self) -> Sequence[Staff]:
        return [s for s in await self.active() if s.is_manager]

    def add(self, staff: Staff) -> None:
        self.session.add(staff)


@dataclass(frozen=True)
class ViewShown:
    """One row of the personal-data audit, with the names a manager reads it by."""

    viewed_at: datetime
    what: str  # phone | file
    staff: str
    resident: str | None  # None: a complaint from someone not in the bot
    ticket_id: int | None
    ticket_number: str | None


class PersonalDataViews(Repository):
    """Who opened a resident's phone number or files in the console (PIPL, GDPR: access to
    personal data is accounted for)."""

    async def record(self, staff_id: int, resident_id: int | None, ticket_id: int | None,
                     what: str, now: datetime, *, window: timedelta) -> bool:
        """One row per person, ticket and kind within `window`: a page of ten photos loads
        them at once, and reloading it adds nothing the audit needs. True: a row was added.
        (Two requests in the same instant may both add one; the audit only reads more.)"""
        seen = await self.session.scalar(
            select(PersonalDataView.id).where(
                PersonalDataView.staff_id == staff_id,
                PersonalDataView.ticket_id == ticket_id if ticket_id is not None
                else PersonalDataView.ticket_id.is_(None),
                PersonalDataView.what == what,
                PersonalDataView.viewed_at > now - window).limit(1))
        if seen is not None:
            return False
        self.session.add(PersonalDataView(staff_id=staff_id, resident_id=resident_id,
                                          ticket_id=ticket_id, what=what, viewed_at=now))
        return True

    async def latest(self, limit: int = 100, *, ticket_id: int | None = None
                     ) -> list[ViewShown]:
        """The newest first; of one ticket when asked."""
        query = (select(PersonalDataView.viewed_at, PersonalDataView.what, Staff.name,
                        Resident.name, PersonalDataView.ticket_id, Ticket.number)
                 .join(Staff, Staff.id == PersonalDataView.staff_id)
                 .outerjoin(Resident, Resident.id == PersonalDataView.resident_id)
                 .outerjoin(Ticket, Ticket.id == PersonalDataView.ticket_id)
                 .order_by(PersonalDataView.viewed_at.desc(), PersonalDataView.id.desc())
                 .limit(limit))
        if ticket_id is not None:
            query = query.where(PersonalDataView.ticket_id == ticket_id)
        return [ViewShown(*row) for row in (await self.session.execute(query)).all()]


class MessageLinks(Repository):
    async def ticket_of(self, chat_id: int, message_id: int) -> MessageLink | None:
        return await self.session.get(MessageLink, (chat_id, message_id))

    async def link(self, chat_id: int, message_id: int, ticket_id: int,
                   survey_id: int | None = None, kind: str | None = None) -> None:
        if await self.ticket_of(chat_id, message_id) is None:
            self.session.add(MessageLink(chat_id=chat_id, message_id=message_id,
                                         ticket_id=ticket_id, survey_id=survey_id, kind=kind))


class Surveys(Repository):
    async def get(self, survey_id: int) -> Survey | None:
        return await self.session.get(Survey, survey_id)

    async def of_round(self, ticket_id: int, round_: int) -> Survey | None:
        return await self.session.scalar(
            select(Survey).where(Survey.ticket_id == ticket_id, Survey.round == round_))

    def add(self, survey: Survey) -> None:
        self.session.add(survey)


class CallBacks(Repository):
    async def get(self, call_back_id: int) -> CallBack | None:
        return await self.session.get(CallBack, call_back_id)

    async def of_round(self, ticket_id: int, round_: int) -> CallBack | None:
        return await self.session.scalar(
            select(CallBack).where(CallBack.ticket_id == ticket_id, CallBack.round == round_))

    def add(self, call_back: CallBack) -> None:
        self.session.add(call_back)


class Timers(Repository):
    async def set(self, ticket_id: int, kind: str, due_at: datetime, round_: int = 0) -> None:
        """Set a timer once; setting the same (ticket, kind, round) again changes nothing."""
        existing = await self.session.scalar(
            select(Timer).where(Timer.ticket_id == ticket_id, Timer.kind == kind,
                                Timer.round == round_))
        if existing is None:
            self.session.add(Timer(ticket_id=ticket_id, kind=kind, round=round_,
                                   due_at=due_at))

    def start(self, ticket_id: int, due: dict[str, datetime]) -> None:
        """A new ticket's timers (it has none yet, so nothing to look up first)."""
        self.session.add_all(Timer(ticket_id=ticket_id, kind=kind, round=0, due_at=at)
                             for kind, at in due.items())

    async def restart(self, ticket_id: int, due: Mapping[str, datetime | None]) -> None:
        """Timers set anew (a deadline moved): the pending ones of these kinds are cancelled
        and each kind given a time gets one more round at it."""
        await self.cancel(ticket_id, *due)
        rounds: dict[str, int] = {kind: round_ for kind, round_ in await self.session.execute(
            select(Timer.kind, func.max(Timer.round))
            .where(Timer.ticket_id == ticket_id, Timer.kind.in_(list(due)))
            .group_by(Timer.kind))}
        self.session.add_all(Timer(ticket_id=ticket_id, kind=kind, round=rounds.get(kind, -1) + 1,
                                   due_at=at) for kind, at in due.items() if at is not None)

    async def count_due(self, now: datetime) -> int:
        return int(await self.session.scalar(
            select(func.count(Timer.id)).where(Timer.fired_at.is_(None),
                                               Timer.cancelled.is_(False),
                                               Timer.due_at <= now)) or 0)

    async def due(self, now: datetime, limit: int = 50) -> Sequence[Timer]:
        return (await self.session.scalars(
            select(Timer)
            .where(Timer.fired_at.is_(None), Timer.cancelled.is_(False), Timer.due_at <= now)
            .order_by(Timer.due_at, Timer.id)
            .limit(limit)
            .with_for_update(skip_locked=True))).all()

    async def cancel(self, ticket_id: int, *kinds: str) -> None:
        await self.session.execute(
            update(Timer)
            .where(Timer.ticket_id == ticket_id, Timer.kind.in_(kinds), Timer.fired_at.is_(None))
            .values(cancelled=True))


class ReplyTemplates(Repository):
    """The office's reply templates (tickets/templates.py)."""

    async def offered(self, purpose: str) -> Sequence[ReplyTemplate]:
        return (await self.session.scalars(
            select(ReplyTemplate).where(ReplyTemplate.purpose == purpose,
                                        ReplyTemplate.active.is_(True))
            .order_by(ReplyTemplate.title))).all()

    async def all(self) -> Sequence[ReplyTemplate]:
        return (await self.session.scalars(
            select(ReplyTemplate).order_by(ReplyTemplate.purpose, ReplyTemplate.title))).all()

    async def get(self, template_id: int) -> ReplyTemplate | None:
        return await self.session.get(ReplyTemplate, template_id)

    async def by_title(self, title: str) -> ReplyTemplate | None:
        return await self.session.scalar(select(ReplyTemplate).where(
            ReplyTemplate.title == title))

    async def upsert(self, title: str, purpose: str, texts: dict[str, str],
                     active: bool | None = None) -> tuple[ReplyTemplate, bool]:
        """Add the template, or change the one of that title (texts given replace theirs)."""
        template = await self.by_title(title)
        created = template is None
        if template is None:
            template = ReplyTemplate(title=title, purpose=purpose, texts={}, active=True)
            self.session.add(template)
        template.purpose = purpose
        template.texts = {**(template.texts or {}), **texts}
        if active is not None:
            template.active = active
        await self.session.flush()
        return template, created
