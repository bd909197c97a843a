"""Engine, sessions and migrations. One `transaction()` is one unit of work."""

from __future__ import annotations

import ast
import asyncio
import contextlib
import functools
import os
import re
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy import Connection, event, inspect, text
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry

from storage import search

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
CODE_ROOT = Path(__file__).resolve().parent.parent  # where `storage` is, for a child process
T = TypeVar("T")
# `revision = '0022'`, `down_revision: str | None = None`: what each migration file declares
_DECLARED = re.compile(r"^(revision|down_revision)\b[^=\n]*=\s*(.+?)\s*$", re.MULTILINE)


def normalize_url(url: str) -> str:
    """Accept the usual spellings and pick the async driver."""
    if url.startswith(("postgres://", "postgresql://")):
        return "postgresql+asyncpg://" + url.split("://", 1)[1]
    if url.startswith("sqlite:///"):
        return "sqlite+aiosqlite:///" + url.removeprefix("sqlite:///")
    return url


def _sqlite_pragmas(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry, *,
                   foreign_keys: bool = True) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA foreign_keys={'ON' if foreign_keys else 'OFF'}")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    # erased personal data is zeroed in the pages it leaves, where that costs no extra I/O
    cursor.execute("PRAGMA secure_delete=FAST")
    cursor.close()
    search.register(dbapi_connection)
    # Let SQLAlchemy decide when a transaction begins (see _sqlite_begin), not the driver.
    dbapi_connection.isolation_level = None


def _sqlite_begin(connection: Connection) -> None:
    # Take the write lock up front: two chats' transactions then queue on busy_timeout instead
    # of failing when a reader tries to become a writer after another commit (SQLITE_BUSY).
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def _sqlite_read_only(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA query_only=ON")
    cursor.close()


def _sqlite_begin_reading(connection: Connection) -> None:
    # deferred: a reader sees one snapshot and never takes (or waits for) the write lock
    connection.exec_driver_sql("BEGIN")


POOL_SIZE = 20


def make_engine(url: str, *, foreign_keys: bool = True, read_only: bool = False,
                pool_size: int = POOL_SIZE) -> AsyncEngine:
    """`foreign_keys=False` is for migrations only: SQLite rebuilds a table to alter a column,
    and dropping the old table would trip the rows that point at it (checked afterwards).
    `read_only`: SQLite connections that only read, beside the writer. `pool_size`:
    the PostgreSQL connections kept open, and no more: an update that finds them all busy
    waits for one. Connections beyond the pool would be opened for a burst and closed after
    it, and a new backend costs PostgreSQL more CPU than the update it serves (the webhook
    bench measured a third of its throughput lost to that churn)."""
    url = normalize_url(url)
    # hide_parameters: SQL errors are logged, and parameters hold phones and resident text
    pooling = ({} if url.startswith("sqlite")
               else {"pool_pre_ping": True, "pool_size": pool_size, "max_overflow": 0})
    engine = create_async_engine(url, hide_parameters=True, **pooling)
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect",
                     functools.partial(_sqlite_pragmas, foreign_keys=foreign_keys))
        if read_only:
            event.listen(engine.sync_engine, "connect", _sqlite_read_only)
        event.listen(engine.sync_engine, "begin",
                     _sqlite_begin_reading if read_only else _sqlite_begin)
    return engine


class Database:
    def __init__(self, url: str, pool_size: int = POOL_SIZE) -> None:
        self.url = normalize_url(url)
        self.engine = make_engine(self.url, pool_size=pool_size)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        # SQLite has one writer at a time: queue here, in order, rather than in SQLite's busy
        # handler, which sleeps and backs off while the lock sits free.
        self._writer: contextlib.AbstractAsyncContextManager[object] = (
            asyncio.Lock() if self.is_sqlite else contextlib.nullcontext())
        # Readers that need not queue behind the writer (statistics): SQLite's WAL lets them
        # read while it writes, each on its own connection (and thread), side by side.
        self.read_engine = (make_engine(self.url, read_only=True) if self.is_sqlite
                            else self.engine)
        self.readers = async_sessionmaker(self.read_engine, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """Commit on success, roll back on any error: nothing is ever half-saved."""
        async with self._writer, self.sessions() as session, session.begin():
            yield session

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncSession]:
        """A session that only reads, outside the writers' queue; several may run at once."""
        async with self.readers() as session, session.begin():
            yield session

    async def read(self, query: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """`query` in a reading session of its own: queries read this way side by side run
        at once (SQLite: a connection and a thread each)."""
        async with self.reading() as session:
            return await query(session)

    async def upgrade(self, *, separate_process: bool = False) -> None:
        """Bring the schema up to date. Nothing to do (the usual restart) is found with one
        query, without alembic. `separate_process`: migrate in a child interpreter (what
        `residesk run` does), so that alembic and the migrations (~17 MB) never stay in a
        long-running bot's memory; else here, in a worker thread."""
        if await self.schema_is_current():
            return
        if separate_process:
            await migrate_in_child(self.url)
        else:
            await asyncio.to_thread(upgrade, self.url)

    async def schema_is_current(self) -> bool:
        """Whether the database's migration is the newest one (False for a new database)."""
        head = head_revision()

        def current(connection: Connection) -> str | None:
            if not inspect(connection).has_table("alembic_version"):
                return None
            return connection.execute(text("SELECT version_num FROM alembic_version")
                                      ).scalar()

        async with self.engine.connect() as connection:
            return await connection.run_sync(current) == head

    async def not_ready(self) -> str | None:
        """Why the database cannot serve now (unreachable, or its schema is not the code's),
        or None when it can."""
        try:
            async with self.reading() as session:
                current = await session.scalar(text("SELECT version_num FROM alembic_version"))
        except Exception:
            return "database unreachable or not migrated"
        if current != head_revision():
            return f"database at migration {current}, the code needs {head_revision()}"
        return None

    async def refresh_statistics(self) -> None:
        """Fresh statistics for the query planner, which picks the statistics' indexes by them
        (without them SQLite sorts a whole period instead of skipping through an index).
        SQLite samples (analysis_limit: milliseconds at a million tickets); PostgreSQL's
        autovacuum does the same where it runs."""
        async with self.transaction() as session:  # both run ANALYZE in a transaction
            if self.is_sqlite:
                await session.execute(text("PRAGMA analysis_limit=1000"))
            await session.execute(text("ANALYZE"))

    async def dispose(self) -> None:
        if self.read_engine is not self.engine:
            await self.read_engine.dispose()
        await self.engine.dispose()


def alembic_config(url: str) -> Config:
    from alembic.config import Config  # alembic only where a migration runs (~11 MB)

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", normalize_url(url).replace("%", "%%"))
    return config


@functools.cache
def head_revision() -> str:
    """The newest migration, read once from the migration files' declarations (the one no
    other follows); alembic's own reading when they say something else than expected."""
    revisions: dict[str, str | None] = {}
    for path in (MIGRATIONS_DIR / "versions").glob("*.py"):
        declared = dict(_DECLARED.findall(path.read_text(encoding="utf-8")))
        try:
            revision = ast.literal_eval(declared["revision"])
            previous = ast.literal_eval(declared.get("down_revision", "None"))
        except (KeyError, ValueError, SyntaxError):
            return alembic_head()
        if not isinstance(revision, str) or not isinstance(previous, str | None):
            return alembic_head()  # e.g. a merge of two branches: a tuple
        revisions[revision] = previous
    heads = set(revisions) - set(revisions.values())
    return heads.pop() if len(heads) == 1 else alembic_head()


def alembic_head() -> str:
    from alembic.script import ScriptDirectory  # only where the files are unusual

    return str(ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head())


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database schema up to date (blocking; run it in a thread from async code)."""
    from alembic import command  # alembic only where a migration runs (~11 MB)

    command.upgrade(alembic_config(url), revision)


class MigrationFailed(Exception):
    """The migrations in a child process failed; the message is its last line of error."""


async def migrate_in_child(url: str) -> None:
    """`upgrade(url)` in a child interpreter (`python -m storage.migrate`); the URL goes
    through its standard input, never its command line (a password would show in `ps`)."""
    # the same working directory (a relative SQLite path) and this code, installed or not
    path = os.pathsep.join(p for p in (str(CODE_ROOT), os.environ.get("PYTHONPATH", "")) if p)
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "storage.migrate", env={**os.environ, "PYTHONPATH": path},
        stdin=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    _, errors = await child.communicate(url.encode())
    if child.returncode != 0:
        lines = errors.decode(errors="replace").strip().splitlines()
        raise MigrationFailed(lines[-1] if lines else f"exit status {child.returncode}")


