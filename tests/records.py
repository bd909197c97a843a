"""What a test looks up in, or puts into, the database directly."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import Database
from storage.models import Resident, Staff, Ticket


async def tickets_in(database_url: str) -> list[Ticket]:
    db = Database(database_url)
    try:
        async with db.transaction() as session:
            return list((await session.scalars(select(Ticket).order_by(Ticket.id))).all())
    finally:
        await db.dispose()


async def count(database_url: str, model: type) -> int:
    db = Database(database_url)
    try:
        async with db.transaction() as session:
            return int(await session.scalar(select(func.count()).select_from(model)) or 0)
    finally:
        await db.dispose()


async def setup(db: Database) -> tuple[int, int, int]:
    async with db.transaction() as session:
        resident = Resident(telegram_user_id=1, chat_id=1, name="Wang Fang", phone="+8613900000001",
                            unit_text="2-301", language="en")
        agent = Staff(telegram_user_id=501, name="Agent Li", role="agent", active=True)
        manager = Staff(telegram_user_id=502, name="Manager Zhao", role="manager", active=True)
        session.add_all([resident, agent, manager])
        await session.flush()
        return resident.id, agent.id, manager.id


async def rows(session: AsyncSession, model: type[Any]) -> list[Any]:
    return list((await session.scalars(select(model))).all())
