"""The processes `bench/footprint.py` measures, each started as its own interpreter:

    python bench/idle_bots.py echo-aiogram | echo-ptb | residesk-aiogram | residesk-ptb

* ``echo-aiogram``: a bare aiogram bot, a Dispatcher with one message handler answering
  ``message.text``, polled by aiogram's ``start_polling``;
* ``echo-ptb``: a bare python-telegram-bot bot, an Application with one MessageHandler
  answering ``message.text``, polled by ``run_polling``;
* ``residesk-*``: `residesk run --transport aiogram|ptb` (``bot.cli.main``, what the
  ``residesk`` command calls), with its start-up modules imported first so that their time is
  known.

Each reads BOT_TOKEN and TELEGRAM_API_URL from the environment and prints one line to stdout
before it connects: ``imports <started> <imported>``, two ``time.monotonic()`` readings (the
same clock in every process on Linux): when this script began and when its imports were done.
Only the standard library is imported here before that line, so nothing of the benchmark
itself (the emulator, aiohttp for the PTB bots) is counted in a bot's memory.
"""

from __future__ import annotations

import time

STARTED = time.monotonic()

import os  # noqa: E402 - after the clock: the script's own start is measured too
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def imported() -> None:
    print(f"imports {STARTED:.6f} {time.monotonic():.6f}", flush=True)


def echo_aiogram() -> None:
    import asyncio

    from aiogram import Bot, Dispatcher
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer
    from aiogram.types import Message

    imported()
    dp = Dispatcher()

    @dp.message()
    async def echo(message: Message) -> None:
        if message.text:
            await message.answer(message.text)

    api = TelegramAPIServer.from_base(os.environ["TELEGRAM_API_URL"])
    bot = Bot(os.environ["BOT_TOKEN"], session=AiohttpSession(api=api))
    asyncio.run(dp.start_polling(bot, polling_timeout=25))


def echo_ptb() -> None:
    from telegram import Update
    from telegram.ext import Application, ContextTypes, MessageHandler, filters

    imported()

    async def echo(update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        if update.message is not None and update.message.text:
            await update.message.reply_text(update.message.text)

    url = os.environ["TELEGRAM_API_URL"]
    application = (Application.builder().token(os.environ["BOT_TOKEN"])
                   .base_url(f"{url}/bot").base_file_url(f"{url}/file/bot")
                   .concurrent_updates(True).build())
    application.add_handler(MessageHandler(filters.ALL, echo))
    application.run_polling(timeout=25)


def residesk(transport: str) -> int:
    sys.path.insert(0, str(ROOT))  # run as a plain script from anywhere
    import importlib

    import bot.app
    import bot.cli

    # the framework's adapter is imported by `make_transport` when the bot is made: counted
    # with the imports here, not with the start
    importlib.import_module(f"bot.telegram.{transport}_transport")
    assert bot.app  # (imported for its time: `bot.cli.main` imports it itself)
    imported()
    return bot.cli.main(["run", "--transport", transport])


def main(argv: list[str]) -> int:
    kind = argv[0] if argv else ""
    if kind == "echo-aiogram":
        echo_aiogram()
    elif kind == "echo-ptb":
        echo_ptb()
    elif kind in ("residesk-aiogram", "residesk-ptb"):
        return residesk(kind.removeprefix("residesk-"))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
