"""The footprint of `residesk run` (issue 18, P5): idle memory and start time, on each
framework, against a bare echo bot of that framework.

For each framework and repetition, three processes are started one after the other
(`bench/idle_bots.py`), each polling this process's Bot API emulator over loopback HTTP:

* the framework's bare echo bot (one handler answering the text);
* `residesk run --transport <framework>` on a fresh SQLite file (it creates the schema);
* the same again on that file, now up to date ("residesk again": a restart).

For each: the time from starting the process to its imports done (the process prints it), and
from there to its first getUpdates (the start proper: for residesk the migrations, the
commands, the workers), and the CPU time it had used by its first getUpdates (wall times
stretch on a busy machine, CPU time much less); then, after SETTLE seconds of idling, its
resident memory (VmRSS of /proc/PID/status) and its peak (VmHWM). Then one private message
is sent and answered (the echo; residesk's welcome) and VmRSS read again: what the first
update costs.

Verdict lines, per framework, on the medians: residesk's idle RSS ≤ the echo bot's + 40 MB;
residesk's start to first poll after the imports ≤ 2 s.

    ./dev bench footprint [--repeats 3] [--transports aiogram,ptb] [--settle 2]

It is a benchmark, not a test: it always exits 0. Linux only (/proc).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a plain script from anywhere
    sys.path.insert(0, str(ROOT))

from bot.emulator import BotAPIEmulator  # noqa: E402

CHILD = ROOT / "bench" / "idle_bots.py"
RSS_MARGIN_MB = 40.0
START_TARGET = 2.0  # seconds from the imports done to the first getUpdates
WAIT = 120.0  # seconds: generous, a loaded machine must not fail the benchmark
TRANSPORTS = ("aiogram", "ptb")


@dataclass
class Start:
    """One process's start and footprint."""

    kind: str  # "echo", "residesk", "residesk again"
    transport: str
    launched: float = 0.0  # time.monotonic() when the process was started
    script: float = 0.0  # when its script began (after the interpreter's own start)
    imported: float = 0.0  # when its imports were done
    polled: float = 0.0  # its first getUpdates
    cpu_s: float = 0.0  # CPU time it (and the children it waited for) had used by then
    rss_mb: float = 0.0  # idle, SETTLE s after the first poll
    peak_mb: float = 0.0
    after_update_mb: float = 0.0  # after one message answered
    answered: bool = False

    @property
    def imports_s(self) -> float:
        """From starting the process to its imports done (the interpreter's start included)."""
        return self.imported - self.launched

    @property
    def to_poll_s(self) -> float:
        """From the imports done to the first getUpdates."""
        return self.polled - self.imported

    @property
    def total_s(self) -> float:
        return self.polled - self.launched


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and of its children it has waited for (residesk's
    migrations run in one): a start's cost that a busy machine does not stretch."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = sum(int(value) for value in fields[11:15])  # utime stime cutime cstime
    return ticks / os.sysconf("SC_CLK_TCK")


def memory_mb(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of a process, in MB (MiB: /proc counts kB of 1024 bytes)."""
    fields: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0]) / 1024
    return fields["VmRSS"], fields["VmHWM"]


class FirstPolls:
    """Stamps each getUpdates call the emulator receives (the emulator's own `requests` log
    says which, not when)."""

    def __init__(self, emu: BotAPIEmulator) -> None:
        self.at: list[float] = []
        key = "getupdates"
        name, handler = emu._methods[key]

        async def stamped(params: Any) -> Any:
            self.at.append(time.monotonic())
            return await handler(params)

        emu._methods[key] = (name, stamped)

    def after(self, moment: float) -> float | None:
        return next((t for t in self.at if t >= moment), None)


async def measure(emu: BotAPIEmulator, polls: FirstPolls, kind: str, transport: str,
                  workdir: Path, settle: float, user_id: int) -> Start:
    child = f"echo-{transport}" if kind == "echo" else f"residesk-{transport}"
    env = {**os.environ, "BOT_TOKEN": emu.token, "TELEGRAM_API_URL": emu.base_url,
           "DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'residesk.db'}",
           "PYTHONPATH": str(ROOT), "LOG_LEVEL": "WARNING"}
    start = Start(kind, transport)
    with (workdir / f"{child}.log").open("ab") as log:  # the child's own log, if it fails
        start.launched = time.monotonic()
        process = await asyncio.create_subprocess_exec(
            sys.executable, str(CHILD), child, cwd=workdir, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=log)
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), WAIT)).decode().split()
        if len(line) != 3 or line[0] != "imports":
            raise RuntimeError(f"{child} did not start: see {workdir / f'{child}.log'}")
        start.script, start.imported = float(line[1]), float(line[2])
        await emu.wait_for(lambda: polls.after(start.launched) is not None, timeout=WAIT)
        start.polled = polls.after(start.launched) or 0.0
        start.cpu_s = cpu_seconds(process.pid)
        await asyncio.sleep(settle)
        start.rss_mb, start.peak_mb = memory_mb(process.pid)
        user = emu.user(user_id, "Ann")
        emu.send_text(user, "/start" if kind != "echo" else "hello")
        try:
            await emu.wait_for(lambda: bool(emu.messages(user_id)), timeout=WAIT)
            start.answered = True
        except TimeoutError:
            pass
        await asyncio.sleep(settle)
        start.after_update_mb, start.peak_mb = memory_mb(process.pid)
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 30)
            except TimeoutError:
                process.kill()
                await process.wait()
    await emu.wait_for(lambda: emu.pending_updates() == 0, timeout=WAIT)
    return start


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else 0.0


def report(runs: list[Start], transports: Sequence[str]) -> None:
    print()
    print(f"{'process':<28}{'imports s':>10}{'→ poll s':>10}{'total s':>9}{'CPU s':>7}"
          f"{'idle MB':>9}{'peak MB':>9}{'1 upd MB':>10}")
    for run in runs:
        name = f"{run.kind} ({run.transport})" + ("" if run.answered else " [no answer!]")
        print(f"{name:<28}{run.imports_s:>10.2f}{run.to_poll_s:>10.2f}{run.total_s:>9.2f}"
              f"{run.cpu_s:>7.2f}{run.rss_mb:>9.1f}{run.peak_mb:>9.1f}{run.after_update_mb:>10.1f}")
    print()
    for transport in transports:
        def of(kind: str, transport: str = transport) -> list[Start]:
            return [r for r in runs if r.kind == kind and r.transport == transport]

        echo, desk, again = of("echo"), of("residesk"), of("residesk again")
        echo_rss, desk_rss = median([r.rss_mb for r in echo]), median([r.rss_mb for r in desk])
        print(f"{transport}: medians of {len(desk)} — echo {echo_rss:.1f} MB idle, "
              f"imports {median([r.imports_s for r in echo]):.2f} s, first poll "
              f"{median([r.to_poll_s for r in echo]):.2f} s after; residesk "
              f"{desk_rss:.1f} MB idle ({desk_rss - echo_rss:+.1f} MB), "
              f"{median([r.after_update_mb for r in desk]):.1f} MB after one update, imports "
              f"{median([r.imports_s for r in desk]):.2f} s")
        to_poll = median([r.to_poll_s for r in desk])
        again_poll = median([r.to_poll_s for r in again])
        met = "met" if desk_rss <= echo_rss + RSS_MARGIN_MB else "NOT met"
        print(f"  verdict RSS: residesk {desk_rss:.1f} MB ≤ echo {echo_rss:.1f} + "
              f"{RSS_MARGIN_MB:.0f} MB = {echo_rss + RSS_MARGIN_MB:.1f} MB: {met}")
        met = "met" if to_poll <= START_TARGET else "NOT met"
        print(f"  verdict start: first poll {to_poll:.2f} s after the imports on a fresh file "
              f"({again_poll:.2f} s on a file already up to date) ≤ {START_TARGET:.0f} s: "
              f"{met}")


async def main_async(args: argparse.Namespace) -> None:
    transports = tuple(t for t in args.transports.split(",") if t)
    print(f"footprint: Python {platform.python_version()} on {platform.machine()}, "
          f"{os.cpu_count()} CPUs; {args.repeats} repetition(s) of echo → residesk (fresh "
          f"SQLite) → residesk again (same file) per framework; idle = {args.settle:g} s "
          "after the first getUpdates")
    runs: list[Start] = []
    user_id = 1000
    async with BotAPIEmulator() as emu:
        polls = FirstPolls(emu)
        for rep in range(args.repeats):
            for transport in transports:
                with tempfile.TemporaryDirectory(prefix="residesk-footprint-") as tmp:
                    workdir = Path(tmp)
                    for kind in ("echo", "residesk", "residesk again"):
                        user_id += 1
                        run = await measure(emu, polls, kind, transport, workdir, args.settle,
                                            user_id)
                        runs.append(run)
                        print(f"  rep {rep + 1} {kind} ({transport}): {run.rss_mb:.1f} MB idle, "
                              f"first poll {run.to_poll_s:.2f} s after imports "
                              f"({run.imports_s:.2f} s)", flush=True)
    report(runs, transports)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--transports", default=",".join(TRANSPORTS))
    parser.add_argument("--settle", type=float, default=2.0,
                        help="seconds idle before memory is read")
    args = parser.parse_args(argv)
    asyncio.run(main_async(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
