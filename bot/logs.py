"""Logging set-up: one line per update; secrets, personal data and message text never reach
the log. Chats are named by `chat_ref`, a short keyed hash, never by their Telegram id."""

from __future__ import annotations

import errno
import hashlib
import hmac
import logging
import re
import secrets
import sys
import traceback
from types import TracebackType
from typing import TextIO

FORMAT = "%(asctime)s %(levelname)s [%(process)d] %(name)s %(message)s"  # [pid]: which worker
# our own loggers; any other is a library's
OURS = frozenset({"residesk", "bot", "web", "conversations", "tickets", "storage", "locales"})
# What each library would print, and the level it is held at unless LOG_LIBRARY_DEBUG is on.
LIBRARIES = {
    "telegram": logging.INFO,  # python-telegram-bot, DEBUG: every Bot API call's parameters
    #                            (message text, names, phones) and every update
    "aiogram": logging.INFO,  # DEBUG: updates and calls
    "aiogram.event": logging.WARNING,  # INFO: a line per update; ours says what matters
    "httpx": logging.WARNING,  # INFO: every request's URL (the token is masked anyway)
    "httpcore": logging.INFO,  # DEBUG: each request's phases
    "aiohttp": logging.INFO,  # DEBUG: the HTTP client's and server's internals
    "aiosqlite": logging.INFO,  # DEBUG: every call with its SQL parameters
    "asyncpg": logging.INFO,
    "sqlalchemy": logging.WARNING,  # INFO: SQL with its parameters; DEBUG: the rows
}
_secrets: set[str] = set()
# The key of chat refs: LOG_KEY, else derived from the bot token (see `use_key`); until then
# a random one, so a ref is never the id itself (only stable within this process then).
_key = secrets.token_bytes(32)
_key_fixed = False
_LABEL = b"residesk log refs"


def redact(secret: str) -> None:
    """Register a secret (the bot token) that must never appear in a log line."""
    if len(secret) > 8:
        _secrets.add(secret)


def use_key(secret: str, *, fixed: bool = False) -> None:
    """Key the chat refs with a deployment's secret: the bot token (every replica has it, so
    a chat has one ref across processes and restarts), or LOG_KEY (`fixed`: it wins over the
    token, and outlives a token revoked at BotFather). Derived, so a ref gives no hold on
    the secret."""
    global _key, _key_fixed
    if _key_fixed and not fixed:
        return
    _key, _key_fixed = _derived(secret), fixed


def _derived(secret: str) -> bytes:
    return hmac.new(secret.encode(), _LABEL, hashlib.sha256).digest()


def chat_ref(chat_id: int | None, *, secret: str | None = None) -> str:
    """How a log line names a chat or a Telegram user: the first 10 hex digits of
    HMAC-SHA256(key, id). The same chat reads the same in every line of a deployment (an
    operator can follow it); without the key the id cannot be found from it. `secret`: the
    ref as a deployment with that token (or LOG_KEY) writes it."""
    if chat_id is None:
        return "-"
    key = _key if secret is None else _derived(secret)
    return hmac.new(key, str(chat_id).encode(), hashlib.sha256).hexdigest()[:10]


class RedactSecrets(logging.Filter):
    """Defence in depth, for whatever a library logs: registered secrets are masked, and a
    traceback keeps its frames but names each exception by `reason` (an exception's message
    may quote SQL parameters, a URL with the token or what a resident wrote)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not _secrets and not record.exc_info:
            return True
        message = record.getMessage()
        if record.exc_info:
            message += "\n" + safe_traceback(record.exc_info)
            record.exc_info, record.exc_text = None, None
        for secret in _secrets:
            message = message.replace(secret, "<secret>")
        record.msg, record.args = message, None
        return True


class HoldLibraries(logging.Filter):
    """Below INFO only our own lines pass: a library's debug output quotes updates, API
    calls and SQL parameters (LOG_LIBRARY_DEBUG lets it through)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return (record.levelno >= logging.INFO
                or record.name.partition(".")[0] in OURS)


class DropQueries(logging.Filter):
    """For an access log: a URL's query string is cut (the console's search is `?q=` a name
    or a phone number)."""

    _QUERY = re.compile(r"\?[^\s\"]*")

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = self._QUERY.sub("?…", record.getMessage()), None
        return True


ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None] | tuple[None, None, None]


def safe_traceback(exc_info: ExcInfo) -> str:
    """A traceback with its frames (file, line, code) and, for each exception of the chain,
    its class and `reason` instead of its message."""
    error = exc_info[1]
    if error is None:
        return ""
    chain = [error, *_causes(error)]
    parts = ["Traceback (most recent call last):"]
    for link in reversed(chain):
        if link.__traceback__ is not None:
            parts += [line.rstrip("\n") for line in traceback.format_tb(link.__traceback__)]
        parts.append(" ".join(dict.fromkeys(_about(link))))
    return "\n".join(parts)


def handler(stream: TextIO | None = None, *, library_debug: bool = False) -> logging.Handler:
    """The handler production logs through (to stderr), with its format and filters."""
    found = logging.StreamHandler(stream if stream is not None else sys.stderr)
    found.setFormatter(logging.Formatter(FORMAT))
    add_filters(found, library_debug=library_debug)
    return found


def add_filters(target: logging.Handler, *, library_debug: bool = False) -> None:
    if not library_debug:
        target.addFilter(HoldLibraries())
    target.addFilter(RedactSecrets())


def setup(level: int = logging.INFO, *, library_debug: bool = False,
          key: str | None = None) -> None:
    """Log to stderr at `level` (LOG_LEVEL). Libraries are held at LIBRARIES' levels unless
    `library_debug` (LOG_LIBRARY_DEBUG: their debug output holds message text, names and
    phone numbers). `key`: LOG_KEY."""
    root = logging.getLogger()
    if root.handlers:  # set up by someone else (a test, an embedding server): filter theirs
        for each in root.handlers:
            add_filters(each, library_debug=library_debug)
    else:
        root.addHandler(handler(library_debug=library_debug))
    root.setLevel(level)
    hold_libraries(library_debug=library_debug)
    if key:
        redact(key)
        use_key(key, fixed=True)


def hold_libraries(*, library_debug: bool = False) -> None:
    """The libraries at LIBRARIES' levels; opted in (`library_debug`), at LOG_LEVEL like ours."""
    for name, held in LIBRARIES.items():
        logging.getLogger(name).setLevel(logging.NOTSET if library_debug else held)


def from_environment(level: int | None = None) -> None:
    """`setup` as LOG_LEVEL, LOG_KEY and LOG_LIBRARY_DEBUG say (`level` overrides LOG_LEVEL);
    ConfigError names a bad one."""
    from bot.settings import LogSettings, load  # here: this module stays a leaf

    found = load(LogSettings)
    setup(found.level if level is None else level, library_debug=found.log_library_debug,
          key=found.key)

# What SQLite names when it refuses a row: the constraint kind and the table.column, never the
# values ("UNIQUE constraint failed: residents.telegram_user_id").
_SQLITE_REFUSAL = re.compile(r"\b((?:UNIQUE|NOT NULL|CHECK|FOREIGN KEY) constraint failed"
                             r"(?:: [\w.]+(?:, [\w.]+)*)?)")
_PG_FIELDS = ("sqlstate", "constraint_name", "column_name", "table_name", "data_type_name")


def reason(error: BaseException) -> str:
    """What failed, safe to log: the exception's class and a reason that carries no values —
    the errno name of an OS error, Telegram's description of a refused call, the SQLSTATE,
    constraint, table and column a database refused. Never the message itself where it could
    quote SQL parameters, a URL with the token or what a resident wrote."""
    parts = []
    for cause in [error, *_causes(error)]:
        parts += _about(cause)
    return " ".join(dict.fromkeys(parts))


def _about(error: BaseException) -> list[str]:
    """What one exception (not its causes) says safely."""
    parts = [type(error).__name__]
    telegram = getattr(error, "message", None)
    if type(error).__module__ == "bot.telegram.transport" and isinstance(telegram, str):
        parts.append(telegram[:200])  # Telegram's own description, never a URL
    parts += _errno(error)
    sqlite_name = getattr(error, "sqlite_errorname", None)
    if isinstance(sqlite_name, str):
        parts.append(sqlite_name)
        if refusal := _SQLITE_REFUSAL.search(str(error)):
            parts.append(refusal.group(1))
    parts += [f"{field.removesuffix('_name')}={value}" for field in _PG_FIELDS
              if isinstance(value := getattr(error, field, None), str) and value]
    return parts


def _errno(error: BaseException) -> list[str]:
    code = error.errno if isinstance(error, OSError) else None
    return [errno.errorcode[code]] if code is not None and code in errno.errorcode else []


def _causes(error: BaseException) -> list[BaseException]:
    """The chain below an error: SQLAlchemy's `orig`, the driver's cause, and so on."""
    found: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and len(found) < 5:
        below = getattr(current, "orig", None)
        current = below if isinstance(below, BaseException) else (
            current.__cause__ or current.__context__)
        if current is not None and current not in found:
            found.append(current)
    return found
