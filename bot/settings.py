"""Configuration from the environment or `.env`, split by concern."""

from __future__ import annotations

import logging
import re
import tomllib
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Literal, TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from pydantic import (
    AfterValidator,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from locales import SUPPORTED
from storage.db import POOL_SIZE
from tickets.policy import DEFAULT_PHONE_REGION, Timing
from tickets.privacy import NoticeError, PrivacyNotice, Retention, notice_from
from tickets.questions import QuestionsError, QuestionSet, questions_from
from tickets.sla import SlaError, policy_from

TransportName = Literal["aiogram", "ptb"]
ENV = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")
TOKEN_PATTERN = r"^\d{3,}:[A-Za-z0-9_-]{10,}$"


def _strip_slash(url: str) -> str:
    if not url.startswith(("http://", "https://")):
        raise ValueError("must start with http:// or https://")
    return url.rstrip("/")


def _token_shape(token: SecretStr) -> SecretStr:
    if not re.fullmatch(TOKEN_PATTERN, token.get_secret_value()):
        raise ValueError("malformed")  # `explain` words it, without the token
    return token


class TelegramSettings(BaseSettings):
    model_config = ENV
    # a SecretStr: printed, logged or put in an error it reads **********
    bot_token: Annotated[SecretStr, AfterValidator(_token_shape)]
    telegram_api_url: Annotated[str, AfterValidator(_strip_slash)] = "https://api.telegram.org"
    transport: TransportName = "aiogram"  # which framework speaks to Telegram
    # messages a minute one private chat may send; past it one "please slow down", then the
    # chat is not read until it calms down (0: no limit)
    flood_limit: Annotated[int, Field(ge=0)] = 30


class HttpSettings(BaseSettings):
    """`residesk serve`: where it listens, and Telegram's webhook (polling without one)."""

    model_config = ENV
    http_host: str = "127.0.0.1"
    http_port: Annotated[int, Field(ge=0, le=65535)] = 8080
    webhook_url: str = ""  # the public HTTPS URL Telegram posts to; its path is served
    webhook_secret: Annotated[str, Field(repr=False)] = ""

    @model_validator(mode="after")
    def _secret_with_url(self) -> HttpSettings:
        if self.webhook_url:
            if not self.webhook_url.startswith(("https://", "http://")):
                raise ValueError("WEBHOOK_URL must start with https://")
            if not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", self.webhook_secret):
                raise ValueError("WEBHOOK_SECRET is required with WEBHOOK_URL: 1 to 256 of "
                                 "A-Z a-z 0-9 _ -")
        return self

    @property
    def webhook_path(self) -> str:
        return urlsplit(self.webhook_url).path or "/"


class ConsoleSettings(BaseSettings):
    """The office console (`residesk serve`, under /console/)."""

    model_config = ENV
    # the console's public address as staff open it, e.g. https://desk.example.com/console/;
    # the bot's "Open in console" buttons and sign-in links point here (empty: no buttons)
    console_url: str = ""
    console_session_hours: Annotated[float, Field(gt=0, le=24 * 30)] = 12.0

    @model_validator(mode="after")
    def _address(self) -> ConsoleSettings:
        if self.console_url:
            if not self.console_url.startswith(("https://", "http://")):
                raise ValueError("CONSOLE_URL must start with https://")
            self.console_url = self.console_url.rstrip("/")
        return self

    def link(self, path: str = "") -> str:
        """An address in the console: link("tickets/12") → https://…/console/tickets/12."""
        return f"{self.console_url}/{path.lstrip('/')}"

    @property
    def secure(self) -> bool:
        """Cookies only over HTTPS (a console behind a TLS proxy says so in CONSOLE_URL)."""
        return self.console_url.startswith("https://")


class LogSettings(BaseSettings):
    """What the log shows (docs/running.md#logs): never names, phones or message text."""

    model_config = ENV
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # the key of the chats' refs in the log; none: derived from BOT_TOKEN (a new token then
    # gives every chat a new ref)
    log_key: Annotated[SecretStr | None, Field(repr=False)] = None
    # the libraries' own debug output (Telegram frameworks, HTTP, SQL): it holds message text,
    # names and phone numbers, so it is off unless an operator turns it on for a while
    log_library_debug: bool = False

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("log_key", mode="before")
    @classmethod
    def _empty_key(cls, value: object) -> object:
        return None if value == "" else value

    @property
    def level(self) -> int:
        return logging.getLevelNamesMapping()[self.log_level]

    @property
    def key(self) -> str | None:
        return self.log_key.get_secret_value() if self.log_key is not None else None


class DatabaseSettings(BaseSettings):
    model_config = ENV
    database_url: str = "sqlite+aiosqlite:///residesk.db"
    # PostgreSQL connections each process keeps open (no overflow: a burst waits for one)
    database_pool_size: int = Field(default=POOL_SIZE, ge=1, le=200)

    @field_validator("database_url")
    @classmethod
    def _known_backend(cls, url: str) -> str:
        if not url.startswith(("sqlite", "postgres")):
            raise ValueError("must be a sqlite:/// or postgresql:// URL")
        return url


class OfficeSettings(BaseSettings):
    model_config = ENV
    staff_chat_id: int | None = None
    default_language: str = "en"
    emergency_phone: str = ""
    office_timezone: str = "Asia/Shanghai"
    # how a phone number typed without a country code is read (ISO 3166 region: CN, RU, …)
    phone_region: str = DEFAULT_PHONE_REGION
    media_dir: Path = Path("media")
    # a picture is stored without its location and camera data; true: the file as received
    # is kept as well, under MEDIA_DIR/originals (for an office that must keep it unaltered)
    keep_original_files: bool = False
    # the satisfaction survey: one reminder after this many hours, then closed after as many more
    survey_reminder_hours: Annotated[float, Field(gt=0)] = 48.0
    survey_close_hours: Annotated[float, Field(gt=0)] = 72.0
    # disputes (neighbour, noise): the complainant's name and phone are left off the card
    # in the staff group and off the console for agents; managers see them in the console
    dispute_hide_complainant: bool = False
    # the call-back (回访): this many days after a ticket closes the resident is asked whether
    # the problem stays solved (per category in the SLA file; 0: never)
    follow_up_days: Annotated[int, Field(ge=0, le=366)] = 7
    # deadlines, office hours, days off, repeat window (see sla.example.toml); none: defaults
    sla_file: Path | None = None
    # the questions each category asks after the description (see questions.example.toml);
    # none: the built-in ones (noise, water, electricity, facility fault)
    questions_file: Path | None = None
    # the weekly report to the staff group: on this day ("off": none) at this hour, office time
    weekly_report_day: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun", "off"] = "mon"
    weekly_report_hour: Annotated[int, Field(ge=0, le=23)] = 9
    # personal data: the privacy notice residents agree to (a TOML file with a version and a
    # text per language; none: the built-in one), and how long what they gave is kept
    privacy_notice_file: Path | None = None
    evidence_retention_months: Annotated[int, Field(ge=1, le=1200)] = 24
    resident_retention_years: Annotated[int, Field(ge=1, le=100)] = 3
    # a font with Chinese glyphs for the charts (found by itself when one is installed, e.g.
    # Debian's fonts-noto-cjk); without one, charts are drawn with English labels
    chart_font: Path | None = None

    def timing(self) -> Timing:
        """How long the office takes and waits: the survey settings and the SLA file."""
        timezone = ZoneInfo(self.office_timezone)
        sla = policy_from({}, timezone)  # the defaults, with the country's public holidays
        if self.sla_file is not None:
            try:
                sla = policy_from(tomllib.loads(self.sla_file.read_text(encoding="utf-8")),
                                  timezone)
            except OSError as error:
                raise ConfigError(f"SLA_FILE {self.sla_file} cannot be read: "
                                  f"{error.strerror}") from None
            except (tomllib.TOMLDecodeError, SlaError) as error:
                raise ConfigError(f"SLA_FILE {self.sla_file}: {error}") from None
        return Timing(survey_reminder_after=timedelta(hours=self.survey_reminder_hours),
                      survey_close_after=timedelta(hours=self.survey_close_hours),
                      call_back_days=self.follow_up_days, sla=sla)

    def questions(self) -> QuestionSet:
        """The per-category questions: the built-in ones, or QUESTIONS_FILE's."""
        if self.questions_file is None:
            return QuestionSet()
        try:
            return questions_from(tomllib.loads(self.questions_file.read_text(encoding="utf-8")))
        except OSError as error:
            raise ConfigError(f"QUESTIONS_FILE {self.questions_file} cannot be read: "
                              f"{error.strerror}") from None
        except (tomllib.TOMLDecodeError, QuestionsError) as error:
            raise ConfigError(f"QUESTIONS_FILE {self.questions_file}: {error}") from None

    def privacy(self) -> PrivacyNotice:
        """The privacy notice: PRIVACY_NOTICE_FILE's, or the built-in one; with the retention."""
        retention = Retention(self.evidence_retention_months, self.resident_retention_years)
        if self.privacy_notice_file is None:
            return PrivacyNotice(retention=retention)
        try:
            return notice_from(tomllib.loads(
                self.privacy_notice_file.read_text(encoding="utf-8")), retention)
        except OSError as error:
            raise ConfigError(f"PRIVACY_NOTICE_FILE {self.privacy_notice_file} cannot be read: "
                              f"{error.strerror}") from None
        except (tomllib.TOMLDecodeError, NoticeError) as error:
            raise ConfigError(f"PRIVACY_NOTICE_FILE {self.privacy_notice_file}: {error}"
                              ) from None

    @field_validator("default_language")
    @classmethod
    def _supported(cls, lang: str) -> str:
        if lang not in SUPPORTED:
            raise ValueError(f"must be one of {', '.join(SUPPORTED)}")
        return lang

    @field_validator("phone_region")
    @classmethod
    def _region(cls, region: str) -> str:
        region = region.strip().upper()
        if region not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError("give a two-letter region such as CN or RU")
        return region

    @field_validator("office_timezone")
    @classmethod
    def _timezone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError("unknown time zone") from error
        return name

    @field_validator("staff_chat_id", "sla_file", "chart_font", "privacy_notice_file",
                     mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if value == "" else value


class ConfigError(Exception):
    """One clear line naming the setting that is missing or wrong."""


def explain(error: ValidationError) -> ConfigError:
    first = error.errors()[0]
    if not first["loc"]:  # a rule across settings: its message names them
        return ConfigError(str(first["msg"]).removeprefix("Value error, "))
    name = str(first["loc"][0]).upper()
    if first["type"] == "missing":
        return ConfigError(f"{name} is not set (put it in the environment or in .env)")
    if name == "BOT_TOKEN":  # never echo the token itself
        return ConfigError("BOT_TOKEN is malformed (expected something like 123456:ABC-DEF…)")
    return ConfigError(f"{name} is invalid: {first['msg']}")


SettingsT = TypeVar("SettingsT", bound=BaseSettings)


def load(kind: type[SettingsT], **overrides: object) -> SettingsT:
    try:
        # field values, as pydantic takes them (**values: Any); mypy matches them against
        # BaseSettings' own typed keywords (_env_file, _case_sensitive...) too
        return kind(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        raise explain(error) from None
