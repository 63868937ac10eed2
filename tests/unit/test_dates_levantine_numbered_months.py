"""Levantine months written with a number instead of an ordinal word.

Syrian, Lebanese, Jordanian and Iraqi pages print «كانون 2» for «كانون الثاني» (January), «تشرين 1» for «تشرين
الأول» (October) and so on, often with Eastern Arabic or Persian digits, tatweel and doubled spaces, and drop the
article («كانون ثاني», «تشرين اول»). Expected values were written by hand from the calendar (Beirut: UTC+2 in winter,
UTC+3 from the last Sunday of March to the last Sunday of October) before the code was run.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from marsad.extract.dates import find_published_at, parse_arabic_date

BEIRUT = "Asia/Beirut"
NOW = datetime(2026, 1, 16, 12, 0, tzinfo=timezone.utc)

NUMBERED = [
    # the four numbered months, ASCII digits
    ("15 كانون 2 2024", "2024-01-15T00:00:00+02:00"),
    ("1 كانون 1 2019", "2019-12-01T00:00:00+02:00"),
    ("3 تشرين 1 2023", "2023-10-03T00:00:00+03:00"),
    ("20 تشرين 2 2020", "2020-11-20T00:00:00+02:00"),
    # no space between the name and its number
    ("15 كانون2 2024", "2024-01-15T00:00:00+02:00"),
    # Eastern Arabic digits
    ("١٥ كانون ٢ ٢٠٢٤", "2024-01-15T00:00:00+02:00"),
    ("٣ تشرين ١ ٢٠٢٣", "2023-10-03T00:00:00+03:00"),
    # Persian digits (and Persian kaf)
    ("۱۵ کانون ۲ ۲۰۲۴", "2024-01-15T00:00:00+02:00"),
    ("۳ تشرین ۱ ۲۰۲۳", "2023-10-03T00:00:00+03:00"),
    # ordinal without the article
    ("7 كانون ثاني 2021", "2021-01-07T00:00:00+02:00"),
    ("9 تشرين اول 2022", "2022-10-09T00:00:00+03:00"),
    ("9 تشرين أول 2022", "2022-10-09T00:00:00+03:00"),
    ("12 كانون أول 2018", "2018-12-12T00:00:00+02:00"),
    ("4 تشرين ثاني 2017", "2017-11-04T00:00:00+02:00"),
    # double names with the Egyptian/Gulf month
    ("15 كانون الثاني/يناير 2024", "2024-01-15T00:00:00+02:00"),
    ("15 كانون 2/يناير 2024", "2024-01-15T00:00:00+02:00"),
    ("15 يناير / كانون 2 2024", "2024-01-15T00:00:00+02:00"),
    ("3 تشرين 1 (أكتوبر) 2023", "2023-10-03T00:00:00+03:00"),
    # tatweel and extra spaces
    ("١٥  كانـــون   ٢   ٢٠٢٤", "2024-01-15T00:00:00+02:00"),
    ("3 تشريـــن   الأول 2023", "2023-10-03T00:00:00+03:00"),
    ("15\u00a0كانون\u00a02\u00a02024", "2024-01-15T00:00:00+02:00"),
    # inside a sentence, with a time
    ("نشر في 15 كانون 2 2024 الساعة ١٠:٣٠", "2024-01-15T10:30:00+02:00"),
    ("أعلنت الوزارة يوم الاثنين ١٥ كانون ٢ ٢٠٢٤، عند الساعة ١٠:٣٠ صباحاً، أن الطريق مغلق",
     "2024-01-15T10:30:00+02:00"),
    ("الثلاثاء ٣ تشرين ١ ٢٠٢٣ - ٠٤:١٥ م", "2023-10-03T16:15:00+03:00"),
]


@pytest.mark.parametrize(("text", "expected"), NUMBERED)
def test_numbered_levantine_month_gives_the_date(text: str, expected: str) -> None:
    value = parse_arabic_date(text, tz=BEIRUT, now=NOW)
    assert value is not None, text
    assert value.isoformat() == expected


NOT_DATES = [
    "15 كانون 2 300",  # a number after «كانون 2» that is not a year
    "15 كانون 2 1500 متظاهر",  # four digits, not a plausible year
    "15 كانون 2 20245",  # digits run on: not a year
    "15 كانون 22024",  # «كانون 22…»: no month number 22
    "15 كانون 3 2024",  # there is no third Kanun
    "15 تشرين 12 2024",  # nor a twelfth Tishrin
    "15 كانون 2",  # no year
    "كانون 2 2024",  # no day
    "15 كانون 2024",  # «كانون» alone is December or January: ambiguous, no guess
    "15 تشرين 2023",  # same for «تشرين»
    "اشترى 3 كانون 1 كغ فحم",  # a brazier (كانون), then a quantity
]


@pytest.mark.parametrize("text", NOT_DATES)
def test_numbered_month_lookalikes_give_no_date(text: str) -> None:
    assert parse_arabic_date(text, tz=BEIRUT, now=NOW) is None


def test_page_dateline_with_numbered_month_and_eastern_digits() -> None:
    html = ("<html><body><h1>عنوان الخبر الرئيسي في الصفحة</h1>"
            "<span class='post-date'>الاثنين ١٥ كانون ٢ ٢٠٢٤ - الساعة ١٠:٣٠</span>"
            "<p>نص الخبر يتحدث عن أحداث اليوم في المدينة.</p></body></html>")
    found = find_published_at(html, url="https://example.com/news/123", tz=BEIRUT,
                              fetched_at=datetime(2024, 1, 20, tzinfo=timezone.utc))
    assert found is not None
    assert (found.value.isoformat(), found.signal, found.precision) == ("2024-01-15T10:30:00+02:00", "dateline",
                                                                        "minute")


ABBREVIATED_AND_JOINED = [
    # one-letter abbreviations of the numbered months (Syrian papers, Lebanese news sites)
    ("15 ك2 2024", "2024-01-15T00:00:00+02:00"),
    ("1 ك1 2019", "2019-12-01T00:00:00+02:00"),
    ("3 ت1 2023", "2023-10-03T00:00:00+03:00"),
    ("20 ت 2 2020", "2020-11-20T00:00:00+02:00"),
    ("٣ ت١ ٢٠٢٣", "2023-10-03T00:00:00+03:00"),
    # day, month name and year joined by dashes or slashes
    ("15-كانون الثاني-2024", "2024-01-15T00:00:00+02:00"),
    ("15/كانون الثاني/2024", "2024-01-15T00:00:00+02:00"),
    ("3/تشرين 1/2023", "2023-10-03T00:00:00+03:00"),
]


@pytest.mark.parametrize(("text", "expected"), ABBREVIATED_AND_JOINED)
def test_abbreviated_or_dash_joined_levantine_month_gives_the_date(text: str, expected: str) -> None:
    value = parse_arabic_date(text, tz=BEIRUT, now=NOW)
    assert value is not None, text
    assert value.isoformat() == expected


@pytest.mark.parametrize("text", ["15 ك2 300", "ك2 2024", "15 ت3 2024", "كتب 15 ت 12 2024"])
def test_abbreviated_month_lookalikes_give_no_date(text: str) -> None:
    assert parse_arabic_date(text, tz=BEIRUT, now=NOW) is None
