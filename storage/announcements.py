"""The SQL of announcements (tickets/announcements.py): who is in a scope, claiming the due
ones exactly once, cancelling, and the delivery report read from the deliveries and the
states of their outbox rows (the notifier settles those; nothing else records a delivery)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVarTuple

from sqlalchemy import CursorResult, Select, and_, func, select, update

from storage.models import Announcement, AnnouncementDelivery, OutboxMessage, Resident, Unit
from storage.repositories import Repository

_Row = TypeVarTuple("_Row")  # the columns a query of residents selects


@dataclass(frozen=True)
class Recipient:
    resident_id: int
    chat_id: int
    language: str
    muted: bool
    reachable: bool


@dataclass(frozen=True)
class Area:
    """A scope as the SQL filters it (tickets.scope.Scope, which storage does not import):
    nothing set is the whole property."""

    building_id: int | None = None
    floors: tuple[str, ...] = ()
    unit_ids: tuple[int, ...] = ()


# how each (delivery, outbox row) pair of states is counted in the report
SENT, UNREACHABLE, MUTED, PENDING = "sent", "unreachable", "muted", "pending"


def counted(delivery: str, outbox: str | None) -> str:
    if delivery in (MUTED, UNREACHABLE):
        return delivery
    if outbox == "sent":
        return SENT
    if outbox == "pending":
        return PENDING
    # blocked us, the notifier gave up, or the row is gone: the resident's data was erased
    # (PersonalData.forget_chat), so there is nobody to reach any more
    return UNREACHABLE


class Announcements(Repository):
    async def get(self, announcement_id: int) -> Announcement | None:
        return await self.session.get(Announcement, announcement_id)

    async def by_form_key(self, key: str) -> Announcement | None:
        return await self.session.scalar(select(Announcement).where(
            Announcement.form_key == key))

    async def recent(self, limit: int = 10) -> Sequence[Announcement]:
        return (await self.session.scalars(
            select(Announcement).order_by(Announcement.id.desc()).limit(limit))).all()

    async def recipients(self, area: Area) -> list[Recipient]:
        """Registered residents (not erased) with a chat, in the area, each once."""
        query = self._in(area, select(Resident.id, Resident.chat_id, Resident.language,
                                      Resident.announcements_muted, Resident.reachable)
                         .order_by(Resident.id))
        return [Recipient(r.id, int(r.chat_id), r.language, bool(r.announcements_muted),
                          bool(r.reachable)) for r in await self.session.execute(query)]

    async def count(self, area: Area) -> int:
        """How many residents `recipients` would find (the draft's confirmation says)."""
        return int(await self.session.scalar(
            self._in(area, select(func.count(Resident.id)))) or 0)

    @staticmethod
    def _in(area: Area, query: Select[*_Row]) -> Select[*_Row]:
        query = query.where(Resident.erased_at.is_(None), Resident.chat_id.is_not(None),
                            Resident.telegram_user_id.is_not(None))
        if area.unit_ids:
            return query.where(Resident.unit_id.in_(area.unit_ids))
        if area.building_id is not None:
            query = query.join(Unit, Unit.id == Resident.unit_id).where(
                Unit.building_id == area.building_id)
            if area.floors:
                query = query.where(Unit.floor.in_(area.floors))
        return query

    async def due_ids(self, now: datetime) -> list[int]:
        return list((await self.session.scalars(
            select(Announcement.id).where(Announcement.send_at <= now,
                                          Announcement.queued_at.is_(None),
                                          Announcement.cancelled_at.is_(None))
            .order_by(Announcement.send_at, Announcement.id))).all())

    async def _mark(self, announcement_id: int, **values: datetime) -> bool:
        """Set a time on a row still neither queued nor cancelled; whether this did it (a
        conditional UPDATE: of two transactions at once only one changes the row, on SQLite
        and PostgreSQL alike)."""
        result = await self.session.execute(
            update(Announcement).where(Announcement.id == announcement_id,
                                       Announcement.queued_at.is_(None),
                                       Announcement.cancelled_at.is_(None))
            .values(**values).execution_options(synchronize_session=False))
        assert isinstance(result, CursorResult)
        return result.rowcount == 1

    async def claim(self, announcement_id: int, now: datetime) -> bool:
        return await self._mark(announcement_id, queued_at=now)

    async def cancel(self, announcement_id: int, now: datetime) -> bool:
        return await self._mark(announcement_id, cancelled_at=now)

    async def report(self, announcement_ids: Sequence[int]) -> dict[int, dict[str, int]]:
        """Per announcement, its copies counted as sent / unreachable / muted / pending."""
        found: dict[int, dict[str, int]] = {i: {} for i in announcement_ids}
        if not announcement_ids:
            return found
        rows = await self.session.execute(
            select(AnnouncementDelivery.announcement_id, AnnouncementDelivery.state,
                   OutboxMessage.state, func.count())
            .outerjoin(OutboxMessage, and_(OutboxMessage.id == AnnouncementDelivery.outbox_id))
            .where(AnnouncementDelivery.announcement_id.in_(list(announcement_ids)))
            .group_by(AnnouncementDelivery.announcement_id, AnnouncementDelivery.state,
                      OutboxMessage.state))
        for announcement_id, delivery, outbox, count in rows:
            counts = found[announcement_id]
            key = counted(delivery, outbox)
            counts[key] = counts.get(key, 0) + count
        return found
