"""Checking a Telegram Mini App's launch data (initData), as Telegram documents it.

https://core.telegram.org/bots/webapps#validating-data-received-via-the-mini-app — the data is a
query string; its `hash` is HMAC-SHA256 over the other fields as sorted `key=value` lines, with
the key HMAC-SHA256(key="WebAppData", msg=bot token). Only the bot's token can make it, so
data that checks out says which Telegram user opened the console, and when (`auth_date`).

Written here rather than taken from aiogram (`aiogram.utils.web_app`): web/ imports no Telegram
framework, and the age check is ours either way.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from urllib.parse import parse_qsl

MAX_AGE = timedelta(hours=24)
CLOCK_SKEW = timedelta(minutes=5)  # an auth_date this far ahead of our clock is still taken
MAX_LENGTH = 8192  # Telegram's initData is well under 1 kB plus the user's photo URL


class Refusal(StrEnum):
    """Why launch data was not taken (logged; never the data itself)."""

    MALFORMED = "malformed"
    NO_HASH = "no hash"
    BAD_HASH = "bad hash"
    STALE = "older than 24 hours"
    FUTURE = "auth_date in the future"
    NO_USER = "no user"


class InitDataRefused(Exception):
    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.value)
        self.refusal = refusal


@dataclass(frozen=True)
class WebAppUser:
    """Who opened the Mini App, as signed by Telegram."""

    id: int
    first_name: str
    language_code: str | None
    auth_date: datetime


def secret_key(bot_token: str) -> bytes:
    return hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()


def verify_init_data(init_data: str, bot_token: str, now: datetime) -> WebAppUser:
    """The user of this launch data, or InitDataRefused."""
    if not init_data or len(init_data) > MAX_LENGTH:
        raise InitDataRefused(Refusal.MALFORMED)
    try:
        pairs = parse_qsl(init_data, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        raise InitDataRefused(Refusal.MALFORMED) from None
    fields = dict(pairs)
    if len(fields) != len(pairs):  # a field given twice: which one was signed?
        raise InitDataRefused(Refusal.MALFORMED)
    received = fields.pop("hash", None)
    if not received:
        raise InitDataRefused(Refusal.NO_HASH)
    check_string = "\n".join(f"{key}={value}" for key, value in sorted(fields.items()))
    expected = hmac.new(secret_key(bot_token), check_string.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, received.lower()):
        raise InitDataRefused(Refusal.BAD_HASH)
    try:
        auth_date = datetime.fromtimestamp(int(fields["auth_date"]), UTC)
    except (KeyError, ValueError, OverflowError, OSError):
        raise InitDataRefused(Refusal.MALFORMED) from None
    if now - auth_date > MAX_AGE:
        raise InitDataRefused(Refusal.STALE)
    if auth_date - now > CLOCK_SKEW:
        raise InitDataRefused(Refusal.FUTURE)
    try:
        user = json.loads(fields["user"])
        return WebAppUser(int(user["id"]), str(user.get("first_name", "")),
                          user.get("language_code"), auth_date)
    except (KeyError, ValueError, TypeError):
        raise InitDataRefused(Refusal.NO_USER) from None
