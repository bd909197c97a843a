"""Full-stack updates/s of one report step on each framework, against a bare echo bot of that
framework, in one run.

All bots poll the same loopback Bot API emulator (real HTTP) in this process:

* echo (aiogram): a Dispatcher with one message handler that answers ``message.text``,
  polled by aiogram's own ``start_polling`` (updates handled concurrently);
* echo (ptb): a python-telegram-bot Application with one MessageHandler that answers
  ``message.text``, polled by PTB's own Updater, with ``concurrent_updates(True)`` (PTB's
  default handles one update at a time, a baseline no bot serving many chats would use);
* residesk: the real ``ResidentDesk`` with TRANSPORT=aiogram, then ptb, on one fresh SQLite
  file (one per run), with R registered residents who are each in the middle of a report, at
  the DESCRIPTION step.

Both are measured in the same shape: K rounds, each of R concurrent text updates (one per
user); a round is timed from queueing its R updates until all R have been answered, and
updates/s is (K * R) / (sum of the round times).  For residesk the timed update is the
"description" step: validate the text, store it in the draft (one transaction) and answer
with the evidence prompt.  Residents are registered and brought to the DESCRIPTION step
through the bot itself (/start, name, contact, unit, /report, "Noise"); none of that is
timed.  Between rounds, untimed, every resident (now at EVIDENCE) is put back at DESCRIPTION
so that every timed update is the very same step: by default with one UPDATE of the
residents' conversation states (``--reset db``: the draft is then exactly as after the
"Noise" click, plus the old description that the next one overwrites), or through the bot
with ``/report`` and a click on "Noise" (``--reset clicks``: a fresh draft, 2 more updates
per resident and round, so about three times slower).  Going back through Skip → Normal →
Edit → Description is not used: it sets the draft's ``editing`` flag, after which a
description is answered with the summary instead of the evidence prompt, a different step.

The phases run interleaved (for each repetition and framework: echo, residesk) because the
machine may be shared and noisy; each framework's verdict uses the ratio of its medians.
The script also counts every database transaction begun during the timed residesk rounds,
by any task, and names the task coroutines that began them (≤ 1 per update is required), and
it measures the CPU time of the event-loop thread per update (the emulator runs on the same
loop, for every bot).

    .venv/bin/python bench/updates_per_second.py [--updates N] [--residents R] [--rounds K]
                                                 [--transports aiogram,ptb]

It is a benchmark, not a test: it always exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import logging
import math
import platform
import pstats
import statistics
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

import telegram
from aiogram import Bot, Dispatcher, Router
from aiogram import types as aiogram_types
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import Message, Update
from pydantic import SecretStr
from sqlalchemy import event, update
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from telegram import Update as PTBUpdate
from telegram.ext import Application, ContextTypes, MessageHandler, filters

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a plain script from anywhere
    sys.path.insert(0, str(ROOT))

from bot.app import ResidentDesk, Settings  # noqa: E402
from bot.emulator import BotAPIEmulator, EmulatedUser  # noqa: E402
from bot.handled import HandledUpdates  # noqa: E402
from bot.settings import DatabaseSettings, OfficeSettings, TelegramSettings  # noqa: E402
from bot.telegram.transport import TRANSPORTS  # noqa: E402
from storage.db import make_engine  # noqa: E402
from storage.models import ConversationState  # noqa: E402

TARGET = 0.80
WAIT = 60.0  # seconds: generous, a loaded machine must not fail the benchmark
EVIDENCE_PROMPT = "Photos, videos or voice notes"
PROJECT_DIRS = tuple(str(ROOT / d) for d in ("bot", "conversations", "storage", "tickets",
                                             "locales"))


def description(round_no: int) -> str:
    return f"Round {round_no}: loud music from the flat above after midnight, every night."


@dataclass
class Phase:
    """The timed part of one measurement."""

    name: str
    transport: str
    rep: int
    updates: int = 0
    elapsed: float = 0.0  # the sum of the round times
    loop_cpu: float = 0.0  # CPU time of the event-loop thread during the rounds
    latencies: list[float] = field(default_factory=list)
    failures: int = 0
    transactions: dict[str, int] = field(default_factory=dict)
    begun_by: dict[str, int] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.updates / self.elapsed if self.elapsed else 0.0

    @property
    def mean_ms(self) -> float:
        return statistics.fmean(self.latencies) * 1000 if self.latencies else 0.0

    @property
    def p95_ms(self) -> float:
        if not self.latencies:
            return 0.0
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)] * 1000

    @property
    def busy(self) -> float:
        """The share of the measured time the event-loop thread was on the CPU."""
        return self.loop_cpu / self.elapsed if self.elapsed else 0.0

    @property
    def max_ms(self) -> float:
        return max(self.latencies, default=0.0) * 1000

    @property
    def cpu_ms(self) -> float:
        return self.loop_cpu / self.updates * 1000 if self.updates else 0.0


def tx_per_update(transactions: dict[str, int], updates: int) -> float:
    """Transactions begun, or ended if more (a begin the listener missed), per update."""
    ended = transactions.get("commit", 0) + transactions.get("rollback", 0)
    return max(transactions.get("begin", 0), ended) / updates if updates else 0.0


@dataclass
class Config:
    residents: int
    rounds: int
    warmup: int
    repeats: int
    profile: bool
    reset: str  # "db" | "clicks": how residents go back to DESCRIPTION between rounds
    transports: tuple[str, ...]


async def started_polling(emu: BotAPIEmulator, since: int) -> None:
    """Wait until a bot has made its first getUpdates call after request number `since`."""
    await emu.wait_for(lambda: any(m == "getUpdates" for m, _ in emu.requests[since:]),
                       timeout=WAIT)


async def all_consumed(emu: BotAPIEmulator) -> None:
    """Wait until the bot has confirmed every queued update (so the next bot gets none)."""
    await emu.wait_for(lambda: emu.pending_updates() == 0, timeout=WAIT)


async def run_round(
    emu: BotAPIEmulator,
    users: Sequence[EmulatedUser],
    text: str,
    wait: Callable[[int], Awaitable[tuple[str, float]]],
    phase: Phase | None,
) -> list[str]:
    """Queue one text update per user at once; wait until all are answered; time it."""
    cpu0, t0 = time.thread_time(), time.perf_counter()
    ids = [emu.send_text(user, text) for user in users]
    done = await asyncio.gather(*(wait(update_id) for update_id in ids))
    t1, cpu1 = time.perf_counter(), time.thread_time()
    if phase is not None:
        phase.updates += len(ids)
        phase.elapsed += t1 - t0
        phase.loop_cpu += cpu1 - cpu0
        phase.latencies.extend(at - t0 for _, at in done)
    return [result for result, _ in done]


# --- the baselines: bare echo bots --------------------------------------------------------


async def measure_echo(emu: BotAPIEmulator, users: Sequence[EmulatedUser], cfg: Config,
                       rep: int, transport: str, work: Work | None = None) -> Phase:
    echo = echo_aiogram if transport == "aiogram" else echo_ptb
    return await echo(emu, users, cfg, Phase("work" if work else "echo", transport, rep), work)


class NoteBase(DeclarativeBase):
    pass


class Note(NoteBase):
    __tablename__ = "notes"
    id: Mapped[int] = mapped_column(primary_key=True)
    chat_id: Mapped[int]
    text: Mapped[str]


class Work:
    """What the "work" baseline adds to an echo: one row written in one ORM transaction
    (residesk's engine settings, its own SQLite file), and an inline keyboard on the answer.
    Informational: the issue's target is against the bare echo bot."""

    def __init__(self, workdir: Path) -> None:
        self.engine = make_engine(f"sqlite+aiosqlite:///{workdir / 'work.db'}")
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self.lock = asyncio.Lock()  # one SQLite writer at a time, as residesk's Database

    async def create(self) -> None:
        async with self.engine.begin() as connection:
            await connection.run_sync(NoteBase.metadata.create_all)

    async def write(self, chat_id: int, text: str) -> None:
        async with self.lock, self.sessions.begin() as session:
            session.add(Note(chat_id=chat_id, text=text))

    @staticmethod
    def keyboard(types: Any) -> Any:
        return types.InlineKeyboardMarkup(inline_keyboard=[[types.InlineKeyboardButton(
            text="Skip", callback_data="rp:skip")]])


async def echo_rounds(emu: BotAPIEmulator, users: Sequence[EmulatedUser], cfg: Config,
                      wait: Callable[[int], Awaitable[tuple[str, float]]], phase: Phase) -> None:
    for n in range(cfg.warmup + cfg.rounds):
        text = description(n)
        await run_round(emu, users, text, wait, phase if n >= cfg.warmup else None)
        if n >= cfg.warmup:
            phase.failures += sum(emu.last_message(u).text != text for u in users)
    await all_consumed(emu)


class Answered:
    """When each update was answered, for `run_round`'s waits."""

    def __init__(self) -> None:
        self.at: dict[int, float] = {}
        self.changed = asyncio.Condition()

    async def mark(self, update_id: int) -> None:
        async with self.changed:
            self.at[update_id] = time.perf_counter()
            self.changed.notify_all()

    async def wait(self, update_id: int) -> tuple[str, float]:
        async with asyncio.timeout(WAIT), self.changed:
            await self.changed.wait_for(lambda: update_id in self.at)
        return "ok", self.at[update_id]


async def echo_ptb(emu: BotAPIEmulator, users: Sequence[EmulatedUser], cfg: Config,
                   phase: Phase, work: Work | None) -> Phase:
    answered = Answered()

    async def echo(update: PTBUpdate, _: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.message
        if message is not None and message.text:
            if work is None:
                await message.reply_text(message.text)
            else:
                await work.write(message.chat_id, message.text)
                await message.reply_text(message.text, reply_markup=work.keyboard(telegram))
        await answered.mark(update.update_id)

    application = (Application.builder().token(emu.token).base_url(f"{emu.base_url}/bot")
                   .base_file_url(f"{emu.base_url}/file/bot").concurrent_updates(True).build())
    application.add_handler(MessageHandler(filters.ALL, echo))
    since = len(emu.requests)
    async with application:
        assert application.updater is not None
        await application.updater.start_polling(timeout=1, poll_interval=0.0)
        await application.start()
        try:
            await started_polling(emu, since)
            await echo_rounds(emu, users, cfg, answered.wait, phase)
        finally:
            await application.updater.stop()
            await application.stop()
    return phase


async def echo_aiogram(emu: BotAPIEmulator, users: Sequence[EmulatedUser], cfg: Config,
                       phase: Phase, work: Work | None) -> Phase:
    answered = Answered()
    router = Router(name="echo")

    @router.message()
    async def echo(message: Message, event_update: Update) -> None:
        if message.text:
            if work is None:
                await message.answer(message.text)
            else:
                await work.write(message.chat.id, message.text)
                await message.answer(message.text, reply_markup=work.keyboard(aiogram_types))
        await answered.mark(event_update.update_id)

    dp = Dispatcher()
    dp.include_router(router)
    bot = Bot(emu.token, session=AiohttpSession(api=TelegramAPIServer.from_base(emu.base_url)))
    since = len(emu.requests)
    polling = asyncio.create_task(dp.start_polling(bot, handle_signals=False, polling_timeout=1))
    try:
        await started_polling(emu, since)
        await echo_rounds(emu, users, cfg, answered.wait, phase)
    finally:
        await dp.stop_polling()
        await polling  # aiogram closes the bot's session
    return phase


# --- residesk ------------------------------------------------------------------------------


class Residesk:
    """The real bot, started like tests/conftest.py's Harness, on one SQLite file."""

    def __init__(self, emu: BotAPIEmulator, workdir: Path) -> None:
        self.emu = emu
        self.settings = Settings(
            # each bench user answers as fast as the bot does: no flood limit (measured alone)
            TelegramSettings(bot_token=SecretStr(emu.token), telegram_api_url=emu.base_url,
                             flood_limit=0),
            DatabaseSettings(database_url=f"sqlite+aiosqlite:///{workdir / 'bench.db'}"),
            OfficeSettings(media_dir=workdir / "media"),
        )
        self.desk: ResidentDesk | None = None
        self._polling: asyncio.Task[None] | None = None
        self.counting = False
        self.prepared = False  # residents registered and at DESCRIPTION
        self.transactions = {"begin": 0, "commit": 0, "rollback": 0}
        self.begun_by: Counter[str] = Counter()  # which task's coroutine began them

    async def start(self, transport: str = "aiogram") -> ResidentDesk:
        telegram = self.settings.telegram.model_copy(update={"transport": transport})
        self.handled = HandledUpdates()
        self.desk = desk = ResidentDesk(replace(self.settings, telegram=telegram),
                                        on_handled=self.handled)
        for name in ("begin", "commit", "rollback"):
            event.listen(desk.db.engine.sync_engine, name, self._counter(name))
        since = len(self.emu.requests)
        self._polling = asyncio.create_task(desk.run(handle_signals=False, polling_timeout=1))
        await started_polling(self.emu, since)
        return desk

    def _counter(self, name: str) -> Callable[..., None]:
        def count(*_args: Any) -> None:
            if self.counting:
                self.transactions[name] += 1
                if name == "begin":  # SQLAlchemy runs this inside the task's own step
                    task = asyncio.current_task()
                    coro = task.get_coro() if task is not None else None
                    self.begun_by[getattr(coro, "__qualname__", "?")] += 1
        return count

    async def stop(self) -> None:
        if self.desk is not None and self._polling is not None:
            await all_consumed(self.emu)
            await self.desk.stop()
            await self._polling
        self.desk, self._polling = None, None

    async def wait(self, update_id: int) -> tuple[str, float]:
        assert self.desk is not None
        result = await self.handled.wait(update_id, within=WAIT)
        return result, time.perf_counter()

    async def all_do(self, actions: Sequence[Callable[[], int]]) -> list[str]:
        """Queue one update per action at once; wait until all are handled."""
        ids = [act() for act in actions]
        return [r for r, _ in await asyncio.gather(*(self.wait(i) for i in ids))]

    async def register(self, users: Sequence[EmulatedUser]) -> None:
        emu = self.emu
        await self.all_do([partial(emu.send_text, u, "/start") for u in users])
        await self.all_do([partial(emu.click, u, emu.last_message(u), "✅ I agree")
                           for u in users])  # the privacy notice
        await self.all_do([partial(emu.send_text, u, u.first_name) for u in users])
        await self.all_do([partial(emu.send_contact, u, f"+86138{u.id:08d}") for u in users])
        await self.all_do([partial(emu.send_text, u, f"3-{u.id % 10_000:04d}") for u in users])
        unregistered = [u.id for u in users
                        if "registered" not in (emu.last_message(u).text or "")]
        if unregistered:
            raise RuntimeError(f"registration failed for users {unregistered}")

    async def to_description(self, users: Sequence[EmulatedUser]) -> None:
        """Start a new report and pick "Noise": each resident is at the DESCRIPTION step."""
        emu = self.emu
        await self.all_do([partial(emu.send_text, u, "/report") for u in users])
        results = await self.all_do([partial(emu.click, u, emu.last_message(u), "Noise")
                                     for u in users])
        if any(r != "ok" for r in results):
            raise RuntimeError(f"could not reach the description step: {results}")

    async def rounds(self, users: Sequence[EmulatedUser], cfg: Config, phase: Phase) -> None:
        for n in range(cfg.warmup + cfg.rounds):
            timed = phase if n >= cfg.warmup else None
            self.counting = timed is not None
            results = await run_round(self.emu, users, description(n), self.wait, timed)
            self.counting = False
            if timed is not None:
                timed.failures += sum(r != "ok" for r in results) + sum(
                    EVIDENCE_PROMPT not in (self.emu.last_message(u).text or "") for u in users)
            await self.back_to_description(users, cfg.reset)

    async def back_to_description(self, users: Sequence[EmulatedUser], how: str) -> None:
        """Untimed: put every resident (now at EVIDENCE) back at the DESCRIPTION step."""
        if how == "clicks":
            await self.to_description(users)
            return
        assert self.desk is not None
        async with self.desk.db.transaction() as session:  # nothing is in flight now
            result = await session.execute(
                update(ConversationState)
                .where(ConversationState.chat_id.in_([u.id for u in users]),
                       ConversationState.flow == "rp", ConversationState.step == "evidence")
                .values(step="description"))
        # an UPDATE gives a CursorResult (rowcount); SQLAlchemy types execute() as Result
        changed: int = result.rowcount  # type: ignore[attr-defined]
        if changed != len(users):
            raise RuntimeError(f"only {changed} of {len(users)} residents were at EVIDENCE")


async def measure_residesk(rd: Residesk, users: Sequence[EmulatedUser], cfg: Config,
                           rep: int, transport: str, *, prepare: bool) -> Phase:
    await rd.start(transport)
    phase = Phase("residesk", transport, rep)
    try:
        if prepare:  # not timed
            await rd.register(users)
            await rd.to_description(users)
        rd.transactions = dict.fromkeys(rd.transactions, 0)
        rd.begun_by.clear()
        await rd.rounds(users, cfg, phase)
        phase.transactions = dict(rd.transactions)
        phase.begun_by = dict(rd.begun_by)
    finally:
        await rd.stop()
    return phase


async def profile_residesk(rd: Residesk, users: Sequence[EmulatedUser]) -> str:
    """cProfile the event-loop thread over one warm residesk round (R description steps)."""
    await rd.start()
    try:
        await run_round(rd.emu, users, description(9_999), rd.wait, None)  # warm the caches
        await rd.back_to_description(users, "db")
        profiler = cProfile.Profile()
        profiler.enable()
        await run_round(rd.emu, users, description(10_000), rd.wait, None)
        profiler.disable()
        await rd.back_to_description(users, "db")
    finally:
        await rd.stop()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(15)
    out.write("\n--- residesk's own code (bot/, conversations/, storage/, tickets/, "
              "locales/), by cumulative time ---\n")
    own = pstats.Stats(profiler, stream=out)
    own.sort_stats("cumulative").print_stats("|".join(p.replace("\\", "\\\\")
                                                      for p in PROJECT_DIRS), 25)
    return out.getvalue()


# --- the report ------------------------------------------------------------------------------


def table(phases: Sequence[Phase]) -> str:
    head = (f"{'bot':<9} {'framework':<9} {'rep':>3} {'updates':>7} {'time s':>7} {'updates/s':>9} "
            f"{'mean ms':>8} {'p95 ms':>7} {'max ms':>7} {'loop CPU ms/upd':>15} "
            f"{'loop busy':>9} {'tx/upd':>6} {'bad':>3}")
    lines = [head, "-" * len(head)]
    for p in phases:
        tx = f"{tx_per_update(p.transactions, p.updates):.2f}" if p.transactions else "-"
        lines.append(f"{p.name:<9} {p.transport:<9} {p.rep:>3} {p.updates:>7} "
                     f"{p.elapsed:>7.2f} {p.rate:>9.1f} "
                     f"{p.mean_ms:>8.1f} {p.p95_ms:>7.1f} {p.max_ms:>7.1f} "
                     f"{p.cpu_ms:>15.2f} {p.busy:>9.0%} {tx:>6} {p.failures:>3}")
    return "\n".join(lines)


def summary(phases: Sequence[Phase], transport: str) -> str:
    echo = [p for p in phases if p.name == "echo" and p.transport == transport]
    work = [p for p in phases if p.name == "work" and p.transport == transport]
    desk = [p for p in phases if p.name == "residesk" and p.transport == transport]
    echo_rate = statistics.median(p.rate for p in echo)
    work_rate = statistics.median(p.rate for p in work)
    desk_rate = statistics.median(p.rate for p in desk)
    ratio = desk_rate / echo_rate if echo_rate else 0.0
    pairs = ", ".join(f"{d.rate / e.rate:.2f}×" for e, d in zip(echo, desk, strict=False))
    updates = sum(p.updates for p in desk)
    tx = {k: sum(p.transactions.get(k, 0) for p in desk) for k in ("begin", "commit",
                                                                     "rollback")}
    per_update = tx_per_update(tx, updates)  # all of them, background work included
    begun_by: Counter[str] = Counter()
    for p in desk:
        begun_by.update(p.begun_by)
    lines = [
        "",
        f"--- {transport} ---",
        f"baseline (echo) updates/s, median of {len(echo)}: {echo_rate:8.1f}"
        f"   (mean latency {statistics.median(p.mean_ms for p in echo):.1f} ms, "
        f"p95 {statistics.median(p.p95_ms for p in echo):.1f} ms)",
        f"residesk        updates/s, median of {len(desk)}: {desk_rate:8.1f}"
        f"   (mean latency {statistics.median(p.mean_ms for p in desk):.1f} ms, "
        f"p95 {statistics.median(p.p95_ms for p in desk):.1f} ms)",
        f"ratio residesk/echo (of the medians): {ratio:.2f}×   (per interleaved pair: {pairs})",
        f"target ≥ {TARGET:.2f}×: {'met' if ratio >= TARGET else 'NOT met'}",
        f"work baseline (echo + one row + a keyboard) updates/s, median: {work_rate:8.1f}; "
        f"residesk/work {desk_rate / work_rate if work_rate else 0.0:.2f}×, "
        f"work/echo {work_rate / echo_rate if echo_rate else 0.0:.2f}× (informational)",
        f"transactions per timed residesk update: {per_update:.2f} "
        f"(begin={tx['begin']}, commit={tx['commit']}, rollback={tx['rollback']}, "
        f"updates={updates}) — ≤ 1.0: {'yes' if per_update <= 1.0 else 'NO'}",
        "  begun by (task coroutine): " + ", ".join(f"{name} {count}" for name, count
                                                    in sorted(begun_by.items())),
    ]
    bad = sum(p.failures for p in echo + work + desk)
    if bad:
        lines.append(f"WARNING: {bad} update(s) were not answered as expected (column 'bad')")
    return "\n".join(lines)


async def main_async(cfg: Config) -> None:
    phases: list[Phase] = []
    with tempfile.TemporaryDirectory(prefix="residesk-bench-") as tmp:
        async with BotAPIEmulator() as emu:
            users = [emu.user(2001 + i, f"Resident {i + 1}", language_code="en")
                     for i in range(cfg.residents)]
            rd = Residesk(emu, Path(tmp))
            work = Work(Path(tmp))
            await work.create()
            for rep in range(1, cfg.repeats + 1):
                for transport in cfg.transports:
                    for baseline in (None, work):
                        phases.append(await measure_echo(emu, users, cfg, rep, transport,
                                                         baseline))
                        print(f"  {phases[-1].name:<8} {transport:<7} rep {rep}: "
                              f"{phases[-1].rate:8.1f} updates/s", flush=True)
                    phases.append(await measure_residesk(rd, users, cfg, rep, transport,
                                                         prepare=not rd.prepared))
                    rd.prepared = True
                    print(f"  residesk {transport:<7} rep {rep}: {phases[-1].rate:8.1f} "
                          "updates/s", flush=True)
            profile = await profile_residesk(rd, users) if cfg.profile else ""
            await work.engine.dispose()
    print()
    print(table(phases))
    for transport in cfg.transports:
        print(summary(phases, transport))
    if profile:
        print("\n=== cProfile of one residesk round (event-loop thread only) ===")
        print(profile)


def parse(argv: Sequence[str] | None = None) -> Config:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--updates", type=int, default=600,
                        help="timed updates per measurement (default 600); rounded up to "
                             "whole rounds of R")
    parser.add_argument("--residents", type=int, default=20,
                        help="R: users, each sends one update per round (default 20)")
    parser.add_argument("--rounds", type=int, default=None,
                        help="K: timed rounds per measurement (default: updates / R)")
    parser.add_argument("--warmup", type=int, default=2,
                        help="untimed rounds before each measurement (default 2)")
    parser.add_argument("--repeats", type=int, default=2,
                        help="interleaved repetitions of echo, residesk (default 2)")
    parser.add_argument("--reset", choices=("db", "clicks"), default="db",
                        help="between rounds, put residents back at DESCRIPTION with one "
                             "UPDATE of their conversation state (db, default: fast) or "
                             "with /report + a click on Noise (clicks: slower)")
    parser.add_argument("--transports", default=",".join(TRANSPORTS),
                        help="frameworks to measure, comma-separated (default: all)")
    parser.add_argument("--profile", action="store_true",
                        help="also cProfile one residesk round and print the hotspots")
    args = parser.parse_args(argv)
    residents = max(1, args.residents)
    rounds = args.rounds if args.rounds is not None else math.ceil(max(1, args.updates)
                                                                   / residents)
    return Config(residents=residents, rounds=max(1, rounds), warmup=max(0, args.warmup),
                  repeats=max(1, args.repeats), profile=args.profile,
                  reset=args.reset,
                  transports=tuple(t for t in args.transports.split(",") if t in TRANSPORTS))


def main(argv: Sequence[str] | None = None) -> int:
    cfg = parse(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    print(f"residesk bench: {cfg.residents} users x {cfg.rounds} timed rounds "
          f"(+{cfg.warmup} warm-up) per measurement, {cfg.repeats} interleaved repetitions; "
          f"Python {platform.python_version()}, SQLite, one process", flush=True)
    started = time.perf_counter()
    try:
        asyncio.run(main_async(cfg))
    except Exception:  # a benchmark reports, it does not fail the build
        traceback.print_exc()
        print("\nbenchmark aborted: no figures (see the error above)")
    print(f"\n(total run time {time.perf_counter() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
