"""Storage and the ticket gate, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import Database, upgrade
from storage.models import Resident, Ticket
from storage.repositories import Categories, Conversations, Units
from tickets.inputs import Submission, TicketError
from tickets.service import TicketService


async def make_resident(db: Database, user_id: int = 1) -> int:
    async with db.transaction() as session:
        resident = Resident(telegram_user_id=user_id, chat_id=user_id, name="A", phone="+1234567",
                            unit_text="1-1", language="en")
        session.add(resident)
        await session.flush()
        return resident.id


async def get(session: AsyncSession, resident_id: int) -> Resident:
    resident = await session.get(Resident, resident_id)
    assert resident is not None
    return resident


async def test_migrations_seed_the_default_categories(db: Database) -> None:
    async with db.transaction() as session:
        codes = [c.code for c in await Categories(session).active()]
    assert codes[:3] == ["noise", "facility", "water"] and len(codes) == 10


async def test_an_update_is_claimed_once_per_chat(db: Database) -> None:
    async with db.transaction() as session:
        state, _ = await Conversations(session).load_with_resident(5, None)
        assert Conversations.claim(state, 10**12) is True
    async with db.transaction() as session:
        state, _ = await Conversations(session).load_with_resident(5, None)
        assert Conversations.claim(state, 10**12) is False
        for update_id in range(100):  # only the chat's recent ids are kept
            Conversations.claim(state, update_id)
        assert len(state.recent_updates) == 50 and Conversations.claim(state, 10**12)


async def test_submit_is_idempotent_per_draft(db: Database) -> None:
    resident_id = await make_resident(db)
    submission = Submission(key="draft-1", category="water", description="Leak in the bathroom",
                            evidence=[{"kind": "photo", "file_id": "f", "file_unique_id": "u",
                                       "size": 3, "sha256": "ab"}])
    async with db.transaction() as session:
        first, created = await TicketService(session).submit(await get(session, resident_id),
                                                             submission)
        assert created and first.number
    async with db.transaction() as session:
        again, created = await TicketService(session).submit(await get(session, resident_id),
                                                             submission)
        assert not created and again.id == first.id
        assert len((await session.scalars(select(Ticket))).all()) == 1


async def test_tickets_of_others_are_not_found(db: Database) -> None:
    owner_id = await make_resident(db, 1)
    stranger_id = await make_resident(db, 2)
    async with db.transaction() as session:
        owner, stranger = await get(session, owner_id), await get(session, stranger_id)
        service = TicketService(session)
        ticket, _ = await service.submit(owner, Submission("k2", "noise", "Drilling at night"))
        assert await service.of_resident(stranger, ticket.id) is None
        with pytest.raises(TicketError):
            await service.withdraw(stranger, ticket)


async def test_units_import_skips_duplicates(db: Database) -> None:
    async with db.transaction() as session:
        result = await Units(session).import_csv(
            "building,unit,floor\nA,101,1\nA,101,1\nB,7,\n,,\n")
    assert (result.buildings, result.units, result.skipped) == (2, 2, 2)
    async with db.transaction() as session:
        with pytest.raises(ValueError, match="building,unit"):
            await Units(session).import_csv("name\nx\n")


async def test_conversation_state_is_created_on_first_load(db: Database) -> None:
    async with db.transaction() as session:
        state, _ = await Conversations(session).load_with_resident(42, None)
        state.step = "x"
    async with db.transaction() as session:
        state, _ = await Conversations(session).load_with_resident(42, None)
        assert state.step == "x"


async def test_migrations_match_the_models(db: Database) -> None:
    """Alembic's autogenerate finds nothing to add: the migrations describe the models."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from storage import search
    from storage.models import Base

    async with db.engine.connect() as connection:
        differences = await connection.run_sync(
            lambda sync: compare_metadata(MigrationContext.configure(
                sync, opts={"include_name": search.in_models}), Base.metadata))
    assert differences == []


async def test_the_search_triggers_outlive_the_migrations(db: Database) -> None:
    """A migration that rebuilds the tickets table on SQLite (a batch) drops its triggers:
    the search would stop finding new tickets without a word."""
    if not db.is_sqlite:
        return
    async with db.transaction() as session:
        found = set((await session.scalars(text(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'tickets'"
        ))).all())
    assert found == {"ticket_search_insert", "ticket_search_delete", "ticket_search_update"}


async def test_datetimes_come_back_aware_in_utc(db: Database) -> None:
    resident_id = await make_resident(db)
    async with db.transaction() as session:
        stored = await get(session, resident_id)
    assert stored.created_at.tzinfo is not None and stored.created_at.utcoffset() == timedelta(0)


async def test_an_older_database_is_brought_up_to_date(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
    await asyncio.to_thread(upgrade, url, "0001")  # as an earlier release left it
    database = Database(url)
    try:
        async with database.transaction() as session:  # (the old schema: no model reads it)
            assert await session.scalar(text("SELECT count(*) FROM categories")) == 0
        await database.upgrade()  # what `residesk run` and `demo` do at start
        async with database.transaction() as session:
            assert len(await Categories(session).active()) == 10
    finally:
        await database.dispose()


def test_migrations_upgrade_a_database_holding_tickets(tmp_path: Path) -> None:
    """0003 rebuilds the tickets table on SQLite; rows pointing at it must survive."""
    import sqlite3

    path = tmp_path / "old.db"
    upgrade(f"sqlite+aiosqlite:///{path}", "0002")
    with sqlite3.connect(path) as connection:
        connection.executescript("""
            INSERT INTO residents (telegram_user_id, chat_id, name, phone, unit_verified,
                language, reachable, created_at) VALUES (1, 1, 'A', '+1234567', 0, 'en', 1,
                '2026-11-01 00:00:00');
            INSERT INTO tickets (number, submission_key, resident_id, unit_text, category_code,
                description, channel, status, priority, reopen_count, created_at, ack_due_at,
                resolve_due_at) VALUES ('2611-0001', 'k', 1, '1-1', 'noise', 'Loud', 'telegram',
                'new', 'normal', 0, '2026-11-01 00:00:00', '2026-11-01 00:00:00',
                '2026-11-01 00:00:00');
            INSERT INTO ticket_events (ticket_id, kind, to_status, actor_type, created_at)
                VALUES (1, 'status', 'new', 'resident', '2026-11-01 00:00:00');
            INSERT INTO attachments (ticket_id, kind, file_id, file_unique_id, size, created_at)
                VALUES (1, 'photo', 'f', 'u', 3, '2026-11-01 00:00:00');
            INSERT INTO outbox (chat_id, payload, state, attempts, next_attempt_at, created_at)
                VALUES (-100, '{"kind": "new_ticket", "ticket_id": 1}', 'pending', 0,
                '2026-11-01 00:00:00', '2026-11-01 00:00:00');
        """)
    upgrade(f"sqlite+aiosqlite:///{path}")
    with sqlite3.connect(path) as connection:
        assert connection.execute("SELECT version, resident_id FROM tickets").fetchall() == [
            (1, 1)]
        assert connection.execute("SELECT count(*) FROM ticket_events").fetchone() == (1,)
        assert connection.execute("PRAGMA foreign_key_check").fetchall() == []
        [(payload,)] = connection.execute("SELECT payload FROM outbox").fetchall()
    assert '"card"' in payload  # the old "new ticket" notice becomes the ticket's card


async def test_the_planner_gets_statistics_of_the_tickets(db: Database) -> None:
    resident_id = await make_resident(db)
    async with db.transaction() as session:
        service = TicketService(session)
        resident = await get(session, resident_id)
        for n in range(30):
            await service.submit(resident, Submission(f"k{n}", "noise", "Loud music at night"))
    await db.refresh_statistics()
    async with db.transaction() as session:
        if db.is_sqlite:
            found = await session.scalar(select(text("count(*)")).select_from(
                text("sqlite_stat1")).where(text("tbl = 'tickets'")))
        else:
            found = await session.scalar(select(text("reltuples")).select_from(
                text("pg_class")).where(text("relname = 'tickets'")))
    assert found and int(found) >= 1
