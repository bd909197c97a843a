"""The webhook on PostgreSQL: one report step (a description typed at the DESCRIPTION step)
through real `residesk serve` processes, with 1 and with 2 gunicorn workers, and through
polling on one process — the same emulator, the same database, one run.

    .venv/bin/python bench/webhook.py [--residents 40] [--rounds 10] [--repeats 3]
                                      [--postgres postgresql://postgres@127.0.0.1:5432/test]

Prints updates/s per setup, 2 workers ÷ 1 worker (target ≥ 1.6× on a 2-core machine),
webhook ÷ polling on one process, and p50/p95/p99 of the time from an update's arrival at the
emulator (its webhook request follows at once) to the reply sent; then where the cores went
(the bot's processes, PostgreSQL's, the emulator's, the whole machine), and the ceiling that
sets: the cores ÷ the cores one worker's run keeps busy. Registering the residents
and putting them back at DESCRIPTION between rounds are not timed. It is a benchmark, not a
test: it always exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import statistics
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import update

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a plain script from anywhere
    sys.path.insert(0, str(ROOT))

from bot.emulator import BotAPIEmulator, EmulatedUser  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.models import ConversationState  # noqa: E402

EVIDENCE_PROMPT = "Photos, videos or voice notes"
SECRET = "bench-secret"


@dataclass
class Setup:
    name: str
    workers: int
    webhook: bool
    rates: list[float] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds in the timed rounds
    wall: float = 0.0  # seconds of the timed rounds
    updates: int = 0


TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(bot_pid: int) -> dict[str, float]:
    """CPU seconds so far of the bot's processes (`bot_pid` and its descendants), of
    PostgreSQL's, of this process (the emulator and the bench), and of the whole machine
    (`busy`) — read from /proc, so where the two cores go shows beside the rates."""
    parents: dict[int, int] = {}
    spent: dict[int, tuple[str, float]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:  # gone meanwhile
            continue
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        parents[int(entry)] = int(fields[1])
        spent[int(entry)] = name, (int(fields[11]) + int(fields[12])) / TICK
    bot = {bot_pid}
    while grown := {pid for pid, parent in parents.items() if parent in bot} - bot:
        bot |= grown
    machine = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    busy = (sum(machine[:8]) - machine[3] - machine[4]) / TICK  # all but idle and iowait
    return {"bot": sum(spent[p][1] for p in bot if p in spent),
            "postgres": sum(t for name, t in spent.values() if name.startswith("postgres")),
            "emulator": spent.get(os.getpid(), ("", 0.0))[1], "busy": busy}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Bench:
    def __init__(self, emulator: BotAPIEmulator, database_url: str, workdir: Path) -> None:
        self.emulator, self.database_url, self.workdir = emulator, database_url, workdir
        self.replied: dict[int, float] = {}  # chat -> when the bot's latest message came
        record = emulator._record_message

        def stamped(*args: Any, **kwargs: Any) -> dict[str, Any]:
            sent = record(*args, **kwargs)  # the message as the Bot API shows it
            self.replied[int(sent["chat"]["id"])] = time.perf_counter()
            return sent

        setattr(emulator, "_record_message", stamped)  # noqa: B010 - a test hook

    async def start(self, setup: Setup) -> asyncio.subprocess.Process:
        port = free_port()
        env = {**os.environ, "BOT_TOKEN": self.emulator.token,
               "TELEGRAM_API_URL": self.emulator.base_url, "DATABASE_URL": self.database_url,
               "HTTP_PORT": str(port), "FLOOD_LIMIT": "0", "PYTHONPATH": str(ROOT)}
        if setup.webhook:
            env |= {"WEBHOOK_URL": f"http://127.0.0.1:{port}/hook", "WEBHOOK_SECRET": SECRET}
        self.emulator.webhook_url = ""
        polls = sum(m == "getUpdates" for m, _ in self.emulator.requests)
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "serve", "--workers", str(setup.workers),
            cwd=self.workdir, env=env, stderr=asyncio.subprocess.DEVNULL)
        await self.emulator.wait_for(
            lambda: bool(self.emulator.webhook_url) if setup.webhook else
            sum(m == "getUpdates" for m, _ in self.emulator.requests) > polls, timeout=120)
        await asyncio.sleep(3 if setup.workers > 1 else 0.5)  # every worker has booted
        return process

    async def step(self, users: Sequence[EmulatedUser], text: str) -> tuple[float, list[float]]:
        """Every resident sends `text` at once; seconds until all answered, and each one's."""
        before = {u.id: len(self.emulator.messages(u)) for u in users}
        started = time.perf_counter()
        for user in users:
            self.emulator.send_text(user, text)
        await self.emulator.wait_for(
            lambda: all(len(self.emulator.messages(u)) > before[u.id] for u in users),
            timeout=120)
        return time.perf_counter() - started, [self.replied[u.id] - started for u in users]

    async def press(self, users: Sequence[EmulatedUser], button: str) -> None:
        """Every resident presses `button` under the bot's last message; until all answered."""
        emu = self.emulator
        before = {u.id: len(emu.messages(u)) for u in users}
        for user in users:
            emu.click(user, emu.last_message(user), button)
        await emu.wait_for(lambda: all(len(emu.messages(u)) > before[u.id] for u in users),
                           timeout=120)

    async def register(self, users: Sequence[EmulatedUser]) -> None:
        await self.step(users, "/start")
        await self.press(users, "✅ I agree")  # the privacy notice
        for text in ("name", "+8613800000000", "3-1202", "/report"):
            await self.step(users, text if text != "name" else "Bench Resident")
        emu = self.emulator
        before = {u.id: emu.last_message(u).edits for u in users}
        for user in users:
            emu.click(user, emu.last_message(user), "Noise")
        await emu.wait_for(lambda: all(emu.last_message(u).edits > before[u.id]
                                       or "describe" in (emu.last_message(u).text or "")
                                       for u in users), timeout=60)

    async def back_to_description(self, users: Sequence[EmulatedUser]) -> None:
        db = Database(self.database_url)
        try:
            async with db.transaction() as session:
                await session.execute(
                    update(ConversationState)
                    .where(ConversationState.chat_id.in_([u.id for u in users]))
                    .values(step="description"))
        finally:
            await db.dispose()

    async def measure(self, setup: Setup, users: Sequence[EmulatedUser], rounds: int,
                      prepare: bool) -> None:
        process = await self.start(setup)
        try:
            if prepare:
                await self.register(users)
            for n in range(rounds + 1):  # the first round warms up
                await self.back_to_description(users)
                before = cpu_seconds(process.pid)
                seconds, each = await self.step(
                    users, f"Round {n}: loud music from the flat above after midnight.")
                after = cpu_seconds(process.pid)
                if n:
                    setup.rates.append(len(users) / seconds)
                    setup.latencies += each
                    setup.wall += seconds
                    setup.updates += len(users)
                    for part, used in after.items():
                        setup.cpu[part] = setup.cpu.get(part, 0.0) + used - before[part]
            missing = [u.id for u in users
                       if EVIDENCE_PROMPT not in (self.emulator.last_message(u).text or "")]
            if missing:
                print(f"  {setup.name}: {len(missing)} residents not at the evidence step")
        finally:
            process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(process.wait(), 60)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def main_async(residents: int, rounds: int, repeats: int, admin: str) -> None:
    name = f"residesk_bench_{uuid.uuid4().hex[:8]}"
    base = admin.rsplit("/", 1)[0]
    connection = await asyncpg.connect(admin)
    await connection.execute(f'CREATE DATABASE "{name}"')
    await connection.close()
    url = f"{base}/{name}"
    try:
        db = Database(url)
        await db.upgrade()
        await db.dispose()
        async with BotAPIEmulator() as emulator:
            bench = Bench(emulator, url, ROOT)
            users = [emulator.user(30_000 + i, f"B{i}") for i in range(residents)]
            setups = [Setup("webhook, 1 worker", 1, True), Setup("webhook, 2 workers", 2, True),
                      Setup("polling, 1 process", 1, False)]
            # the setups take turns, `repeats` times: this machine's speed drifts by a third
            # within minutes, and one setup measured after another would carry the drift
            for repeat in range(repeats):
                for number, setup in enumerate(setups):
                    await bench.measure(setup, users, rounds, prepare=repeat == number == 0)
    finally:
        connection = await asyncpg.connect(admin)
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await connection.close()
    print(f"webhook bench (PostgreSQL): {residents} residents at once × {rounds} rounds × "
          f"{repeats} turns of the three setups; "
          f"python {sys.version.split()[0]}, {os.cpu_count()} cores")
    for setup in setups:
        print(f"  {setup.name:<20} {statistics.median(setup.rates):7.1f} updates/s   "
              f"p50 {percentile(setup.latencies, .5) * 1000:6.0f} ms   "
              f"p95 {percentile(setup.latencies, .95) * 1000:6.0f} ms   "
              f"p99 {percentile(setup.latencies, .99) * 1000:6.0f} ms")
    print("  CPU in the timed rounds (cores busy on average; ms of CPU per update):")
    for setup in setups:
        used = setup.cpu
        parts = "   ".join(f"{part} {used[part] / setup.wall:4.2f} "
                           f"({used[part] / setup.updates * 1000:4.1f})"
                           for part in ("bot", "postgres", "emulator", "busy"))
        print(f"  {setup.name:<20} {parts}   of {os.cpu_count()} cores")
    one, two, polling = (statistics.median(s.rates) for s in setups)
    print(f"  2 workers / 1 worker: {two / one:.2f}×   (target ≥ 1.6×: "
          f"{'met' if two / one >= 1.6 else 'NOT met'})")
    print(f"  webhook / polling, one process: {one / polling:.2f}×")
    cores, busy = os.cpu_count() or 1, setups[0].cpu["busy"] / setups[0].wall
    print(f"  one worker keeps {busy:.2f} of the {cores} cores busy (itself, PostgreSQL, the "
          f"emulator, the kernel): any number of workers gives at most {cores / busy:.2f}× "
          "on this machine")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--residents", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--postgres", default=os.environ.get(
        "RESIDESK_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test"))
    args = parser.parse_args()
    asyncio.run(main_async(args.residents, args.rounds, args.repeats, args.postgres))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
