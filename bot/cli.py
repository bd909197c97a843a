"""The `residesk` command: run, serve, demo, db upgrade, units, categories, sla, questions,
export, stats, templates, residents, retention, staff (`residesk --help` lists them)."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import secrets
import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot import logs
from bot.personal_copy import zip_files
from bot.settings import (
    ConfigError,
    ConsoleSettings,
    DatabaseSettings,
    OfficeSettings,
    TelegramSettings,
    load,
)
from bot.statistics.export import FORMATS, export, period
from bot.statistics.text import statistics_text
from bot.telegram.transport import TRANSPORTS, Unauthorized
from bot.workers.leadership import SecondProcess
from bot.workers.scheduler import run_retention
from conversations.events import clean_text
from locales import SUPPORTED
from storage.db import Database, MigrationFailed
from storage.models import Resident, Staff, Ticket, UnitInvite, utcnow
from storage.personal_data import CopyFacts, PersonalData
from storage.repositories import Categories, ReplyTemplates, Residents, StaffMembers, Units
from storage.sign_in import ConsoleSessions
from tickets import erasure
from tickets.erasure import ErasedBy
from tickets.periods import PERIOD_DAYS
from tickets.personal_copy import document, evidence_names
from tickets.policy import normalize_phone
from tickets.service import TicketService
from tickets.statistics import compute
from tickets.templates import Purpose, TemplateError, check

T = TypeVar("T")


def day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2026-11-30") from None


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="residesk", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run the bot (long polling against TELEGRAM_API_URL)")
    serve = commands.add_parser("serve", help="the bot as a service: HTTP (webhook, health, "
                                "metrics) on HTTP_HOST:HTTP_PORT; polls without WEBHOOK_URL")
    demo = commands.add_parser("demo", help="try the bot offline in this terminal")
    serve.add_argument("--workers", type=int, default=1, metavar="N",
                       help="N worker processes under gunicorn (PostgreSQL only)")
    for command in (run, serve, demo):
        command.add_argument("--transport", choices=TRANSPORTS,
                             help="the Telegram framework (default: TRANSPORT, or aiogram)")
    demo.add_argument("--script", action="store_true", help="run a scripted walkthrough")
    demo.add_argument("--language", default="en", help="the resident's Telegram language code")
    db = commands.add_parser("db", help="database maintenance").add_subparsers(
        dest="db_command", required=True)
    db.add_parser("upgrade", help="apply the migrations")
    units = commands.add_parser("units", help="the property's units").add_subparsers(
        dest="units_command", required=True)
    importer = units.add_parser("import", help="load units from a CSV: building,unit[,floor]")
    importer.add_argument("csv", type=Path)
    invite = units.add_parser("invite", help="make a /start link that registers one unit")
    invite.add_argument("building")
    invite.add_argument("unit")
    categories = commands.add_parser("categories", help="complaint categories").add_subparsers(
        dest="categories_command", required=True)
    categories.add_parser("list", help="show the categories")
    setter = categories.add_parser("set", help="add or change a category")
    setter.add_argument("code", help="a short code, e.g. lift")
    setter.add_argument("--title", action="append", default=[], metavar="LANG=TEXT",
                        help="its name in a language (en, zh_Hans, ru); repeat per language")
    setter.add_argument("--disable", action="store_true", help="hide it from new reports")
    setter.add_argument("--enable", action="store_true", help="offer it again")
    setter.add_argument("--dispute", action=argparse.BooleanOptionalAction, default=None,
                        help="a dispute between residents: the office may mediate with the "
                             "other party (neighbour and noise by default)")
    commands.add_parser("sla", help="show the deadlines in force (office hours, days off, "
                        "times per category and urgency; set by SLA_FILE)")
    commands.add_parser("questions", help="show the questions each category asks after the "
                        "description (set by QUESTIONS_FILE)")
    exporter = commands.add_parser("export", help="the tickets of a period as CSV or XLSX")
    exporter.add_argument("--from", dest="first", type=day, required=True,
                          metavar="YYYY-MM-DD", help="first day (office time)")
    exporter.add_argument("--to", dest="last", type=day, required=True,
                          metavar="YYYY-MM-DD", help="last day, included")
    exporter.add_argument("--format", choices=FORMATS, default="csv")
    exporter.add_argument("--output", type=Path, metavar="FILE",
                          help="where to write (default: tickets-FROM-TO.csv|xlsx; '-' for "
                               "standard output, CSV only)")
    figures = commands.add_parser("stats", help="the office's figures for a period")
    figures.add_argument("--period", choices=tuple(PERIOD_DAYS), default="month",
                         help="the last 7, 30 or 90 days up to today (default: month)")
    figures.add_argument("--from", dest="first", type=day, metavar="YYYY-MM-DD",
                         help="first day instead of --period (office time)")
    figures.add_argument("--to", dest="last", type=day, metavar="YYYY-MM-DD",
                         help="last day, included (default: today)")
    templates = commands.add_parser("templates", help="reply templates staff pick when "
                                    "messaging, resolving or rejecting").add_subparsers(
        dest="templates_command", required=True)
    templates.add_parser("list", help="show the templates")
    template = templates.add_parser("set", help="add or change a template (by its title)")
    template.add_argument("title", help="what staff see on its button, e.g. 'Plumber booked'")
    template.add_argument("--for", dest="purpose", choices=tuple(Purpose), default=None,
                          help="where it is offered (a new template: message)")
    template.add_argument("--text", action="append", default=[], metavar="LANG=TEXT",
                          help="its text in a language (en, zh_Hans, ru), with {number}, "
                               "{name}, {unit}, {category}; repeat per language")
    template.add_argument("--disable", action="store_true", help="offer it no more")
    template.add_argument("--enable", action="store_true", help="offer it again")
    residents = commands.add_parser("residents", help="residents' personal data"
                                    ).add_subparsers(dest="residents_command", required=True)
    forgetter = residents.add_parser("forget", help="erase a resident's personal data (asked "
                                     "for by phone, by letter or at the desk)")
    forgetter.add_argument("who", help="their phone number, or their resident id as #12")
    forgetter.add_argument("--yes", action="store_true",
                           help="do not ask for confirmation (scripts)")
    copier = residents.add_parser("copy", help="write a resident's copy of their personal "
                                  "data (JSON and a ZIP of their files), as /mydata sends it")
    copier.add_argument("who", help="their phone number, or their resident id as #12")
    copier.add_argument("--output", type=Path, required=True, metavar="DIR",
                        help="the folder to write into (made if missing)")
    retention = commands.add_parser("retention", help="apply the retention periods now "
                                    "(EVIDENCE_RETENTION_MONTHS, RESIDENT_RETENTION_YEARS); "
                                    "the bot does it daily")
    retention.add_argument("--dry-run", action="store_true",
                           help="print what would be removed; change nothing")
    staff = commands.add_parser("staff", help="who works the staff group").add_subparsers(
        dest="staff_command", required=True)
    adder = staff.add_parser("add", help="authorise a person (by Telegram user id)")
    adder.add_argument("user_id", type=int, help="their Telegram user id (a number)")
    adder.add_argument("--name", required=True, help="as shown on cards")
    adder.add_argument("--role", choices=("agent", "manager"), default="agent")
    staff.add_parser("list", help="show the staff")
    remover = staff.add_parser("remove", help="withdraw a person's authorisation")
    remover.add_argument("user_id", type=int)
    return root


async def list_templates(session: AsyncSession) -> str:
    lines = []
    for item in await ReplyTemplates(session).all():
        state = "active" if item.active else "disabled"
        lines.append(f"{item.purpose:<8} {state:<8} {item.title}")
        lines += [f"    {lang}: {text}" for lang, text in sorted(item.texts.items())]
    return "\n".join(lines) or "no templates yet: residesk templates set TITLE --text en=…"


async def set_template(session: AsyncSession, args: argparse.Namespace) -> str:
    texts = {}
    for item in args.text:
        lang, sep, text = item.partition("=")
        if not sep:
            raise ValueError("--text takes LANG=TEXT, e.g. en='Dear {name}, …'")
        texts[lang] = text
    if args.disable and args.enable:
        raise ValueError("--disable and --enable exclude each other")
    repository = ReplyTemplates(session)
    existing = await repository.by_title(" ".join(args.title.split()))
    try:
        title, texts = check(args.title, {**(existing.texts if existing else {}), **texts})
    except TemplateError as error:
        raise ValueError(f"template: {error}") from None
    purpose = args.purpose or (existing.purpose if existing else Purpose.MESSAGE)
    template, created = await repository.upsert(
        title, purpose, texts, active=False if args.disable else True if args.enable else None)
    return f"template {template.title!r} ({template.purpose}) {'added' if created else 'updated'}"


async def add_staff(session: AsyncSession, user_id: int, name: str, role: str) -> str:
    name = name.strip()
    if user_id <= 0 or not name or len(name) > 128:
        raise ValueError("give a positive Telegram user id and a name of 1 to 128 characters")
    members = StaffMembers(session)
    staff = await members.by_user(user_id)
    if staff is None:
        members.add(Staff(telegram_user_id=user_id, name=name, role=role, active=True))
        return f"staff member {name} ({role}) added"
    staff.name, staff.role, staff.active = name, role, True
    return f"staff member {name} ({role}) updated"


async def list_staff(session: AsyncSession) -> str:
    lines = [f"{s.telegram_user_id:>12}  {s.role:<8} {'active' if s.active else 'removed':<8} "
             f"{s.name}" for s in await StaffMembers(session).everyone()]
    return "\n".join(lines) or "no staff yet: residesk staff add USER_ID --name NAME"


async def remove_staff(session: AsyncSession, user_id: int) -> str:
    """Kept for the audit trail, but no longer authorised: their old buttons stop working."""
    staff = await StaffMembers(session).by_user(user_id)
    if staff is None:
        raise ValueError(f"no staff member with user id {user_id}")
    staff.active, staff.dialog = False, None
    ended = await ConsoleSessions(session).end_all(staff.id)  # signed out of the console now
    return f"staff member {staff.name} removed" + (
        f"; {ended} console session(s) ended" if ended else "")


@dataclass(frozen=True)
class Wanted:
    """Whose personal data a staff member means: a resident, or a caller (complaints taken
    by phone or at the desk for this number, never in the bot)."""

    resident: Resident | None
    phone: str = ""
    calls: Sequence[Ticket] = ()

    @property
    def label(self) -> str:
        if self.resident is not None:
            return (f"resident #{self.resident.id}: {self.resident.name}, {self.resident.phone}"
                    f", {self.resident.unit_label or 'no unit'}")
        return (f"caller {self.calls[-1].contact_name or '(no name)'}, {self.phone} (not in "
                "the bot): complaints No. " + ", ".join(t.number or "" for t in self.calls))


async def find_wanted(session: AsyncSession, who: str) -> Wanted:
    """The resident a staff member means, `#12` (their id) or a phone number; else the
    complaints the office took for that number."""
    if who.startswith("#") and who[1:].isdigit():
        resident = await session.get(Resident, int(who[1:]))
        if resident is None:
            raise ValueError(f"no resident {who}")
        phone = resident.phone
    else:
        phone = normalize_phone(who, load(OfficeSettings).phone_region) or ""
        if not phone:
            raise ValueError(f"{who!r} is neither a phone number nor a resident id like #12")
        found = [r for r in await Residents(session).with_phone(phone) if r.erased_at is None]
        if len(found) > 1:
            raise ValueError("several residents have this phone: "
                             + ", ".join(f"#{r.id} ({r.unit_label})" for r in found)
                             + "; give one of their ids")
        resident = found[0] if found else None
    if resident is not None and resident.erased_at is not None:
        raise ValueError(f"resident #{resident.id}'s personal data was erased on "
                         f"{resident.erased_at:%Y-%m-%d}")
    if resident is not None:
        return Wanted(resident)
    calls = await TicketService(session).tickets.unclaimed_with_phone([phone])
    if not calls:
        raise ValueError(f"no resident and no complaint with the phone {phone}")
    return Wanted(None, phone, calls)


async def forget_resident(who: str, confirm: Callable[[str], bool]) -> str:
    """Erase a resident's (or a caller's) personal data for a request made outside the chat,
    after showing what goes and what stays and asking `confirm`."""
    office = load(OfficeSettings)

    async def describe(session: AsyncSession) -> tuple[Wanted, str]:
        wanted = await find_wanted(session, who)
        data = PersonalData(session)
        summary = (await erasure.summary(data, wanted.resident) if wanted.resident
                   else await erasure.summary_of(data, wanted.calls))
        lines = [wanted.label,
                 "erased now: name, phone, Telegram ids, their chat's state and messages, "
                 f"what they wrote on {summary.finished_tickets} finished ticket(s) and "
                 f"{summary.files} evidence file(s)",
                 "stays: their tickets, anonymised (the statistics)"]
        if summary.open_tickets:
            lines.append("open, erased when finished: No. " + ", ".join(summary.open_tickets))
        return wanted, "\n".join(lines)

    wanted, text = await in_transaction(describe)
    if not confirm(text):
        return "nothing erased"

    async def erase(session: AsyncSession) -> str:
        service = TicketService(session, staff_chat_id=office.staff_chat_id)
        resident = (await session.get(Resident, wanted.resident.id) if wanted.resident
                    else await erasure.gather_caller(service, wanted.phone))
        if resident is None:
            raise ValueError("nothing to erase any more")
        await service.forget_resident(resident, ErasedBy.STAFF)
        return f"resident #{resident.id}'s personal data erased"

    return await in_transaction(erase)


async def copy_for(who: str, output: Path) -> str:
    """A resident's (or a caller's) copy of their data, for a request made outside the chat."""

    async def made(session: AsyncSession) -> tuple[bytes, bytes, str]:
        wanted = await find_wanted(session, who)
        if wanted.resident is not None:
            facts = await PersonalData(session).copy_facts(wanted.resident)
            name = f"resident-{wanted.resident.id}"
        else:  # (a resident as the copy shows them: never added to the session)
            caller = Resident(name=wanted.calls[-1].contact_name or "", phone=wanted.phone)
            facts = CopyFacts(caller, wanted.calls, (), (), (), ())
            name = f"caller-{wanted.phone.lstrip('+')}"
        names = evidence_names(facts.tickets)
        files = [a for t in facts.tickets for a in t.attachments if a.id in names]
        data = json.dumps(document(facts, utcnow()), ensure_ascii=False, indent=2).encode()
        return data, await asyncio.to_thread(zip_files, files, names), name

    data, archive, name = await in_transaction(made)

    def write() -> None:
        output.mkdir(parents=True, exist_ok=True)
        (output / f"{name}.json").write_bytes(data)
        (output / f"{name}-files.zip").write_bytes(archive)

    await asyncio.to_thread(write)
    return (f"the copy is written to {output} ({name}.json, {name}-files.zip): it holds "
            "personal data, hand it over safely")


def ask(text: str) -> bool:
    print(text)
    return input("Type 'erase' to erase for good: ").strip().lower() == "erase"


async def retention_now(dry_run: bool) -> str:
    from bot.app import office_of

    office = load(OfficeSettings)
    database = Database(load(DatabaseSettings).database_url)
    try:
        await database.upgrade()
        report = await run_retention(database, office_of(office), dry_run=dry_run)
    finally:
        await database.dispose()
    were = "would be" if dry_run else "were"
    return (f"{len(report.residents)} resident(s) {were} anonymised (no ticket activity for "
            f"{office.resident_retention_years} years); {report.files} evidence file(s) of "
            f"{len(report.tickets)} ticket(s) {were} deleted (closed "
            f"{office.evidence_retention_months} months ago, or their resident erased)")


async def in_transaction(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Open the configured database, bring it up to date, and run `work` in one transaction."""
    database = Database(load(DatabaseSettings).database_url)
    try:
        await database.upgrade()
        async with database.transaction() as session:
            return await work(session)
    finally:
        await database.dispose()


async def import_units(path: Path) -> str:
    text = clean_text(await asyncio.to_thread(path.read_text, encoding="utf-8-sig"))
    result = await in_transaction(lambda session: Units(session).import_csv(text))
    return (f"imported {result.units} unit(s) in {result.buildings} new building(s); "
            f"{result.skipped} row(s) skipped (duplicates or empty)")


async def make_invite(session: AsyncSession, building_name: str, number: str) -> str:
    units = Units(session)
    building = next((b for b in await units.buildings() if b.name == building_name), None)
    unit = await units.find(building.id, number) if building else None
    if unit is None:
        raise ConfigError(f"no unit {number} in building {building_name}")
    token = secrets.token_urlsafe(12)
    session.add(UnitInvite(token=token, unit_id=unit.id))
    return token


async def list_categories(session: AsyncSession) -> str:
    lines = []
    for category in await Categories(session).all():
        titles = ", ".join(f"{k}={v}" for k, v in sorted(category.titles.items())) or "built-in"
        state = "active" if category.active else "disabled"
        kind = "dispute" if category.dispute else ""
        lines.append(f"{category.code:<12} {state:<8} {kind:<7} titles: {titles}")
    return "\n".join(lines)


async def set_category(session: AsyncSession, args: argparse.Namespace) -> str:
    titles = {}
    for item in args.title:
        lang, _, text = item.partition("=")
        if lang not in SUPPORTED or not text.strip():
            raise ValueError(f"--title takes LANG=TEXT with LANG one of {', '.join(SUPPORTED)}")
        titles[lang] = text.strip()
    if args.disable and args.enable:
        raise ValueError("--disable and --enable exclude each other")
    category, created = await Categories(session).upsert(
        args.code, titles=titles, active=False if args.disable else True if args.enable else None,
        dispute=args.dispute)
    return f"category {category.code} {'added' if created else 'updated'}"


async def export_tickets(args: argparse.Namespace) -> str:
    output = args.output or Path(f"tickets-{args.first}-{args.last}.{args.format}")
    database = Database(load(DatabaseSettings).database_url)
    try:
        await database.upgrade()
        count = await export(database, args.first, args.last, args.format,
                             None if str(output) == "-" else output,
                             ZoneInfo(load(OfficeSettings).office_timezone))
    finally:
        await database.dispose()
    return f"exported {count} ticket(s) to {'standard output' if str(output) == '-' else output}"


async def office_stats(args: argparse.Namespace) -> str:
    timezone = ZoneInfo(load(OfficeSettings).office_timezone)
    now = datetime.now(timezone)
    last = args.last or now.date()
    first = args.first or last - timedelta(days=PERIOD_DAYS[args.period] - 1)
    start, end = period(first, last, timezone)

    database = Database(load(DatabaseSettings).database_url)
    try:
        await database.upgrade()
        figures = await compute(database, start, end, now)
    finally:
        await database.dispose()
    return statistics_text(figures, first, last, timezone)


async def run_bot(transport: str | None) -> None:
    from bot.app import ResidentDesk, Settings

    telegram = load(TelegramSettings, **({"transport": transport} if transport else {}))
    settings = Settings(telegram, load(DatabaseSettings), load(OfficeSettings),
                        load(ConsoleSettings))
    await ResidentDesk(settings).run()


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    for key, value in vars(args).items():  # typed text is cleaned as the bot's input is
        if isinstance(value, str):
            setattr(args, key, clean_text(value))
        elif isinstance(value, list):
            setattr(args, key, [clean_text(v) if isinstance(v, str) else v for v in value])
    try:
        # LOG_LEVEL and the rest; the demo: a clean chat
        logs.from_environment(logging.WARNING if args.command == "demo" else None)
        if args.command == "run":
            asyncio.run(run_bot(args.transport))
        elif args.command == "serve":
            from web import service

            settings, http = service.settings_from_environment(args.transport)
            if args.workers > 1:
                service.serve_workers(settings, http, args.workers)
            asyncio.run(service.serve(settings, http))
        elif args.command == "demo":
            from bot import demo

            return demo.main(args.script, args.language, args.transport)
        elif args.command == "export":
            print(asyncio.run(export_tickets(args)), file=sys.stderr)
        elif args.command == "stats":
            print(asyncio.run(office_stats(args)))
        elif args.command == "sla":
            policy = load(OfficeSettings).timing().sla
            today = datetime.now(policy.calendar.timezone).date()
            print("\n".join(policy.describe(today)))
            for warning in policy.warnings(today):
                print(warning, file=sys.stderr)
        elif args.command == "questions":
            print("\n".join(load(OfficeSettings).questions().describe()))
        elif args.command == "db":
            asyncio.run(Database(load(DatabaseSettings).database_url).upgrade())
            print("database is up to date")
        elif args.command == "units" and args.units_command == "import":
            print(asyncio.run(import_units(args.csv)))
        elif args.command == "units":
            token = asyncio.run(in_transaction(
                lambda session: make_invite(session, args.building, args.unit)))
            print(f"invite token: {token}  (link: https://t.me/<your_bot>?start={token})")
        elif args.command == "categories" and args.categories_command == "list":
            print(asyncio.run(in_transaction(list_categories)))
        elif args.command == "categories":
            print(asyncio.run(in_transaction(lambda session: set_category(session, args))))
        elif args.command == "templates" and args.templates_command == "list":
            print(asyncio.run(in_transaction(list_templates)))
        elif args.command == "templates":
            print(asyncio.run(in_transaction(lambda session: set_template(session, args))))
        elif args.command == "residents" and args.residents_command == "copy":
            print(asyncio.run(copy_for(args.who, args.output)))
        elif args.command == "residents":
            print(asyncio.run(forget_resident(args.who, (lambda _text: True) if args.yes
                                              else ask)))
        elif args.command == "retention":
            print(asyncio.run(retention_now(args.dry_run)))
        elif args.staff_command == "add":
            print(asyncio.run(in_transaction(
                lambda session: add_staff(session, args.user_id, args.name, args.role))))
        elif args.staff_command == "list":
            print(asyncio.run(in_transaction(list_staff)))
        else:
            print(asyncio.run(in_transaction(lambda session: remove_staff(session, args.user_id))))
    except ConfigError as error:
        print(f"residesk: configuration error: {error}", file=sys.stderr)
        return 2
    except SecondProcess as error:
        print(f"residesk: {error}", file=sys.stderr)
        return 2
    except MigrationFailed as error:
        print(f"residesk: the database could not be brought up to date: {error}",
              file=sys.stderr)
        return 1
    except Unauthorized:
        print("residesk: Telegram refused the bot token (BOT_TOKEN): check it with @BotFather",
              file=sys.stderr)
        return 2
    except (OSError, ValueError) as error:
        print(f"residesk: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
