"""Dates for people (locales/dates.py): the desk's numeric forms in every language, CLDR's own
forms on request, our language codes read as Babel locales, and no naive instant."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.statistics.report import chart_labels
from locales import SUPPORTED
from locales.dates import BABEL_LOCALES, babel_locale, format_day, format_month_day, format_when

SHANGHAI = ZoneInfo("Asia/Shanghai")
MOMENT = datetime(2026, 11, 4, 18, 30, tzinfo=UTC)  # Nov 5, 02:30 in Shanghai
DAY = date(2026, 11, 5)


def test_every_supported_language_has_a_babel_locale() -> None:
    assert set(BABEL_LOCALES) == set(SUPPORTED)
    assert str(babel_locale("zh_Hans")) == "zh_Hans_CN"
    assert str(babel_locale("fr")) == "en"  # as gettext_for: unknown codes read English


@pytest.mark.parametrize("lang", SUPPORTED)
def test_the_numeric_forms_are_the_same_in_every_language(lang: str) -> None:
    assert format_when(MOMENT, lang, SHANGHAI) == "2026-11-05 02:30"  # the office's clock
    assert format_when(MOMENT, lang, ZoneInfo("UTC")) == "2026-11-04 18:30"
    assert format_day(DAY, lang) == "2026-11-05"
    assert format_when(MOMENT, lang, SHANGHAI, "MM-dd HH:mm") == "11-05 02:30"


def test_the_languages_own_forms() -> None:
    assert [format_day(DAY, lang, "medium") for lang in SUPPORTED] == [
        "Nov 5, 2026", "2026年11月5日", "5 нояб. 2026\u202fг."]  # CLDR: a narrow no-break space
    assert [format_month_day(DAY, lang) for lang in SUPPORTED] == ["Nov 5", "11月5日", "5 нояб."]
    assert format_when(MOMENT, "ru", SHANGHAI, "short") == "05.11.2026, 02:30"


def test_an_instant_must_know_its_zone_and_a_day_is_a_date() -> None:
    with pytest.raises(ValueError, match="naive"):
        format_when(datetime(2026, 11, 5, 10, 0), "en", SHANGHAI)  # noqa: DTZ001 - the point
    with pytest.raises(TypeError):
        format_day(MOMENT, "en")
    with pytest.raises(TypeError):
        format_month_day(MOMENT, "en")


def test_the_charts_write_their_days_in_the_reports_language() -> None:
    assert [chart_labels(lang).lang for lang in SUPPORTED] == list(SUPPORTED)
