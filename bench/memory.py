"""Memory at 10,000 open conversations (issue 18, P4): the bot's RSS must stay flat.

The bot is the real `residesk run` (the production command, ``--transport aiogram|ptb``) in a
process of its own, polling the project's Bot API emulator, which runs in this process over
real HTTP: so the RSS read from the bot's /proc/PID/status (VmRSS) is the bot's alone, not
the emulator's (which keeps every message it was sent).

Phases, each read after the bot has confirmed every update and a short settle:

1. **idle**: R residents registered (bulk inserts, not through the bot) and the bot polling.
   Start-up ends with a gc.collect() (`bot.app.freeze_start_up`), so this is after one.
2. **open**: each resident sent /report and pressed "Noise" through the bot: R drafts in
   the database, each at the description step. Target: ≤ 20 MB above idle.
3. **more**: N more updates (default 100,000) from those R chats, one per chat per round,
   all through the bot: the description, Noise's two questions, Skip (no files), Normal,
   then round and round
   Edit → Description → a new description (back at the summary). Every draft stays open.
   Target: ≤ 5 MB above "open".

    ./dev bench memory [--residents 10000] [--updates 100000] [--transport aiogram|ptb]

It is a benchmark, not a test: it always exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import math
import os
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import update

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a plain script from anywhere
    sys.path.insert(0, str(ROOT))

from bench.notifications import seed_residents  # noqa: E402
from bot.emulator import BotAPIEmulator, EmulatedUser  # noqa: E402
from bot.settings import OfficeSettings  # noqa: E402
from bot.telegram.transport import TRANSPORTS  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.models import Resident, utcnow  # noqa: E402

FIRST_USER = 500_000
OPEN_TARGET_MB = 20.0
MORE_TARGET_MB = 5.0
SETTLE = 3.0  # seconds after the last update before RSS is read (the bot's tasks finish)
START_WAIT = 120.0  # seconds for the bot process to import, migrate and poll


def description(n: int) -> str:
    return f"Round {n}: loud music from the flat above after midnight, every night."


@dataclass(frozen=True)
class Step:
    """What every resident does in one round, and what the bot's last message then says."""

    name: str
    act: Callable[[BotAPIEmulator, EmulatedUser], int]
    expect: str  # a part of the bot's last message in the chat after it


def typed(text: str) -> Callable[[BotAPIEmulator, EmulatedUser], int]:
    return lambda emu, user: emu.send_text(user, text)


def pressed(label: str) -> Callable[[BotAPIEmulator, EmulatedUser], int]:
    return lambda emu, user: emu.click(user, emu.last_message(user), label)


DESCRIBE = "Please describe the problem"
SUMMARY = "Please check your report"
OPEN_STEPS = (Step("/report", typed("/report"), "What is the problem about?"),
              Step("Noise", pressed("Noise"), DESCRIBE))
FIRST_STEPS = (Step("description", typed(description(0)), "When does the noise happen?"),
               Step("At night", pressed("At night (22:00–07:00)"), "Where does it come from?"),
               Step("The flat above", pressed("The flat above"), "Photos, videos"),
               Step("Skip", pressed("Skip"), "How urgent is it?"),
               Step("Normal", pressed("Normal"), SUMMARY))


def cycle_step(n: int) -> Step:
    """The n-th round after the first ones: Edit → Description → a new description."""
    return (Step("Edit", pressed("✏️ Edit"), "What would you like to change?"),
            Step("Description", pressed("Description"), DESCRIBE),
            Step("description", typed(description(n)), SUMMARY))[n % 3]


def more_steps(rounds: int) -> list[Step]:
    return [FIRST_STEPS[n] if n < len(FIRST_STEPS) else cycle_step(n - len(FIRST_STEPS))
            for n in range(rounds)]


@dataclass
class Reading:
    phase: str
    rss_mb: float
    hwm_mb: float  # the peak RSS so far
    updates: int = 0
    seconds: float = 0.0
    wrong: int = 0  # chats whose last message was not what the step should show


@dataclass
class Run:
    transport: str
    residents: int
    readings: list[Reading] = field(default_factory=list)
    error: str = ""

    def at(self, phase: str) -> Reading | None:
        return next((r for r in self.readings if r.phase == phase), None)


def status_mb(pid: int, key: str) -> float:
    """VmRSS / VmHWM of a process from /proc, in MB (the kernel gives kB)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {key} for process {pid}")


async def seed(db_url: str, count: int) -> None:
    """R registered residents who agreed to the privacy notice (bulk insert, not timed)."""
    db = Database(db_url)
    try:
        await db.upgrade()
        version = OfficeSettings().privacy().version
        async with db.transaction() as session:
            await seed_residents(session, count, FIRST_USER)
            await session.execute(update(Resident).values(privacy_version=version,
                                                          privacy_agreed_at=utcnow()))
    finally:
        await db.dispose()


class BotProcess:
    """`residesk run` in a child process, polling the emulator."""

    def __init__(self, emu: BotAPIEmulator, transport: str, workdir: Path, db_url: str) -> None:
        self.emu, self.transport = emu, transport
        self.env = {**os.environ, "BOT_TOKEN": emu.token, "TELEGRAM_API_URL": emu.base_url,
                    "TRANSPORT": transport, "DATABASE_URL": db_url,
                    "MEDIA_DIR": str(workdir / "media"), "LOG_LEVEL": "WARNING",
                    "PYTHONPATH": str(ROOT)}
        # the defaults, flood limit included (30 a minute: each chat sends far fewer here)
        for name in ("STAFF_CHAT_ID", "FLOOD_LIMIT", "CONSOLE_URL", "LOG_KEY"):
            self.env.pop(name, None)
        self.process: asyncio.subprocess.Process | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    async def start(self) -> None:
        since = len(self.emu.requests)
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-c", "import sys; from bot.cli import main; sys.exit(main())",
            "run", "--transport", self.transport, cwd=ROOT, env=self.env)
        await self.emu.wait_for(lambda: any(m == "getUpdates"
                                            for m, _ in self.emu.requests[since:]),
                                timeout=START_WAIT)

    async def stop(self) -> None:
        if self.process is None or self.process.returncode is not None:
            return
        self.process.send_signal(signal.SIGTERM)  # a clean stop, as an operator's
        try:
            async with asyncio.timeout(30):
                await self.process.wait()
        except TimeoutError:
            self.process.kill()
            await self.process.wait()

    def read(self, phase: str) -> Reading:
        return Reading(phase, status_mb(self.pid, "VmRSS"), status_mb(self.pid, "VmHWM"))


async def round_of(emu: BotAPIEmulator, users: Sequence[EmulatedUser], step: Step) -> int:
    """Every resident does the step at once; wait until the bot has confirmed every update
    (it confirms a batch only after handling it); the chats that do not show what they
    should."""
    for user in users:
        step.act(emu, user)
    # generous: a loaded 2-core machine must not fail the benchmark
    await emu.wait_for(lambda: emu.pending_updates() == 0, timeout=max(120.0, len(users) / 10))
    return sum(step.expect not in (emu.last_message(u).text or "") for u in users)


async def phase(emu: BotAPIEmulator, bot: BotProcess, users: Sequence[EmulatedUser],
                steps: Sequence[Step], name: str) -> Reading:
    started, wrong = time.perf_counter(), 0
    for n, step in enumerate(steps, 1):
        wrong += await round_of(emu, users, step)
        if n % 5 == 0 or n == len(steps):
            print(f"    {name}: round {n}/{len(steps)} ({step.name}), bot RSS "
                  f"{status_mb(bot.pid, 'VmRSS'):.1f} MB", flush=True)
    seconds = time.perf_counter() - started
    await asyncio.sleep(SETTLE)
    reading = bot.read(name)
    reading.updates, reading.seconds, reading.wrong = len(users) * len(steps), seconds, wrong
    return reading


async def measure(transport: str, residents: int, updates: int) -> Run:
    run = Run(transport, residents)
    with tempfile.TemporaryDirectory(prefix="residesk-bench-") as tmp:
        workdir = Path(tmp)
        db_url = f"sqlite+aiosqlite:///{workdir / 'bench.db'}"
        await seed(db_url, residents)
        async with BotAPIEmulator() as emu:
            users = [emu.user(FIRST_USER + i, f"R{i}", language_code="en")
                     for i in range(residents)]
            bot = BotProcess(emu, transport, workdir, db_url)
            try:
                await bot.start()
                await asyncio.sleep(SETTLE)
                run.readings.append(bot.read("idle"))
                print(f"  {transport}: idle {run.readings[-1].rss_mb:.1f} MB", flush=True)
                run.readings.append(await phase(emu, bot, users, OPEN_STEPS, "open"))
                rounds = math.ceil(updates / residents) if updates > 0 else 0
                run.readings.append(await phase(emu, bot, users, more_steps(rounds), "more"))
            except Exception as error:  # a benchmark reports, it does not fail the build
                traceback.print_exc()
                run.error = f"{type(error).__name__}: {error}"
            finally:
                await bot.stop()
    return run


def report(run: Run) -> list[str]:
    lines = [f"--- {run.transport}: {run.residents:,} residents ---",
             f"{'phase':<6} {'RSS MB':>8} {'peak MB':>8} {'updates':>8} {'time s':>7} "
             f"{'updates/s':>9} {'wrong':>5}"]
    for r in run.readings:
        rate = f"{r.updates / r.seconds:9.1f}" if r.seconds else f"{'-':>9}"
        lines.append(f"{r.phase:<6} {r.rss_mb:>8.1f} {r.hwm_mb:>8.1f} {r.updates:>8,} "
                     f"{r.seconds:>7.1f} {rate} {r.wrong:>5}")
    idle, opened, more = run.at("idle"), run.at("open"), run.at("more")
    if idle and opened:
        grown = opened.rss_mb - idle.rss_mb
        verdict = "met" if grown <= OPEN_TARGET_MB else "NOT met"
        lines.append(f"{run.residents:,} open reports: RSS {grown:+.1f} MB from idle; target "
                     f"≤ {OPEN_TARGET_MB:.0f} MB: {verdict}")
    if opened and more:
        grown = more.rss_mb - opened.rss_mb
        lines.append(f"{more.updates:,} more updates from those chats: RSS {grown:+.1f} MB; "
                     f"target ≤ {MORE_TARGET_MB:.0f} MB: "
                     f"{'met' if grown <= MORE_TARGET_MB else 'NOT met'}"
                     + ("" if more.updates >= 100_000 else
                        " (fewer than the target's 100,000 updates: --updates)"))
    if any(r.wrong for r in run.readings):
        lines.append("WARNING: some chats did not show what the step should (column 'wrong')")
    if run.error:
        lines.append(f"aborted: {run.error}")
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--residents", type=int, default=10_000,
                        help="R: residents, each in the middle of a report (default 10,000)")
    parser.add_argument("--updates", type=int, default=100_000,
                        help="N: updates after the reports are open, rounded up to whole "
                             "rounds of R (default 100,000)")
    parser.add_argument("--transport", choices=(*TRANSPORTS, "both"), default="both")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    transports = TRANSPORTS if args.transport == "both" else (args.transport,)
    residents = max(1, args.residents)
    print(f"memory bench: {residents:,} residents, {args.updates:,} more updates; the bot is "
          f"`residesk run` in its own process (VmRSS), SQLite; Python "
          f"{sys.version.split()[0]}", flush=True)
    started = time.perf_counter()
    runs = []
    for transport in transports:
        with contextlib.suppress(KeyboardInterrupt):
            runs.append(asyncio.run(measure(transport, residents, max(0, args.updates))))
    print()
    for run in runs:
        print("\n".join(report(run)))
    print(f"\n(total run time {time.perf_counter() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
