"""The `residesk` command as an operator uses it (real processes, real SQLite files; `run` on
SQLite and on PostgreSQL, the demo on its own SQLite file as it always is)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from bot import logs
from tests.chats import AGREE
from tests.processes import residesk


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    # the project root must be importable from the temporary working directory
    root = str(Path(__file__).parent.parent)
    monkeypatch.setenv("PYTHONPATH", root + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return tmp_path


@pytest.fixture
def run_url(backend: str, database_url: str, tmp_path: Path) -> str:
    """DATABASE_URL as an operator writes it, on each database: a new SQLite file (`run`
    creates and migrates it), or this test's own PostgreSQL database."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'run.db'}"
    return database_url


def test_run_without_a_token_stops_with_one_clear_line(workdir: Path) -> None:
    result = residesk("run", cwd=workdir)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "residesk: configuration error: BOT_TOKEN is not set (put it in the environment or in .env)"
    ]


def test_db_upgrade_then_units_import_and_invite(workdir: Path) -> None:
    assert "up to date" in residesk("db", "upgrade", cwd=workdir).stdout
    assert (workdir / "residesk.db").exists()
    (workdir / "units.csv").write_text(
        "building,unit,floor\n1,101,1\n1,102,1\n2,201,2\n1,101,1\n,,\n", encoding="utf-8")
    result = residesk("units", "import", "units.csv", cwd=workdir)
    assert result.returncode == 0, result.stderr
    assert "imported 3 unit(s) in 2 new building(s); 2 row(s) skipped" in result.stdout
    again = residesk("units", "import", "units.csv", cwd=workdir)
    assert "imported 0 unit(s)" in again.stdout
    invite = residesk("units", "invite", "1", "102", cwd=workdir)
    assert invite.returncode == 0 and "invite token:" in invite.stdout
    missing = residesk("units", "invite", "9", "999", cwd=workdir)
    assert missing.returncode == 2 and "no unit 999 in building 9" in missing.stderr


def test_units_import_refuses_a_file_without_the_columns(workdir: Path) -> None:
    (workdir / "bad.csv").write_text("name,flat\nA,1\n", encoding="utf-8")
    result = residesk("units", "import", "bad.csv", cwd=workdir)
    assert result.returncode == 1 and "building,unit" in result.stderr
    result = residesk("units", "import", "absent.csv", cwd=workdir)
    assert result.returncode == 1 and "absent.csv" in result.stderr


def test_demo_script_runs_the_whole_journey(workdir: Path, transport: str) -> None:
    result = residesk("demo", "--script", "--transport", transport, cwd=workdir, timeout=180)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "registered as No." in result.stdout and "Files attached: 3" in result.stdout
    assert "— staff group —" in result.stdout and "Status: closed" in result.stdout
    assert "is now under investigation" in result.stdout  # the resident's side
    assert "Traceback" not in result.stdout + result.stderr


def test_interactive_demo_is_played_from_the_keyboard(workdir: Path, transport: str) -> None:
    typed = "\n".join(["1", "Li Wei", "k1", "1", "1202", "k1", "99", "#99", ":sticker", ":staff",
                       "/help", ":reply hello", ":resident", ":quit"])
    environment = {k: v for k, v in os.environ.items() if k != "BOT_TOKEN"}
    environment["TRANSPORT"] = transport  # the setting, where the script above uses the flag
    result = subprocess.run([sys.executable, "-m", "bot.cli", "demo"], cwd=workdir,
                            env=environment, input=typed + "\n", capture_output=True, text=True,
                            timeout=180, check=False)
    assert result.returncode == 0, result.stderr
    assert "You are registered: Li Wei, A-1202" in result.stdout
    assert "Choose a category" in result.stdout
    assert "(demo) list index out of range" in result.stdout  # "#99": no such button, no crash
    assert "Staff desk." in result.stdout  # /help as the office's manager in the staff group
    assert "(demo) nothing to reply to yet" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_staff_are_added_listed_and_removed(workdir: Path) -> None:
    result = residesk("staff", "add", "123456", "--name", "Li Na", "--role", "manager",
                      cwd=workdir)
    assert result.returncode == 0 and "Li Na (manager) added" in result.stdout
    assert residesk("staff", "add", "654321", "--name", "Zhang Wei", cwd=workdir).returncode == 0
    result = residesk("staff", "remove", "654321", cwd=workdir)
    assert result.returncode == 0 and "removed" in result.stdout
    listing = residesk("staff", "list", cwd=workdir).stdout
    assert "123456  manager  active   Li Na" in listing
    assert "654321  agent    removed  Zhang Wei" in listing
    result = residesk("staff", "remove", "999", cwd=workdir)
    assert result.returncode == 1 and "no staff member" in result.stderr
    result = residesk("staff", "add", "5", "--name", " ", cwd=workdir)
    assert result.returncode == 1


async def test_run_serves_residents_and_stops_cleanly_on_sigterm(tmp_path: Path, run_url: str,
                                                                 transport: str) -> None:
    from bot.emulator import BotAPIEmulator

    async with BotAPIEmulator() as emulator:
        environment = {**os.environ, "BOT_TOKEN": emulator.token,
                       "TELEGRAM_API_URL": emulator.base_url,
                       "DATABASE_URL": run_url,
                       "PYTHONPATH": str(Path(__file__).parent.parent)}
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "run", "--transport", transport, cwd=tmp_path,
            env=environment,
            stderr=asyncio.subprocess.PIPE)
        try:
            user = emulator.user(1, "Ann")
            emulator.send_text(user, "/start")
            await emulator.wait_for(lambda: bool(emulator.messages(1)), timeout=60)
            emulator.click(user, emulator.last_message(1), AGREE)
            await emulator.wait_for(lambda: len(emulator.messages(1)) >= 2, timeout=10)
            emulator.send_text(user, "Ann Lee")
            await emulator.wait_for(lambda: len(emulator.messages(1)) >= 3, timeout=10)
            process.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(process.wait(), 30) == 0
        finally:
            if process.returncode is None:
                process.kill()
        assert process.stderr is not None
        log = (await process.stderr.read()).decode()
    assert "phone number" in (emulator.last_message(1).text or "")  # the name was taken
    chat = logs.chat_ref(1, secret=emulator.token)  # keyed by the token: no LOG_KEY here
    assert f"update=3 chat={chat} step=reg:phone outcome=ok" in log
    assert log.rstrip().endswith("stopped")
    assert f"with {transport}" in log
    assert emulator.token not in log and "Ann Lee" not in log


async def test_run_with_a_refused_token_stops_with_one_clear_line(tmp_path: Path, run_url: str,
                                                                  transport: str) -> None:
    from bot.emulator import BotAPIEmulator

    async with BotAPIEmulator() as emulator:
        wrong = emulator.token.split(":")[0] + ":WRONG-token-0123456789"
        environment = {**os.environ, "BOT_TOKEN": wrong, "TELEGRAM_API_URL": emulator.base_url,
                       "DATABASE_URL": run_url,
                       "PYTHONPATH": str(Path(__file__).parent.parent)}
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "run", "--transport", transport, cwd=tmp_path,
            env=environment, stderr=asyncio.subprocess.PIPE)
        _, stderr = await asyncio.wait_for(process.communicate(), 60)
    text = stderr.decode()
    assert process.returncode == 2
    assert "Telegram refused the bot token" in text and "Traceback" not in text
    assert "WRONG-token" not in text


def test_categories_can_be_listed_added_renamed_and_disabled(workdir: Path) -> None:
    first = residesk("categories", "list", cwd=workdir)
    assert first.returncode == 0 and first.stdout.count("\n") == 10
    assert "water" in first.stdout and "titles: built-in" in first.stdout
    added = residesk("categories", "set", "lift", "--title", "en=Lift / elevator",
                     "--title", "zh_Hans=电梯", cwd=workdir)
    assert added.returncode == 0 and "category lift added" in added.stdout
    renamed = residesk("categories", "set", "noise", "--title", "ru=Шум соседей", "--disable",
                       cwd=workdir)
    assert "category noise updated" in renamed.stdout
    listing = residesk("categories", "list", cwd=workdir).stdout
    assert "lift" in listing and "zh_Hans=电梯" in listing
    noise = next(line for line in listing.splitlines() if line.startswith("noise"))
    assert noise.split()[1:3] == ["disabled", "dispute"]  # a dispute out of the box
    residesk("categories", "set", "parking", "--dispute", cwd=workdir)
    residesk("categories", "set", "neighbour", "--no-dispute", cwd=workdir)
    listing = residesk("categories", "list", cwd=workdir).stdout
    kinds = {line.split()[0]: "dispute" in line.split() for line in listing.splitlines()}
    assert (kinds["parking"], kinds["neighbour"], kinds["water"]) == (True, False, False)
    bad = residesk("categories", "set", "pool", "--title", "zh_Hans=泳池", cwd=workdir)
    assert bad.returncode == 1 and "needs at least --title en=" in bad.stderr
    bad = residesk("categories", "set", "x y", "--title", "en=X", cwd=workdir)
    assert bad.returncode == 1 and "category code" in bad.stderr


def test_export_writes_a_file_and_explains_bad_requests(workdir: Path) -> None:
    result = residesk("export", "--from", "2026-11-01", "--to", "2026-11-30", cwd=workdir)
    assert result.returncode == 0, result.stderr
    assert "exported 0 ticket(s) to tickets-2026-11-01-2026-11-30.csv" in result.stderr
    header = (workdir / "tickets-2026-11-01-2026-11-30.csv").read_text(encoding="utf-8-sig")
    assert header.startswith("number,incident,created_at,channel,status")
    result = residesk("export", "--from", "2026-11-01", "--to", "2026-11-30", "--output", "-",
                      cwd=workdir)
    assert result.returncode == 0 and result.stdout.startswith("number,incident,created_at")
    result = residesk("export", "--from", "2026-12-01", "--to", "2026-11-30", cwd=workdir)
    assert result.returncode == 1 and "--from is after --to" in result.stderr
    result = residesk("export", "--from", "2026-11-01", "--to", "2026-11-30", "--format",
                      "xlsx", "--output", "-", cwd=workdir)
    assert result.returncode == 1 and "needs --output FILE" in result.stderr
    result = residesk("export", "--from", "yesterday", "--to", "2026-11-30", cwd=workdir)
    assert result.returncode == 2 and "'yesterday' is not a date like 2026-11-30" in result.stderr


def test_stats_for_a_period(workdir: Path) -> None:
    result = residesk("stats", "--from", "2026-11-01", "--to", "2026-11-30", cwd=workdir)
    assert result.returncode == 0, result.stderr
    assert "Tickets created 2026-11-01 – 2026-11-30 (Asia/Shanghai): 0" in result.stdout
    assert "Satisfaction: no ratings" in result.stdout and "Overdue now: 0" in result.stdout
    result = residesk("stats", "--period", "week", cwd=workdir)
    assert result.returncode == 0 and "Tickets created" in result.stdout
    result = residesk("stats", "--from", "2026-12-01", "--to", "2026-11-30", cwd=workdir)
    assert result.returncode == 1 and "--from is after --to" in result.stderr
