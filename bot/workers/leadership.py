"""Which replica does what must happen once per deployment: polling Telegram, draining the
outbox within Telegram's limits, firing the timers, the weekly report.

On PostgreSQL one replica is the leader: it holds a session-level advisory lock on a
connection of its own, which PostgreSQL releases the moment that connection ends — a replica
killed with SIGKILL loses it at once, and another takes it on its next try (every few
seconds). The leader checks its connection as often; if it is gone, so is the lead.

On SQLite there is one process: a lock on a file beside the database refuses a second one,
with a clear message, and the only process always leads.
"""

from __future__ import annotations

import fcntl
import logging
import os
from pathlib import Path
from typing import Protocol

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = logging.getLogger(__name__)
LEADER_KEY = 0x72657369_6465736B  # "residesk": one lock per database
TRY_EVERY = 3.0  # seconds between a follower's tries, and between a leader's checks


class SecondProcess(Exception):
    """Another process already serves this SQLite file."""


class Leadership(Protocol):
    def claim(self) -> None:
        """At start-up: raise SecondProcess where this process must be the only one."""
        ...

    async def try_lead(self) -> bool:
        """True when this replica leads (now, or still)."""
        ...

    async def release(self) -> None: ...


class OnlyProcess:
    """SQLite: this process is the only one, so it leads; a second one is refused."""

    def __init__(self, database_file: Path) -> None:
        self.path = Path(f"{database_file}.lock")
        self._fd: int | None = None

    def claim(self) -> None:
        if self._fd is not None or self.path.name in ("", ":memory:.lock"):
            return  # held already; or a database in memory, this process's own anyway
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise SecondProcess(
                f"another residesk process already uses {self.path.name.removesuffix('.lock')}; "
                "SQLite serves one process — several processes or workers need PostgreSQL "
                "(DATABASE_URL=postgresql://…)") from None
        self._fd = fd

    async def try_lead(self) -> bool:
        return True

    async def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the file releases the lock
            self._fd = None


class AdvisoryLock:
    """PostgreSQL: the replica holding the advisory lock leads."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._connection: AsyncConnection | None = None

    def claim(self) -> None:
        """Any number of replicas may run."""

    async def try_lead(self) -> bool:
        if self._connection is not None:
            try:
                await self._connection.execute(text("SELECT 1"))
                return True
            except Exception as error:  # the connection, and with it the lock, is gone
                log.warning("lost the lead: %s", type(error).__name__)
                await self.release()
        try:
            connection = await self.engine.connect()
        except Exception as error:
            log.warning("cannot reach the database to lead: %s", type(error).__name__)
            return False
        try:
            won = bool(await connection.scalar(text("SELECT pg_try_advisory_lock(:key)"),
                                               {"key": LEADER_KEY}))
            await connection.commit()  # the lock is the session's, not the transaction's
        except Exception:
            await connection.close()
            raise
        if not won:
            await connection.close()
            return False
        self._connection = connection
        return True

    async def release(self) -> None:
        if self._connection is not None:
            connection, self._connection = self._connection, None
            try:
                await connection.close()  # the session ends: PostgreSQL frees the lock
            except Exception:
                await connection.invalidate()
