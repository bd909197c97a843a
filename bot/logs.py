"""Logging set-up: one line per update, and secrets never reach the log."""

from __future__ import annotations

import errno
import logging
import re

_secrets: set[str] = set()


def redact(secret: str) -> None:
    """Register a secret (the bot token) that must never appear in a log line."""
    if len(secret) > 8:
        _secrets.add(secret)


class RedactSecrets(logging.Filter):
    """Defence in depth: whatever a library logs, registered secrets are masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not _secrets:
            return True
        message = record.getMessage()
        if record.exc_info:
            message += "\n" + logging.Formatter().formatException(record.exc_info)
            record.exc_info, record.exc_text = None, None
        for secret in _secrets:
            message = message.replace(secret, "<secret>")
        record.msg, record.args = message, None
        return True


def setup(level: int = logging.INFO) -> None:
    # the process id tells one worker's lines from another's
    logging.basicConfig(level=level,
                        format="%(asctime)s %(levelname)s [%(process)d] %(name)s %(message)s")
    logging.getLogger("aiogram.event").setLevel(logging.WARNING)  # we log one line per update
    for handler in logging.getLogger().handlers:
        handler.addFilter(RedactSecrets())


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
    parts = [type(error).__name__]
    telegram = getattr(error, "message", None)
    if type(error).__module__ == "bot.telegram.transport" and isinstance(telegram, str):
        parts.append(telegram[:200])  # Telegram's own description, never a URL
    for cause in [error, *_causes(error)]:
        name = type(cause).__name__
        if name not in parts:
            parts.append(name)
        parts += _errno(cause)
        sqlite_name = getattr(cause, "sqlite_errorname", None)
        if isinstance(sqlite_name, str):
            parts.append(sqlite_name)
            if refusal := _SQLITE_REFUSAL.search(str(cause)):
                parts.append(refusal.group(1))
        parts += [f"{field.removesuffix('_name')}={value}" for field in _PG_FIELDS
                  if isinstance(value := getattr(cause, field, None), str) and value]
    return " ".join(dict.fromkeys(parts))


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
