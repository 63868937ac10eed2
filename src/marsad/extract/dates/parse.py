"""Reading ONE date string as printed on Arabic pages: :func:`parse_arabic_date` (see :mod:`marsad.extract.dates`
for the forms and the rules). Month names are data: ``months.yaml`` next to this module."""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml
from hijridate import Hijri

from marsad.text.fold import LETTER_TABLE, PUNCTUATION_ASCII

log = logging.getLogger(__name__)

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

MONTHS_FILE = Path(__file__).with_name("months.yaml")
"""Month names (folded spellings) per calendar and month number: data, with the sources of each group in the file."""


def _load_months(path: Path = MONTHS_FILE) -> tuple[dict[int, tuple[str, ...]], dict[int, tuple[str, ...]]]:
    """``(gregorian, hijri)``: month number → names, from ``path``. Raises ``ValueError`` when a calendar does not
    list months 1–12."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    out = []
    for calendar in ("gregorian", "hijri"):
        table = {int(n): tuple(str(x) for x in names) for n, names in data[calendar].items()}
        if sorted(table) != list(range(1, 13)):
            raise ValueError(f"{path}: {calendar} must list months 1-12, has {sorted(table)}")
        out.append(table)
    return out[0], out[1]


_GREGORIAN_MONTHS, _HIJRI_MONTHS = _load_months()


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
    rf"(?<!\d)(?P<d>\d{{1,2}})(?:\s*(?:من|,|/|-)\s*|\s*)(?P<m>{_GREG})"
    rf"(?:\s*[/\-]\s*(?:{_GREG})|\s*\(\s*(?:{_GREG})\s*\))?"
    rf"\s*[,/\-]?\s*(?:(?:سنه|عام)\s+)?(?P<y>\d{{4}})(?!\d)"
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


_YEAR_DIGITS = re.compile(r"\d{4}")
"""Every absolute date pattern above (``_ISO``, ``_YMD``, ``_DMY``, ``_DMY_TEXT``, ``_MDY_TEXT``, ``_HIJRI``) writes
its year as four consecutive digits: a text without four consecutive digits holds no absolute date, and the scans are
skipped (one search instead of six; most dateline texts and the free text after a headline have no year). A pattern
added with a shorter year must drop this shortcut (tests/unit/test_dates_year_shortcut_covers_every_pattern.py)."""


def _gregorian_matches(s: str) -> Iterator[_Parsed]:
    """Every absolute Gregorian date in normalised ``s`` (unordered; callers sort by ``start``)."""
    if not _YEAR_DIGITS.search(s):
        return
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
    if not _YEAR_DIGITS.search(s):
        return
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
