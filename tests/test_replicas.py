"""Several replicas on one database (issue 12): real `residesk serve` processes — gunicorn
workers, or separate processes — on one PostgreSQL database, the emulator as Telegram. And
SQLite refusing a second process."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.emulator.server import BotAPIEmulator
from tests.test_cli import residesk
from tests.test_web import free_port

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


async def test_two_gunicorn_workers_take_the_webhook_each_reply_once_and_in_order(
    emulator: BotAPIEmulator, database_url: str, tmp_path: Path, replicas: list[Replica],
) -> None:
    port = free_port()
    replica = Replica(emulator, database_url, tmp_path, "--workers", "2",
                      HTTP_PORT=str(port), WEBHOOK_URL=f"http://127.0.0.1:{port}/hook",
                      WEBHOOK_SECRET=SECRET)
    replicas.append(await replica.start())
    await emulator.wait_for(lambda: bool(emulator.webhook_url), timeout=60)
    residents = range(5001, 5301)  # 300 residents at once
    for user_id in residents:
        emulator.send_text(emulator.user(user_id, f"R{user_id}"), "/start")
    await answered(emulator, residents, 1, timeout=120)
    for user_id in residents:
        emulator.send_text(emulator.user(user_id, f"R{user_id}"), f"Resident {user_id}")
    await answered(emulator, residents, 2, timeout=120)
    await asyncio.sleep(1)  # anything doubled would have come by now
    for user_id in residents:
        texts = [m.text or "" for m in emulator.messages(user_id)]
        assert len(texts) == 2, (user_id, texts)
        assert "What is your name?" in texts[0] and "phone number" in texts[1]
    assert sum(m == "setWebhook" for m, _ in emulator.requests) == 1, "once per deployment"
    assert replica.said("leading the deployment") == 1  # one of the two workers leads
    assert {s for _, s in emulator.webhook_posts} == {200}


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
    update_id = emulator.send_text(user, "Ann Lee")
    await emulator.wait_until_consumed(update_id, timeout=20)
    await emulator.wait_for(lambda: len(emulator.messages(42)) >= 2, timeout=10)
    assert asyncio.get_running_loop().time() - died < 10 + 3  # taken over, and answered
    assert follower.said("leading the deployment") == 1
    assert [("phone number" in (m.text or "")) for m in emulator.messages(42)] == [False, True]


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
