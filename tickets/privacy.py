"""Personal data (PIPL art. 14–17, 45, 47; GDPR art. 13, 15, 17): the privacy notice a resident
agrees to before registering, and how long what they gave is kept.

The notice is the office's own text (PRIVACY_NOTICE_FILE, one per language, with a version) or
the built-in one below, which names what is kept, why, for how long, and how to get a copy or
have it erased. A new version is agreed to again before anything else."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from locales import N_, SUPPORTED, Gettext

# the built-in notice's version: changed whenever its text says something new
BUILT_IN_VERSION = "residesk-2026-12"
VERSION_MAX = 32


class NoticeError(ValueError):
    """The office's privacy notice file is not usable; the message says why."""


@dataclass(frozen=True)
class Retention:
    """How long personal data is kept once it is no longer needed."""

    evidence_months: int = 24  # evidence files, after their ticket closed
    resident_years: int = 3  # a resident with no ticket activity is anonymised


BUILT_IN = N_(
    "🔒 How the property management office handles your personal data\n\n"
    "What we keep: your name, phone number, building and flat, your Telegram account, "
    "what you write to this desk and the photos, videos, recordings and documents you "
    "send.\n\n"
    "Why: only to receive, investigate and resolve your complaints and requests, to tell you "
    "how they go and to ask whether you were satisfied. Office staff see it; it is not "
    "given to anyone else unless the law requires it. Pictures are kept without the location "
    "and camera details your phone put in them.\n\n"
    "For how long: evidence files are deleted %(evidence_months)d months after their ticket "
    "is closed; if you have no ticket for %(resident_years)d years, your name, phone and "
    "account are erased and your old tickets kept only anonymously, for the statistics.\n\n"
    "Your rights: /privacy shows this notice again; /mydata sends you a copy of everything "
    "we keep about you; /forget erases your personal data. You can also ask at the office."
)


@dataclass(frozen=True)
class PrivacyNotice:
    version: str = BUILT_IN_VERSION
    texts: Mapping[str, str] = field(default_factory=dict)  # by language; none: built in
    retention: Retention = field(default_factory=Retention)

    def text(self, lang: str, _: Gettext, default_language: str = "en") -> str:
        """The notice in the resident's language (else the office's, else any it has)."""
        if not self.texts:
            return _(BUILT_IN) % {"evidence_months": self.retention.evidence_months,
                                  "resident_years": self.retention.resident_years}
        for candidate in (lang, default_language, "en"):
            if candidate in self.texts:
                return self.texts[candidate]
        return next(iter(self.texts.values()))

    def agreed_by(self, version: str | None) -> bool:
        return version == self.version


def notice_from(data: Mapping[str, Any], retention: Retention) -> PrivacyNotice:
    """The notice from a PRIVACY_NOTICE_FILE's TOML:

        version = "2027-01"
        [text]
        en = "…"
        zh_Hans = "…"
    """
    version = data.get("version")
    if not isinstance(version, str) or not 0 < len(version.strip()) <= VERSION_MAX:
        raise NoticeError(f"'version' must be a text of 1 to {VERSION_MAX} characters "
                          "(change it whenever the notice says something new)")
    texts = data.get("text")
    if not isinstance(texts, Mapping) or not texts:
        raise NoticeError("'[text]' must give the notice in at least one language "
                          f"({', '.join(SUPPORTED)})")
    for lang, text in texts.items():
        if lang not in SUPPORTED:
            raise NoticeError(f"[text] {lang}: not a language residesk speaks "
                              f"({', '.join(SUPPORTED)})")
        if not isinstance(text, str) or not text.strip():
            raise NoticeError(f"[text] {lang}: the notice is empty")
        if len(text) > 4000:  # one Telegram message, with the buttons' question
            raise NoticeError(f"[text] {lang}: longer than 4,000 characters, which one "
                              "Telegram message cannot hold")
    return PrivacyNotice(version.strip(), {lang: text.strip() for lang, text in texts.items()},
                         retention)
