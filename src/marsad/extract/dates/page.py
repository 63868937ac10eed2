"""Finding a page's publication date: :func:`find_published_at` weighs the page's signals (JSON-LD, meta tags,
``<time>``, visible datelines, URL, htmldate) in order of trust; the rules and their sources are in
:mod:`marsad.extract.dates`. Each date string is read by :mod:`marsad.extract.dates.parse`."""

from __future__ import annotations

import json
import logging
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timezone
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from htmldate import find_date
from lxml import etree
from lxml import html as lxml_html

from marsad.extract import xpath
from marsad.extract.dates.parse import (
    _GMT,
    _PUBLISH_MARK,
    _UPDATE_AFTER,
    _UPDATE_MARK,
    FLOOR,
    FUTURE_SLACK,
    SIGNALS,
    DateResult,
    _aware,
    _gmt_near,
    _gregorian_matches,
    _hijri_matches,
    _last,
    _make_day,
    _normalize,
    _parse_normalized,
    _Parsed,
    _relative,
    _zone,
)

log = logging.getLogger(__name__)


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
        self._h1: etree._Element | None = None
        self._h1_found = False  # h1() looked (its answer may be None)
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
        for script in xpath.elements(_X_LD_JSON(self.tree)):
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
        for i, el in enumerate(xpath.elements(_X_META(self.tree))):
            rank = _best_rank(el)
            if rank is not None:
                found.append((rank, i, el.get("content", "")))
        for i, el in enumerate(xpath.elements(_X_PROP(self.tree))):
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
        marked: list[etree._Element] = []
        plain: list[etree._Element] = []
        for el in xpath.elements(_X_TIME(self.tree)):
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
                visible = _normalize(xpath.string(_X_TEXT(el)))[:200]
                if _GMT.search(visible):
                    gmt = _gmt_near(visible, 0, len(visible)) or timezone.utc
                    c = self._from_parsed(_Parsed(c.wall.date(), c.wall.hour, c.wall.minute, c.wall.second, gmt),
                                          "time") or c
            yield c

    def h1(self) -> etree._Element | None:
        """The headline: the first ``<h1>`` inside ``<article>``, else the first with ≥ 15 characters (short ones
        are logos), else the first."""
        if not self._h1_found:
            h1s = xpath.elements(_X_H1(self.tree)) if self.tree is not None else []
            pick = next((h for h in h1s if any(a.tag == "article" for a in h.iterancestors())), None)
            if pick is None:
                pick = next((h for h in h1s if len(xpath.string(_X_TEXT(h)).strip()) >= 15), h1s[0] if h1s else None)
            self._h1 = pick
            self._h1_found = True
        return self._h1

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
            text = xpath.string(_X_TEXT(el))
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
            urls += [u for u in xpath.strings(_X_CANONICAL(self.tree)) if isinstance(u, str)]
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
        for script in xpath.elements(_X_LD_JSON(self.tree)):
            texts.extend(_LD_MODIFIED.findall(script.text or ""))
        for el in xpath.elements(_X_MODIFIED(self.tree)):
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
