"""Several replicas on one database (issue 12): real `residesk serve` processes — gunicorn
workers, or separate processes — on one PostgreSQL database, the emulator as Telegram. And
SQLite refusing a second process."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text

from bench.notifications import seed
from bot.emulator import BotAPIEmulator
from storage.db import Database
from tests.chats import AGREE
from tests.processes import free_port, residesk

ROOT = Path(__file__).parent.parent
SECRET = "replica-secret"


class Replica:
    """One `residesk serve` process; its log is read as it comes."""

    def __init__(self, emulator: BotAPIEmulator, database_url: str, workdir: Path,
                 *args: str, **env: str) -> None:
        self.port = free_port()
        self.env = {**os.environ, "BOT_TOKEN": emulator.token,
                    "TELEGRAM_API_URL": emulator.base_url, "DATABASE_URL": database_url,
                    "HTTP_PORT": str(self.port), "FLOOD_LIMIT": "0",
                    "PYTHONPATH": str(ROOT), **env}
        self.args, self.workdir = args, workdir
        self.process: asyncio.subprocess.Process | None = None
        self.log: list[str] = []
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> Replica:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "serve", *self.args, cwd=self.workdir,
            env=self.env, stderr=asyncio.subprocess.PIPE)
        self._reader = asyncio.create_task(self._read())
        return self

    async def _read(self) -> None:
        assert self.process is not None and self.process.stderr is not None
        async for line in self.process.stderr:
            self.log.append(line.decode(errors="replace").rstrip())

    def said(self, text: str) -> int:
        return sum(text in line for line in self.log)

    async def kill(self) -> None:
        assert self.process is not None
        if self.process.returncode is None:
            self.process.kill()
            await self.process.wait()

    async def stop(self) -> None:
        assert self.process is not None
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), 30)
            except TimeoutError:
                await self.kill()
        if self._reader is not None:
            await self._reader


@pytest.fixture(params=["postgresql"])
def backend(request: pytest.FixtureRequest) -> str:  # these tests need PostgreSQL
    return str(request.param)


@pytest.fixture
async def replicas(emulator: BotAPIEmulator, database_url: str, tmp_path: Path
                   ) -> AsyncIterator[list[Replica]]:
    started: list[Replica] = []
    yield started
    for replica in started:
        await replica.stop()


async def answered(emulator: BotAPIEmulator, chats: range, count: int,
                   timeout: float) -> None:  # noqa: ASYNC109
    await emulator.wait_for(lambda: all(len(emulator.messages(c)) >= count for c in chats),
                            timeout=timeout)


async def two_workers_at_the_webhook(emulator: BotAPIEmulator, database_url: str,
                                     workdir: Path, replicas: list[Replica]) -> Replica:
    """`residesk serve --workers 2` with Telegram's webhook at its port, up and set."""
    replica = Replica(emulator, database_url, workdir, "--workers", "2",
                      WEBHOOK_SECRET=SECRET)
    replica.env["WEBHOOK_URL"] = f"http://127.0.0.1:{replica.port}/hook"
    replicas.append(await replica.start())
    await emulator.wait_for(lambda: bool(emulator.webhook_url), timeout=60)
    return replica


async def test_two_gunicorn_workers_take_the_webhook_each_reply_once_and_in_order(
    emulator: BotAPIEmulator, database_url: str, tmp_path: Path, replicas: list[Replica],
) -> None:
    replica = await two_workers_at_the_webhook(emulator, database_url, tmp_path, replicas)
    residents = range(5001, 5301)  # 300 residents at once
    for user_id in residents:
        emulator.send_text(emulator.user(user_id, f"R{user_id}"), "/start")
    await answered(emulator, residents, 1, timeout=120)
    connections = await sessions_opened(database_url)
    for user_id in residents:  # I agree, under the privacy notice
        emulator.click(emulator.user(user_id, f"R{user_id}"), emulator.last_message(user_id),
                       AGREE)
    await answered(emulator, residents, 2, timeout=120)
    await asyncio.sleep(1)  # anything doubled would have come by now
    # the second burst is served by the pools the first one filled: no connection opened
    # (and closed) for it; and both workers took a share of the updates (a socket each)
    assert await sessions_opened(database_url) - connections <= 1  # this query's own
    workers = Counter(line.split("[", 1)[1].split("]", 1)[0] for line in replica.log
                      if " update=" in line and "[" in line)
    assert len(workers) == 2 and min(workers.values()) >= sum(workers.values()) / 4, workers
    for user_id in residents:
        texts = [m.text or "" for m in emulator.messages(user_id)]
        assert len(texts) == 2, (user_id, texts)
        assert "your personal data" in texts[0] and "What is your name?" in texts[1]
    assert sum(m == "setWebhook" for m, _ in emulator.requests) == 1, "once per deployment"
    assert replica.said("leading the deployment") == 1  # one of the two workers leads
    assert {s for _, s in emulator.webhook_posts} == {200}


async def sessions_opened(database_url: str) -> int:
    """How many connections PostgreSQL has accepted to this database so far."""
    db = Database(database_url)
    try:
        async with db.reading() as session:
            return int(await session.scalar(text(
                "SELECT sessions FROM pg_stat_database WHERE datname = current_database()"))
                or 0)
    finally:
        await db.dispose()


def children(pid: int) -> list[int]:
    found = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(p) for p in found]


async def test_a_worker_killed_in_the_middle_loses_nothing(
    emulator: BotAPIEmulator, database_url: str, tmp_path: Path, replicas: list[Replica],
) -> None:
    """SIGKILL to one of two gunicorn workers while 300 residents write: every answer
    arrives; an answer comes twice only where the kill cut its update's webhook request
    after the answer went out (answers are at least once — Telegram's sends cannot be made
    idempotent), and that shows in the emulator as a request without an answer."""
    replica = await two_workers_at_the_webhook(emulator, database_url, tmp_path, replicas)
    assert replica.process is not None
    arbiter = replica.process.pid
    await emulator.wait_for(lambda: len(children(arbiter)) == 2, timeout=60)
    residents = range(6001, 6301)
    updates = {user_id: emulator.send_text(emulator.user(user_id, f"R{user_id}"), "/start")
               for user_id in residents}
    await emulator.wait_for(lambda: sum(bool(emulator.messages(c)) for c in residents) >= 60,
                            timeout=120)
    os.kill(children(arbiter)[0], signal.SIGKILL)
    await answered(emulator, residents, 1, timeout=120)
    # every update is done at last: what the kill cut was posted again until answered 200
    await emulator.wait_for(lambda: {u for u, s in emulator.webhook_posts if s == 200}
                            >= set(updates.values()), timeout=60)
    await asyncio.sleep(1)  # anything doubled would have come by now
    cut = {update for update, status in emulator.webhook_posts if status != 200}
    assert cut, "the kill cut requests in flight (they were posted again)"
    for user_id in residents:
        texts = [m.text or "" for m in emulator.messages(user_id)]
        assert texts and all("your personal data" in t for t in texts), (user_id, texts)
        if len(texts) > 1:
            assert updates[user_id] in cut, (user_id, "doubled, yet its request was answered")


async def test_when_the_polling_leader_dies_another_replica_polls_within_ten_seconds(
    emulator: BotAPIEmulator, database_url: str, tmp_path: Path, replicas: list[Replica],
) -> None:
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
    first = await Replica(emulator, database_url, tmp_path / "a").start()
    second = await Replica(emulator, database_url, tmp_path / "b").start()
    replicas += [first, second]
    await emulator.wait_for(lambda: first.said("leading") + second.said("leading") == 1,
                            timeout=60)
    leader, follower = (first, second) if first.said("leading") else (second, first)
    user = emulator.user(42, "Ann")
    started = emulator.send_text(user, "/start")
    await emulator.wait_for(lambda: len(emulator.messages(42)) == 1, timeout=30)
    # confirmed to Telegram (killed between the answer and that, the answer would come
    # twice: answers are at least once)
    await emulator.wait_until_consumed(started, timeout=10)
    await leader.kill()  # SIGKILL: no goodbye, its advisory lock goes with its connection
    died = asyncio.get_running_loop().time()
    update_id = emulator.click(user, emulator.last_message(42), AGREE)
    await emulator.wait_until_consumed(update_id, timeout=20)
    await emulator.wait_for(lambda: len(emulator.messages(42)) >= 2, timeout=10)
    assert asyncio.get_running_loop().time() - died < 10 + 3  # taken over, and answered
    assert follower.said("leading the deployment") == 1
    assert [("What is your name?" in (m.text or "")) for m in emulator.messages(42)] == [
        False, True]


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_sqlite_refuses_workers_and_a_second_process(
    emulator: BotAPIEmulator, tmp_path: Path, backend: str
) -> None:
    url = f"sqlite:///{tmp_path / 'one.db'}"
    env = {"BOT_TOKEN": emulator.token, "TELEGRAM_API_URL": emulator.base_url,
           "DATABASE_URL": url, "PYTHONPATH": str(ROOT)}
    refused = residesk("serve", "--workers", "2", cwd=tmp_path, env=env)
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines() == [
        "residesk: configuration error: --workers 2 needs PostgreSQL: SQLite serves one "
        "process (DATABASE_URL=postgresql://…)"]
    running = await Replica(emulator, url, tmp_path).start()
    try:
        await emulator.wait_for(lambda: running.said("leading") == 1, timeout=60)
        second = await asyncio.to_thread(residesk, "run", cwd=tmp_path, env=env)
        assert second.returncode == 2
        assert second.stderr.strip().splitlines()[-1] == (
            "residesk: another residesk process already uses one.db; SQLite serves one "
            "process — several processes or workers need PostgreSQL "
            "(DATABASE_URL=postgresql://…)")
    finally:
        await running.stop()


async def test_two_notifiers_on_one_outbox_send_each_row_exactly_once(
    emulator: BotAPIEmulator, database_url: str, tmp_path: Path, transport: str,
) -> None:
    """Two notifiers draining one outbox at once (as for a moment when the lead changes):
    each row is claimed by one of them and sent once. (Each paces itself to Telegram's
    limits, so together they go over them and wait out 429s: hence one leader.)"""
    from zoneinfo import ZoneInfo

    from bot.telegram.transport import make_transport
    from bot.workers.notifier import Notifier
    from conversations.events import Event
    from storage.models import OutboxMessage

    async def nothing(_event: Event) -> None:
        """These transports only send."""

    count = 300
    db = Database(database_url)
    chats = await seed(db, count, first_user=20_000)
    emulator.set_limits(True)
    for chat in chats:
        emulator.user(chat, f"R{chat}")
    transports = [make_transport(transport, emulator.token, emulator.base_url, nothing, None)
                  for _ in range(2)]
    notifiers = [Notifier(t, db, "en", ZoneInfo("Asia/Shanghai")) for t in transports]
    for t in transports:
        await t.start()
    workers = [asyncio.create_task(n.run()) for n in notifiers]
    try:
        await emulator.wait_for(lambda: all(emulator.messages(c) for c in chats), timeout=60)
        await asyncio.sleep(0.5)  # a second copy would be on its way by now
    finally:
        for notifier in notifiers:
            notifier.stop()
        await asyncio.gather(*workers)
        for t in transports:
            await t.close()
    assert [len(emulator.messages(c)) for c in chats] == [1] * count
    async with db.transaction() as session:
        from sqlalchemy import select
        rows = (await session.scalars(select(OutboxMessage))).all()
    await db.dispose()
    assert {r.state for r in rows} == {"sent"} and {r.claimed_by for r in rows} == {None}
    sent = [n.metrics.registry.get_sample_value("residesk_sends_total", {"kind": "resident"})
            for n in notifiers]
    assert sum(s or 0 for s in sent) == count  # between them, each row once


async def test_two_replicas_drain_a_thousand_notifications_once_within_the_limits(
    emulator: BotAPIEmulator, database_url: str, tmp_path: Path, replicas: list[Replica],
) -> None:
    count = 1000
    db = Database(database_url)
    await db.upgrade()
    chats = await seed(db, count, first_user=20_000)
    await db.dispose()
    emulator.set_limits(True)  # Telegram's 30 a second, 1 a second per chat: 429 past them
    for chat in chats:
        emulator.user(chat, f"R{chat}")
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        replicas.append(await Replica(emulator, database_url, tmp_path / name).start())
    await emulator.wait_for(lambda: all(emulator.messages(c) for c in chats),
                            timeout=count / 30 + 40)
    await asyncio.sleep(1)
    assert [len(emulator.messages(c)) for c in chats] == [1] * count
    assert emulator.rate_limited == 0, "the limits hold for the whole deployment"
    assert sum(r.said("leading the deployment") for r in replicas) == 1


async def test_the_leader_killed_while_draining_loses_no_notification(
    emulator: BotAPIEmulator, database_url: str, tmp_path: Path, replicas: list[Replica],
) -> None:
    """SIGKILL to the leader in the middle of 1,000 notifications: the other replica leads
    and sends the rest; the rows the dead one held come free when their lease ends, and only
    those can come twice (sent, but killed before marked sent)."""
    from sqlalchemy import select

    from storage.models import OutboxMessage

    count = 1000
    db = Database(database_url)
    await db.upgrade()
    chats = await seed(db, count, first_user=20_000)
    emulator.set_limits(True)
    for chat in chats:
        emulator.user(chat, f"R{chat}")
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        replicas.append(await Replica(emulator, database_url, tmp_path / name).start())
    await emulator.wait_for(lambda: sum(bool(emulator.messages(c)) for c in chats) >= 200,
                            timeout=60)
    leader = next(r for r in replicas if r.said("leading the deployment"))
    await leader.kill()
    async with db.transaction() as session:
        held = {row.chat_id for row in (await session.scalars(select(OutboxMessage).where(
            OutboxMessage.state == "pending", OutboxMessage.claimed_by.is_not(None)))).all()}
    await emulator.wait_for(lambda: all(emulator.messages(c) for c in chats),
                            timeout=count / 30 + 60)
    await asyncio.sleep(1)
    await db.dispose()
    doubled = {c for c in chats if len(emulator.messages(c)) > 1}
    assert doubled <= held, "only what the dead leader held may come twice"
    assert all(len(emulator.messages(c)) <= 2 for c in chats)
    assert emulator.rate_limited == 0
    assert sum(r.said("leading the deployment") for r in replicas) == 2  # the other took over
