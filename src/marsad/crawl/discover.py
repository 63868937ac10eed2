"""Discovery: which article URLs of a source to fetch next, from its feeds, sitemaps and section pages.

Every feed, sitemap and section page is a *polled resource* (:class:`marsad.crawl.state.PollState`): it is asked
for only when its adaptive poll interval says so (``not-due`` otherwise), with ``If-None-Match`` /
``If-Modified-Since`` (a ``304`` costs no parsing and counts ``not-modified``). Links found are canonicalised
(:func:`marsad.dedup.urls.canonical_url`), diffed against the seen URLs, and queued in the persistent frontier;
:func:`discover` returns the source's pending frontier (oldest first, at most ``max_items``), so URLs left over by
``max_items`` or by a failed fetch run are returned again even when their feed answers 304.

Counts (``Discovery.counts``; the crawl report stores them as ``discover:<key>``) — every skipped thing has a reason:

====================  =====================================================================================
``polled``            resources answered 200 and were read
``changed``           … of which the body differed from the last poll
``not-due``           resource skipped: its next poll time is not reached
``not-modified``      resource answered 304 to the conditional GET
``http-<code>``       resource answered another status (logged, poll state unchanged: due again next run)
``refused:<reason>``  the fetcher refused the resource (SSRF guard, size, timeout…; see fetch.py)
``xml-entities``      feed or sitemap declares a DTD with entities (billion laughs, XXE): not parsed
``unreadable``        not a feed / not XML / not HTML
``undecodable``       feed, sitemap or section page whose bytes have no reading that is text (every candidate
                      charset gives mojibake, :mod:`marsad.extract.decode`): not parsed
``charset-ignored``   declared charset labels not used (unknown, bytes-to-bytes, not ASCII-compatible,
                      contradicted by valid UTF-8 or by a better Arabic reading); the resource was still read
``items``             links read from resources (feed entries, sitemap ``<url>``, section-page ``<a>``)
``no-link``           feed entries without a link
``bad-link``          links that are not absolute http(s) URLs after resolution
``duplicate-item``    links seen earlier in the same run (same canonical URL)
``already-seen``      links fetched before (and not due for re-fetch)
``too-old``           sitemap entries / child sitemaps older than ``settings.news_max_age_h``
``off-site``          sitemap entries or section-page links on another host than the source's site
``not-article``       section-page links failing :func:`looks_like_article`
``sitemap-capped``    child sitemaps beyond ``settings.sitemap_max_children``
``sitemap-too-deep``  child sitemaps beyond ``settings.sitemap_max_depth``
``new``               URLs added to the frontier in this run
``pending``           URLs returned (to fetch now)
``backlog``           URLs still pending and not leased to a worker (beyond ``max_items``: returned by later runs)
``abandoned``         pending URLs handed out ``settings.frontier_max_attempts`` times without being fetched
====================  =====================================================================================
"""

from __future__ import annotations

import gzip
import hashlib
import io
import logging
import re
import zlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from urllib.parse import urljoin, urlsplit
from xml.etree.ElementTree import Element, ParseError
from zoneinfo import ZoneInfo

import feedparser
from defusedxml import DefusedXmlException
from defusedxml import ElementTree as SafeET

from marsad.crawl.fetch import Fetcher, FetchRefused
from marsad.crawl.registry import Source
from marsad.crawl.state import worker_id
from marsad.crawl.stores import open_polls, open_seen
from marsad.dedup.urls import NON_ARTICLE_SEGMENTS, canonical_url, looks_like_article  # noqa: F401 (re-exported)
from marsad.errors import Undecodable
from marsad.settings import Settings

log = logging.getLogger(__name__)

SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
NEWS_NS = "http://www.google.com/schemas/sitemap-news/0.9"
"""Namespaces of the sitemaps.org protocol 0.9 and Google News sitemaps (``<news:publication_date>``)."""


@dataclass
class Discovery:
    """Result of one discovery pass: ``urls`` to fetch (absolute, as the resource gave them) and ``counts``."""

    urls: list[str]
    counts: Counter = field(default_factory=Counter)


# --- XML safety ---------------------------------------------------------------------------------------------

_ENTITY_DECL = re.compile(r"<!ENTITY", re.I)


def declares_entities(body: bytes) -> bool:
    """True when the XML document ``body`` has a DTD declaring entities or referencing external ones.

    The check parses with defusedxml (expat stopped at the first entity declaration, nothing expanded); a document
    expat cannot parse (feedparser is lenient with broken feeds) is searched for ``<!ENTITY`` in its text instead.
    Feeds legitimately carry a bare ``<!DOCTYPE rss PUBLIC …>`` (RSS 0.91): that is not refused.
    """
    try:
        SafeET.fromstring(body, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        return True
    except ParseError:
        if body.startswith((b"\xff\xfe", b"\xfe\xff")):
            text = body.decode("utf-16", errors="replace")
        else:
            text = body.decode("utf-8", errors="replace")
        return _ENTITY_DECL.search(text) is not None
    return False


def _gunzip(body: bytes, cap: int) -> bytes:
    """Decompress a gzip body (``sitemap.xml.gz``) to at most ``cap`` bytes; ``ValueError`` beyond (a bomb)."""
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    out = d.decompress(body, cap + 1)
    if len(out) > cap:
        raise ValueError(f"gzip sitemap inflates beyond {cap} bytes")
    return out


# --- section-page heuristic: the article-URL test lives with the other URL knowledge in marsad.dedup.urls ----------

def site_host(url: str) -> str:
    """Host of ``url`` lower-cased without a leading ``www.``: the unit of "same site"."""
    host = (urlsplit(url).hostname or "").lower()
    return host[4:] if host.startswith("www.") else host


def same_site(url: str, site: str) -> bool:
    """True when ``url``'s host is the site's host or one of its subdomains (``www.`` ignored on both)."""
    h, s = site_host(url), site_host(site)
    return bool(h) and (h == s or h.endswith("." + s))


def section_links(body: bytes, page_url: str, site: str, counts: Counter,
                  content_type: str | None = None, charset: str | None = None) -> list[str]:
    """Absolute same-site article links of the HTML page ``body`` served at ``page_url``.

    The body is decoded like an article page (:func:`marsad.extract.decode.decode_html`: BOM, the ``content_type``
    header's charset, ``<meta>``, detection): given raw bytes without a ``<meta charset>`` lxml reads Latin-1, and
    every raw Arabic ``href`` became a mojibake URL that does not exist. ``charset`` is the source's override
    (``sources.yaml``); a page without a reading that is text counts ``undecodable`` and yields no links.

    Relative links are resolved against ``<base href>`` or ``page_url``; fragments dropped; ``javascript:``,
    ``mailto:`` and the like counted ``bad-link``; other hosts ``off-site``; listings ``not-article``.
    """
    import lxml.etree
    import lxml.html

    from marsad.extract import xpath
    from marsad.extract.decode import decode_page

    try:
        decoded = decode_page(body, content_type, charset=charset)
    except Undecodable as exc:
        counts["undecodable"] += 1
        log.error("section page %s: %s", page_url, exc)
        return []
    _count_ignored(decoded, page_url, counts)
    text = decoded.text
    try:  # bytes in a known encoding: lxml refuses str carrying an XML encoding declaration
        doc = lxml.html.document_fromstring(text.encode("utf-8"), parser=lxml.html.HTMLParser(encoding="utf-8"))
    except (lxml.etree.ParserError, ValueError) as exc:
        counts["unreadable"] += 1
        log.warning("section page %s unreadable: %s", page_url, exc)
        return []
    base = page_url
    for b in xpath.elements(doc.xpath("//base[@href]"))[:1]:
        base = _join(page_url, b.get("href", "").strip()) or page_url
    out = []
    for a in xpath.elements(doc.xpath("//a[@href]")):
        href = a.get("href", "").strip()
        if not href or href.startswith("#"):
            continue
        counts["items"] += 1
        link = _join(base, href)
        if link is not None:
            link = link.split("#", 1)[0]
        if link is None or urlsplit(link).scheme not in ("http", "https"):
            counts["bad-link"] += 1
        elif not same_site(link, site):
            counts["off-site"] += 1
        elif not looks_like_article(link):
            counts["not-article"] += 1
        else:
            out.append(link)
    return out


# --- feeds and sitemaps -------------------------------------------------------------------------------------

def _count_ignored(decoded, url: str, counts: Counter) -> None:
    if decoded.ignored:
        counts["charset-ignored"] += len(decoded.ignored)
        log.warning("%s: charset declarations not used: %s", url, "; ".join(decoded.ignored))


def xml_input(body: bytes, url: str, counts: Counter, content_type: str | None = None,
              charset: str | None = None) -> bytes | None:
    """The feed or sitemap ``body`` as UTF-8 bytes with a true ``encoding="utf-8"`` declaration
    (:func:`marsad.extract.decode.decode_xml`: BOM, source override, HTTP charset, XML declaration, valid UTF-8,
    Arabic-aware detection), or ``None`` (counted ``undecodable``). Broken labels in the XML declaration
    (``windows1256``, ``cp-1256``, ``x-cp1256``, ``ISO-8859-6-I``, ``hex``) are resolved or ignored
    (``charset-ignored``) before the XML parser sees them: handed to expat they raise ``LookupError``, which would end
    the source's whole discovery pass."""
    from marsad.extract.decode import decode_xml

    try:
        data, decoded = decode_xml(body, content_type, charset=charset)
    except Undecodable as exc:
        counts["undecodable"] += 1
        log.error("%s: %s", url, exc)
        return None
    _count_ignored(decoded, url, counts)
    return data


def feed_links(body: bytes, feed_url: str, counts: Counter, content_type: str | None = None,
               charset: str | None = None) -> list[str]:
    """Item links of an RSS 0.9x/1.0/2.0 or Atom document (feedparser), relative links resolved.

    Refuses (``xml-entities``) a document declaring entities (:func:`declares_entities`); ``unreadable`` when
    feedparser finds no entries in a broken document. The body is handed to feedparser as a stream: given raw
    ``bytes`` feedparser first tries them as a local *file name* (feedparser 6 ``_open_resource``). The bytes are
    first made UTF-8 (:func:`xml_input`; ``charset``: the source's override); ``undecodable`` when impossible.
    """
    data = xml_input(body, feed_url, counts, content_type, charset)
    if data is None:
        return []
    if declares_entities(data):
        counts["xml-entities"] += 1
        log.error("feed %s declares XML entities: not parsed", feed_url)
        return []
    media = (content_type or "application/xml").split(";", 1)[0].strip() or "application/xml"
    parsed = feedparser.parse(io.BytesIO(data), response_headers={"content-location": feed_url,
                                                                  "content-type": f"{media}; charset=utf-8"})
    if parsed.bozo and not parsed.entries:
        counts["unreadable"] += 1
        log.error("feed %s unreadable: %s", feed_url, parsed.get("bozo_exception"))
        return []
    out = []
    for entry in parsed.entries:
        link = entry.get("link")
        if not link:
            counts["no-link"] += 1
            continue
        counts["items"] += 1
        joined = _join(feed_url, link.strip())
        if joined is None:
            counts["bad-link"] += 1
            continue
        out.append(joined)
    return out


def parse_w3c_datetime(value: str | None, tz: ZoneInfo) -> datetime | None:
    """A sitemap date (W3C Datetime profile of ISO 8601: ``2026-11-29``, ``2026-11-29T10:00:00+03:00``, ``…Z``)
    as an aware datetime; naive values are read in ``tz`` (the source's zone). ``None`` if absent or unparseable."""
    if not value:
        return None
    try:
        t = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=tz)


def _join(base: str, link: str) -> str | None:
    """``urljoin(base, link)``, or ``None`` when ``link`` cannot be parsed (``http://[bad``: urllib raises
    ``ValueError`` on an unclosed IPv6 bracket or an invalid port) — one bad link must not fail the discovery — or
    when the result is not an http(s) URL with a host (``ht4p://``, ``ftp://``, ``http:///path``: found by the fuzzer,
    tests/unit/test_discovery_non_web_links.py)."""
    try:
        out = urljoin(base, link)
        parts = urlsplit(out)
        parts.port  # noqa: B018  (raises ValueError on a port out of range)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return out


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _child_text(el: Element, ns: str, name: str) -> str | None:
    found = el.find(f"{{{ns}}}{name}")
    if found is None:
        found = el.find(name)  # sitemaps written without the namespace
    return found.text.strip() if found is not None and found.text else None


# --- the pass -----------------------------------------------------------------------------------------------

class _Pass:
    def __init__(self, settings: Settings, source: Source, now: datetime) -> None:
        self.settings, self.source, self.now = settings, source, now
        self.counts: Counter = Counter()
        self.links: list[str] = []
        self.tz = ZoneInfo(source.timezone)
        self.cutoff = now - timedelta(hours=settings.news_max_age_h)
        self.visited: set[str] = set()
        self.content_type: str | None = None
        """``Content-Type`` of the last resource polled (a section page is decoded with its charset)."""
        min_s = max(settings.poll_min_interval_s, source.poll_min_interval_s or 0)
        self.polls = open_polls(settings, min_s, max(min_s, settings.poll_max_interval_s))
        self.fetcher = Fetcher(settings, source)

    def close(self) -> None:
        self.fetcher.close()
        self.polls.close()

    def poll(self, url: str, kind: str) -> tuple[bytes, object, str] | None:
        """GET ``url`` if due; returns ``(body, record, final_url)`` where ``record()`` stores the poll once its
        links are queued (so a crash in between re-polls instead of losing links), or ``None`` when there is nothing
        to read. Relative links resolve against ``final_url`` (after redirects)."""
        state = self.polls.get(url)
        if not self.polls.is_due(state, self.now):
            self.counts["not-due"] += 1
            return None
        try:
            resp, body, final = self.fetcher.get_bytes(url, headers=state.conditional_headers())
        except FetchRefused as exc:
            self.counts[f"refused:{exc.reason}"] += 1
            log.error("%s: %s %s refused: %s", self.source.name, kind, url, exc)
            return None
        if resp.status_code == 304:
            self.counts["not-modified"] += 1
            self.polls.record(state, self.source.name, changed=False, now=self.now)
            return None
        if resp.status_code != 200:
            self.counts[f"http-{resp.status_code}"] += 1
            log.error("%s: %s %s answered %s", self.source.name, kind, url, resp.status_code)
            return None
        self.counts["polled"] += 1
        self.content_type = resp.headers.get("content-type")  # the charset of a section page
        digest = hashlib.sha256(body).hexdigest()
        changed = digest != state.body_hash
        if changed:
            self.counts["changed"] += 1

        def record() -> None:
            self.polls.record(state, self.source.name, changed=changed, etag=resp.headers.get("etag"),
                              last_modified=resp.headers.get("last-modified"), body_hash=digest, now=self.now)

        return body, record, final

    def feed(self, url: str) -> None:
        got = self.poll(url, "feed")
        if got:
            body, record, final = got
            self.links += feed_links(body, final, self.counts, self.content_type, self.source.charset)
            self.pending_records.append(record)

    def section(self, url: str) -> None:
        got = self.poll(url, "section page")
        if got:
            body, record, final = got
            self.links += section_links(body, final, self.source.site, self.counts, self.content_type,
                                        self.source.charset)
            self.pending_records.append(record)

    def sitemap(self, url: str, depth: int = 1) -> None:
        if url in self.visited:
            return
        self.visited.add(url)
        got = self.poll(url, "sitemap")
        if not got:
            return
        body, record, final = got
        self.pending_records.append(record)
        if body[:2] == b"\x1f\x8b":
            try:
                body = _gunzip(body, self.settings.max_page_bytes)
            except (ValueError, zlib.error, gzip.BadGzipFile) as exc:
                self.counts["unreadable"] += 1
                log.error("%s: sitemap %s: %s", self.source.name, url, exc)
                return
        xml = xml_input(body, url, self.counts, self.content_type, self.source.charset)
        if xml is None:
            return
        try:
            root = SafeET.fromstring(xml, forbid_dtd=True, forbid_entities=True, forbid_external=True)
        except DefusedXmlException as exc:
            self.counts["xml-entities"] += 1
            log.error("%s: sitemap %s refused (%s)", self.source.name, url, type(exc).__name__)
            return
        except ParseError as exc:
            self.counts["unreadable"] += 1
            log.error("%s: sitemap %s unreadable: %s", self.source.name, url, exc)
            return
        kind = _local(root.tag)
        if kind == "sitemapindex":
            children = []
            for sm in root:
                loc = _child_text(sm, SITEMAP_NS, "loc")
                if _local(sm.tag) != "sitemap" or not loc:
                    continue
                when = parse_w3c_datetime(_child_text(sm, SITEMAP_NS, "lastmod"), self.tz)
                if when is not None and when < self.cutoff:
                    self.counts["too-old"] += 1
                    continue
                child = _join(final, loc)
                if child is None:
                    self.counts["bad-link"] += 1
                    continue
                children.append((when, child))
            if depth >= self.settings.sitemap_max_depth:
                self.counts["sitemap-too-deep"] += len(children)
                return
            far_past = datetime.min.replace(tzinfo=timezone.utc)
            children.sort(key=lambda c: c[0] or far_past, reverse=True)
            cap = self.settings.sitemap_max_children
            self.counts["sitemap-capped"] += max(0, len(children) - cap)
            for _, child in children[:cap]:
                self.sitemap(child, depth + 1)
        elif kind == "urlset":
            for u in root:
                loc = _child_text(u, SITEMAP_NS, "loc")
                if _local(u.tag) != "url" or not loc:
                    continue
                self.counts["items"] += 1
                news = u.find(f"{{{NEWS_NS}}}news")
                raw_date = _child_text(news, NEWS_NS, "publication_date") if news is not None else None
                when = parse_w3c_datetime(raw_date or _child_text(u, SITEMAP_NS, "lastmod"), self.tz)
                if when is not None and when < self.cutoff:
                    self.counts["too-old"] += 1
                    continue
                link = _join(final, loc)
                if link is None:
                    self.counts["bad-link"] += 1
                    continue
                if not same_site(link, self.source.site):  # sitemaps.org: entries on the sitemap's own site
                    self.counts["off-site"] += 1
                    continue
                self.links.append(link)
        else:
            self.counts["unreadable"] += 1
            log.error("%s: sitemap %s has root <%s>, not urlset/sitemapindex", self.source.name, url, kind)

    def run(self) -> None:
        self.pending_records: list = []
        for url in self.source.feeds:
            self.feed(url)
        for url in self.source.sitemaps:
            self.sitemap(url)
        for url in self.source.section_pages:
            self.section(url)


def discover_source(settings: Settings, source: Source, *, now: datetime | None = None) -> Discovery:
    """One discovery pass over ``source``'s feeds, sitemaps and section pages (see the module doc for counts).

    Returns the URLs pending for ``source`` (new ones and leftovers of earlier runs, oldest first, at most
    ``source.max_items``), leased to this worker (:func:`marsad.crawl.state.worker_id`) for
    ``settings.frontier_lease_s``: a discovery of the same source by another worker at the same time gets other
    URLs, never these. A resource that cannot be fetched or parsed is counted and logged; the others still
    count. Idempotent for a worker: calling it again before the fetch returns the same pending URLs (a retried
    Airflow task in the same worker does not lose or duplicate work). Raises only on an unusable crawl state
    (``OSError``, ``sqlite3.Error``; :class:`~marsad.errors.TransientError` for an unreachable PostgreSQL).
    """
    now = now or datetime.now(timezone.utc)
    p = _Pass(settings, source, now)
    seen = open_seen(settings)
    counts = p.counts
    try:
        p.run()
        fresh: dict[str, str] = {}
        for link in p.links:
            try:
                canon = canonical_url(link)
            except ValueError:
                counts["bad-link"] += 1
                log.warning("%s: bad link %r", source.name, link)
                continue
            if canon in fresh:
                counts["duplicate-item"] += 1
            elif not seen.due(canon, source.refetch_after_h, now):
                counts["already-seen"] += 1
            else:
                fresh[canon] = link
        counts["new"] += seen.enqueue(list(fresh.items()), source.name, now)
        for record in p.pending_records:  # links are durable in the frontier: now the polls may be recorded
            record()
        for link in seen.abandon(source.name, settings.frontier_max_attempts, now):
            counts["abandoned"] += 1
            log.warning("%s: %s handed out %d times without a fetch: abandoned", source.name, link,
                        settings.frontier_max_attempts)
        urls = seen.pending(source.name, source.max_items, hand_out=True, owner=worker_id(settings),
                            lease_s=settings.frontier_lease_s, now=now)
        backlog = seen.waiting(source.name, now)
    finally:
        seen.close()
        p.close()
    counts["pending"] = len(urls)
    counts["backlog"] = backlog
    log.info("%s: %d URLs to fetch (%d new, %d in backlog)", source.name, counts["pending"], counts["new"],
             counts["backlog"])
    return Discovery(urls, counts)


def discover(settings: Settings, source: Source, *, now: datetime | None = None) -> list[str]:
    """Article URLs of ``source`` to fetch now (:func:`discover_source` without the counts)."""
    return discover_source(settings, source, now=now).urls
