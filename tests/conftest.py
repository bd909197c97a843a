"""Fixtures: real databases (SQLite and PostgreSQL), the emulator and the real bot.

PostgreSQL: 127.0.0.1:5432 with trust auth (override with RESIDESK_TEST_PG). Each test gets a
database of its own, cloned from a migrated template, and dropped afterwards. Where no server
answers, the PostgreSQL tests skip — except under CI=true, where they fail.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import asyncpg
import pytest
from pydantic import SecretStr

from bot.app import ResidentDesk, Settings
from bot.emulator import BotAPIEmulator, EmulatedUser
from bot.emulator.chat import ChatClient
from bot.handled import HandledUpdates
from bot.settings import DatabaseSettings, OfficeSettings, TelegramSettings, TransportName
from bot.telegram.transport import TRANSPORTS
from conversations import flow
from storage.db import Database, upgrade

if TYPE_CHECKING:
    from tests.console_site import Site
    from tests.office import Office

PG_ADMIN = os.environ.get("RESIDESK_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
PG_BASE = PG_ADMIN.rsplit("/", 1)[0]
TEMPLATE = f"residesk_tpl_{os.getpid()}"

Backend = str  # "sqlite" | "postgresql"


async def _pg_admin(sql: str) -> None:
    connection = await asyncpg.connect(PG_ADMIN, timeout=5)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


def in_thread(function: Callable[..., Any], *args: Any) -> Any:
    """Run blocking set-up that may call asyncio.run() itself, even under a running loop."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(function, *args).result()


def pg_admin_sync(sql: str) -> None:
    in_thread(asyncio.run, _pg_admin(sql))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    in_thread(upgrade, f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    try:
        pg_admin_sync(f'DROP DATABASE IF EXISTS "{TEMPLATE}"')
        pg_admin_sync(f'CREATE DATABASE "{TEMPLATE}"')
    except (OSError, asyncpg.PostgresError) as error:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is unreachable at {PG_ADMIN} under CI: {error}")
        pytest.skip(f"PostgreSQL is unreachable at {PG_ADMIN}: {error}")
    in_thread(upgrade, f"{PG_BASE}/{TEMPLATE}")
    yield TEMPLATE
    pg_admin_sync(f'DROP DATABASE IF EXISTS "{TEMPLATE}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> Backend:
    return str(request.param)


@pytest.fixture
async def database_url(
    backend: Backend, request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[str]:
    """A migrated, empty database of this test's own."""
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "residesk.db"
        shutil.copyfile(template, path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    template_name = request.getfixturevalue("pg_template")
    name = f"residesk_test_{uuid.uuid4().hex[:12]}"
    await _pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{template_name}"')
    try:
        yield f"{PG_BASE}/{name}"
    finally:
        await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    yield database
    await database.dispose()


# --- the real bot against the emulator ---------------------------------------------------


@pytest.fixture(params=TRANSPORTS)
def transport(request: pytest.FixtureRequest) -> str:
    """Every end-to-end test runs on both frameworks: the behaviour must be the same."""
    return str(request.param)


# Tests type at machine speed (a whole registration and report in a second): a limit no
# person reaches, yet on. The flood tests run with FLOOD_LIMIT's default (`flood_limit=None`).
MACHINE_SPEED = 6000


class Harness:
    """Runs the real bot (aiogram or python-telegram-bot, HTTP) against the emulator; can
    restart it mid-test."""

    def __init__(self, emulator: BotAPIEmulator, database_url: str, media_dir: Path, *,
                 transport: str, flood_limit: int | None = MACHINE_SPEED,
                 **office: Any) -> None:
        self.emulator = emulator
        limits = {} if flood_limit is None else {"flood_limit": flood_limit}
        self.settings = Settings(
            TelegramSettings(bot_token=SecretStr(emulator.token),
                             telegram_api_url=emulator.base_url,
                             transport=cast("TransportName", transport), **limits),
            DatabaseSettings(database_url=database_url),
            # no weekly report unless a test asks: the real clock would post one on Mondays
            OfficeSettings(media_dir=media_dir, emergency_phone="+86 10 8888 0000",
                           **{"weekly_report_day": "off", **office}),
        )
        self.desk: ResidentDesk | None = None
        self.handled = HandledUpdates()
        self._polling: asyncio.Task[None] | None = None

    async def start(self) -> ResidentDesk:
        self.handled = HandledUpdates()
        self.desk = ResidentDesk(self.settings, on_handled=self.handled)
        self._polling = asyncio.create_task(self.desk.run(handle_signals=False,
                                                          polling_timeout=1))
        await self.emulator.wait_for(lambda: any(m == "getUpdates"
                                                 for m, _ in self.emulator.requests[-3:]))
        return self.desk

    async def stop(self) -> None:
        if self.desk is not None and self._polling is not None:
            await self.desk.stop()
            await self._polling
        self.desk, self._polling = None, None

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    async def wait(self, update_id: int) -> str:
        assert self.desk is not None, "the bot is not running"
        return await self.handled.wait(update_id)

    def chat(self, user: EmulatedUser) -> ChatClient:
        return ChatClient(self.emulator, user, self.wait)


@pytest.fixture
async def emulator() -> AsyncIterator[BotAPIEmulator]:
    async with BotAPIEmulator() as emu:
        yield emu


@pytest.fixture
def sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    """A migrated SQLite file only: for a test about SQLite itself (an end-to-end test takes
    `database_url`, and so runs on both databases)."""
    path = tmp_path / "e2e.db"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture
async def harness(
    emulator: BotAPIEmulator, database_url: str, tmp_path: Path, transport: str
) -> AsyncIterator[Harness]:
    """The real bot on each framework and each database (SQLite, PostgreSQL): four runs."""
    h = Harness(emulator, database_url, tmp_path / "media", transport=transport)
    await h.start()
    yield h
    await h.stop()


@pytest.fixture
async def site(emulator: BotAPIEmulator, database_url: str, tmp_path: Path
               ) -> AsyncIterator[Site]:
    """The office console served by a real replica, with its staff group (console_site)."""
    from tests.console_site import Site

    served = Site(emulator, database_url, tmp_path / "media")
    await served.start()
    yield served
    await served.stop()


@pytest.fixture
async def office(emulator: BotAPIEmulator, database_url: str, tmp_path: Path, transport: str,
                 request: pytest.FixtureRequest) -> AsyncIterator[Office]:
    """The staff group with an agent and a manager, and a resident (tests.office): on SQLite
    and on PostgreSQL, with each framework; more office settings from the test's parameter
    (`@pytest.mark.parametrize("office", [{...}], indirect=True)`)."""
    from bot.cli import add_staff
    from tests.office import AGENT, MANAGER, STAFF_CHAT, Office

    emulator.add_group(STAFF_CHAT, "Office staff")
    harness = Harness(emulator, database_url, tmp_path / "media", transport=transport,
                      staff_chat_id=STAFF_CHAT, **{"survey_reminder_hours": 1,
                                                   "survey_close_hours": 1,
                                                   **getattr(request, "param", {})})
    await harness.start()
    assert harness.desk is not None
    async with harness.desk.db.transaction() as session:
        await add_staff(session, AGENT, "Agent Li", "agent")
        await add_staff(session, MANAGER, "Manager Zhao", "manager")
    yield Office(harness, emulator, database_url)
    await harness.stop()


@pytest.fixture
def resident(emulator: BotAPIEmulator, harness: Harness) -> ChatClient:
    return harness.chat(emulator.user(1001, "Li Wei", language_code="en"))


class _UndeclaredTransitions(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.seen: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.seen.append(record.getMessage())


@pytest.fixture(autouse=True)
def transitions_stay_in_their_tables() -> Iterator[None]:
    """A flow that takes a chat where its transition table (and so its diagram) does not say
    fails the test that did it."""
    watcher = _UndeclaredTransitions()
    logger = logging.getLogger(flow.__name__)
    logger.addHandler(watcher)
    yield
    logger.removeHandler(watcher)
    assert not watcher.seen, watcher.seen
