"""The `residesk` command: run, demo, db upgrade, units import / invite."""

from __future__ import annotations

import argparse
import asyncio
import logging
import secrets
import sys
from pathlib import Path

from bot import logs
from bot.settings import ConfigError, DatabaseSettings, OfficeSettings, TelegramSettings, load
from storage.db import Database
from storage.models import UnitInvite
from storage.repositories import Units


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="residesk", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="run the bot (long polling against TELEGRAM_API_URL)")
    demo = commands.add_parser("demo", help="try the bot offline in this terminal")
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
    return root


async def import_units(path: Path) -> str:
    text = await asyncio.to_thread(path.read_text, encoding="utf-8-sig")
    database = Database(load(DatabaseSettings).database_url)
    try:
        await database.upgrade()
        async with database.transaction() as session:
            result = await Units(session).import_csv(text)
    finally:
        await database.dispose()
    return (f"imported {result.units} unit(s) in {result.buildings} new building(s); "
            f"{result.skipped} row(s) skipped (duplicates or empty)")


async def make_invite(building_name: str, number: str) -> str:
    database = Database(load(DatabaseSettings).database_url)
    try:
        await database.upgrade()
        async with database.transaction() as session:
            units = Units(session)
            building = next((b for b in await units.buildings() if b.name == building_name), None)
            unit = await units.find(building.id, number) if building else None
            if unit is None:
                raise ConfigError(f"no unit {number} in building {building_name}")
            token = secrets.token_urlsafe(12)
            session.add(UnitInvite(token=token, unit_id=unit.id))
    finally:
        await database.dispose()
    return token


async def run_bot() -> None:
    from bot.app import ResidentDesk, Settings

    settings = Settings(load(TelegramSettings), load(DatabaseSettings), load(OfficeSettings))
    await ResidentDesk(settings).run()


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logs.setup(logging.WARNING if args.command == "demo" else logging.INFO)  # demo: a clean chat
    try:
        if args.command == "run":
            asyncio.run(run_bot())
        elif args.command == "demo":
            from bot import demo

            return demo.main(args.script, args.language)
        elif args.command == "db":
            asyncio.run(Database(load(DatabaseSettings).database_url).upgrade())
            print("database is up to date")
        elif args.units_command == "import":
            print(asyncio.run(import_units(args.csv)))
        else:
            token = asyncio.run(make_invite(args.building, args.unit))
            print(f"invite token: {token}  (link: https://t.me/<your_bot>?start={token})")
    except ConfigError as error:
        print(f"residesk: configuration error: {error}", file=sys.stderr)
        return 2
    except (OSError, ValueError) as error:
        print(f"residesk: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
