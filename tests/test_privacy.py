"""Personal data's pure parts: the office's notice file, the retention arithmetic, the split
of a copy's evidence into ZIP parts."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.settings import ConfigError, OfficeSettings
from locales import gettext_for
from storage.models import Attachment, Ticket
from tickets.erasure import months_before
from tickets.personal_copy import parts_of
from tickets.privacy import NoticeError, PrivacyNotice, Retention, notice_from


def test_the_built_in_notice_names_the_periods_in_force_in_each_language() -> None:
    notice = PrivacyNotice(retention=Retention(evidence_months=6, resident_years=2))
    assert "6 months" in notice.text("en", gettext_for("en"))
    assert "6 个月" in notice.text("zh_Hans", gettext_for("zh_Hans"))
    assert "/forget" in notice.text("ru", gettext_for("ru"))


def test_an_office_notice_file_is_read_and_checked(tmp_path: Path) -> None:
    notice = notice_from({"version": "2027-01", "text": {"zh_Hans": "告知", "en": "Notice"}},
                         Retention())
    assert (notice.version, notice.text("ru", gettext_for("ru"), "zh_Hans")) == ("2027-01", "告知")
    assert notice.agreed_by("2027-01") and not notice.agreed_by("residesk-2026-12")
    for broken, says in (({"text": {"en": "x"}}, "version"),
                         ({"version": "1", "text": {}}, "at least one language"),
                         ({"version": "1", "text": {"fr": "x"}}, "not a language"),
                         ({"version": "1", "text": {"en": " "}}, "empty"),
                         ({"version": "1", "text": {"en": "x" * 4001}}, "4,000")):
        with pytest.raises(NoticeError, match=says):
            notice_from(broken, Retention())
    file = tmp_path / "privacy.toml"
    file.write_text('version = ""\n[text]\nen = "x"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"PRIVACY_NOTICE_FILE .*version"):
        OfficeSettings(privacy_notice_file=file).privacy()
    example = Path(__file__).parent.parent / "privacy.example.toml"
    assert OfficeSettings(privacy_notice_file=example).privacy().version == "2027-01"


def test_months_before_keeps_the_day_or_takes_the_months_last() -> None:
    assert months_before(datetime(2026, 12, 4, 9, tzinfo=UTC), 24) == datetime(
        2024, 12, 4, 9, tzinfo=UTC)
    assert months_before(datetime(2026, 3, 31, tzinfo=UTC), 1) == datetime(2026, 2, 28,
                                                                            tzinfo=UTC)
    assert months_before(datetime(2026, 1, 15, tzinfo=UTC), 13) == datetime(2024, 12, 15,
                                                                             tzinfo=UTC)


def test_a_copys_evidence_is_split_below_the_limit() -> None:
    ticket = Ticket(number="2612-0001")
    ticket.attachments = [Attachment(id=i, kind="photo", size=size, local_path=f"/m/{i}.jpg")
                          for i, size in enumerate((30, 30, 50, 10, 90), start=1)]
    ticket.attachments.append(Attachment(id=9, kind="photo", size=5, local_path=None))
    assert parts_of([ticket], limit=100) == [(1, 2), (3, 4), (5,)]
    assert parts_of([Ticket(number="x", attachments=[])]) == []
