"""The extract stage: raw page → :class:`~marsad.messages.Article` with trafilatura.

Guards before trafilatura (empty body, not HTML, feeds) discard with a reason; pages where trafilatura finds no
article body are discarded as ``no-article-text``. Dates come from :mod:`marsad.extract.dates` (JSON-LD, meta,
``<time>``, Arabic datelines, URL; naive times in the source's registry zone); aggregator attribution, disclaimers,
wire datelines and tag tails are removed from the body by :mod:`marsad.extract.boilerplate` and kept as metadata.
"""

from __future__ import annotations

import logging
import re
import signal
import threading
from contextlib import contextmanager
from datetime import datetime
from urllib.parse import urljoin, urlsplit

import trafilatura
from trafilatura.settings import Extractor
from trafilatura.utils import load_html

from marsad.crawl.registry import Source
from marsad.dedup.urls import canonical_url, looks_like_article, names_an_article_id
from marsad.errors import Discard, PermanentError, Undecodable
from marsad.extract.boilerplate import clean_body, clean_title
from marsad.extract.dates import find_published_at, parse_arabic_date
from marsad.extract.decode import decode_html, measure
from marsad.extract.metadata import page_metadata
from marsad.extract.pagetype import consent_wall, find_teasers, teaser_share
from marsad.messages import Article, RawPage
from marsad.settings import Settings
from marsad.stage import Output, Record, per_record
from marsad.text.arabic import arabic_ratio, content_hash, normalize_for_matching

log = logging.getLogger(__name__)

MAX_HTML_BYTES = 5 * 1024 * 1024
"""Pages above 5 MiB are not parsed (the fetcher's default cap; WARC replays can carry bigger records)."""

MIN_TEXT_CHARS = 80
"""Bodies shorter than this (characters) are not articles (menus, error pages, empty templates)."""

_HTML_SNIFF = re.compile(rb"<\s*(!doctype\s+html|html|head|body|article|div|p)\b", re.IGNORECASE)
_FEED_SNIFF = re.compile(rb"<\s*(rss|feed|urlset|sitemapindex)\b", re.IGNORECASE)
_LANG_ATTR = re.compile(r"<html[^>]*\blang\s*=\s*[\"']?([A-Za-z-]+)", re.IGNORECASE)

_OPTIONS = Extractor(output_format="python", fast=True, with_metadata=False, comments=False, tables=False, dedup=False,
                     lang=None)
"""One trafilatura options object per process (building it per page costs time). ``fast``: no justext/readability
fallback; metadata comes from :mod:`marsad.extract.metadata` (cheaper, same titles) — see docs/benchmarks-extract.md."""


def detect_language(text: str, html: str) -> str:
    """``ar`` when Arabic letters dominate the extracted text, else the page's ``<html lang>``, else ``und``.

    Text wins over markup because some Arabic sites declare ``lang="en-US"`` (corpus: beirutobserver).
    """
    ratio = arabic_ratio(text)
    if ratio >= 0.5:
        return "ar"
    m = _LANG_ATTR.search(html[:2000])
    if m:
        return m.group(1).split("-")[0].lower()
    return "en" if ratio == 0.0 and text else "und"


SECTION_MIN_LINES = 5
SECTION_LINK_SHARE = 0.6
"""A page whose extracted lines (≥ 5 of ≥ 15 chars) are ≥ 60 % anchor texts is a section/index page: article
paragraphs are almost never the text of a link, while a section page is a list of headlines that are links."""


APPENDED_MIN_CHARS = 400
"""An ``<article>`` element with at least this much text counts as a full article (characters)."""


def drop_appended_articles(tree, title: str | None) -> int:
    """Remove the next stories that infinite-scroll themes append to a page; returns how many were removed.

    Such pages carry several sibling ``<article>`` elements, each a full story with its own heading. The one whose
    heading matches the page title (``og:title``/``<title>``) is kept, else the first; the others are removed from
    the tree before trafilatura sees it. Nested ``<article>`` elements (comments, cards inside the story) are not
    candidates. Observed in WordPress news themes (e.g. "Ajax load next post"); a page with one article is untouched.
    """
    tops = [a for a in tree.iter("article")
            if not any(anc.tag == "article" for anc in a.iterancestors())
            and len(a.text_content()) >= APPENDED_MIN_CHARS]
    if len(tops) < 2:
        return 0
    want = normalize_for_matching(title or "")
    keep = tops[0]
    if want:
        for a in tops:
            heads = [normalize_for_matching(h.text_content()) for h in a.iter("h1", "h2")]
            if any(h and (h in want or want in h) for h in heads):
                keep = a
                break
    for a in tops:
        if a is not keep and a.getparent() is not None:
            a.getparent().remove(a)
    return len(tops) - 1


def sane_rel_canonical(tree, page_url: str) -> str | None:
    """The page's ``<link rel="canonical">`` as a canonical URL, only when it names *this* article; ``None``
    otherwise, and the fetched URL is the key.

    The canonical becomes the Kafka key and the story ``_id``, so a generic canonical would make different articles
    replace each other (seen on CMSs that point every article at its section). It is refused when

    * it is on another site (after folding ``www``/``m``/``amp`` host prefixes);
    * it does not look like an article URL (:func:`marsad.dedup.urls.looks_like_article`: the home page (CMS
      templates that point every page at ``/`` are common), a section, category, tag, language root, listing or
      paginated page) unless it is the page itself (a WordPress ``/?p=551876`` naming itself is kept);
    * it is an *ancestor* of the page's path whose last segment is words, not an id
      (:func:`marsad.dedup.urls.names_an_article_id`): ``/world-news-today/`` for
      ``/world-news-today/9876543-story`` is a section even though three words look like a slug. An ancestor
      named by an id (``/article/4081716`` for ``/article/4081716/<slug>``) is kept: it is the short form of the
      same article.

    Never raises: an unusable ``href`` is refused.
    """
    for href in tree.xpath('//link[translate(@rel, "CANONICAL", "canonical")="canonical"]/@href')[:1]:
        try:
            cand = canonical_url(urljoin(page_url, str(href).strip()))
            own = canonical_url(page_url)
        except ValueError:
            return None
        if cand == own:
            return cand
        c, o = urlsplit(cand), urlsplit(own)
        if c.hostname != o.hostname or not looks_like_article(cand):
            return None
        c_segments = [s for s in c.path.split("/") if s]
        if c_segments == [s for s in o.path.split("/") if s][: len(c_segments)] and not names_an_article_id(cand):
            return None  # an ancestor named by words, not an id: a section (``/world-news-today/``)
        return cand
    return None


def _anchor_texts(tree) -> set[str]:
    texts = set()
    for a in tree.iter("a"):
        t = " ".join(a.text_content().split())
        if len(t) >= 15:
            texts.add(t)
    return texts


def _is_link_list(text: str, anchors: set[str]) -> bool:
    lines = [" ".join(ln.split()) for ln in text.splitlines()]
    lines = [ln for ln in lines if len(ln) >= 15]
    if len(lines) < SECTION_MIN_LINES or not anchors:
        return False
    return sum(ln in anchors for ln in lines) / len(lines) >= SECTION_LINK_SHARE


def extract_article(html_bytes: bytes, url: str, *, fetched_at: datetime, source: str = "file",
                    content_type: str | None = None, tz: str = "UTC", final_url: str | None = None,
                    charset: str | None = None) -> Article:
    """Turn one HTML page into an :class:`Article`.

    Steps: guards → charset (:func:`decode_html`) → one lxml parse → publication date with its signal
    (:func:`marsad.extract.dates.find_published_at`, before trafilatura mutates the tree) → trafilatura body and
    metadata → republication boilerplate removed and kept as metadata (:mod:`marsad.extract.boilerplate`) →
    language from the text.

    ``fetched_at`` must be timezone-aware; ``tz`` is the source's IANA zone for naive page dates.
    ``charset`` is the source's override (``sources.yaml``). Raises :class:`Discard` (``empty-body``,
    ``feed-not-article``, ``not-html``, ``no-article-text``) and :class:`~marsad.errors.Undecodable` (a
    PermanentError, reason ``undecodable``) when the bytes or the extracted text are mojibake by construction.
    """
    if not html_bytes.strip():
        raise Discard("empty-body")
    if len(html_bytes) > MAX_HTML_BYTES:
        raise Discard("too-large", f"{len(html_bytes)} bytes > {MAX_HTML_BYTES}")
    head = html_bytes[:2048]
    if _FEED_SNIFF.search(head) and not re.search(rb"<\s*html\b", head, re.IGNORECASE):
        raise Discard("feed-not-article")
    if not _HTML_SNIFF.search(html_bytes[:65536]):
        raise Discard("not-html")
    html, _enc = decode_html(html_bytes, content_type, charset=charset)
    page_url = final_url or url
    tree = load_html(html)
    if tree is None:
        raise Discard("not-html", "lxml could not parse the page")
    anchors = _anchor_texts(tree)
    teasers = find_teasers(tree, page_url)  # before trafilatura and drop_appended_articles change the tree
    date = find_published_at(html, url=page_url, tz=tz, fetched_at=fetched_at, tree=tree)
    meta = page_metadata(tree, page_url)  # before trafilatura, which prunes the tree in place
    dropped = drop_appended_articles(tree, meta.title)
    doc = trafilatura.bare_extraction(tree, url=page_url, options=_OPTIONS)
    assert not isinstance(doc, dict)  # a dict only with as_dict=True; here a Document or None
    raw_text = (doc.text if doc is not None else "") or ""
    title = clean_title(meta.title) if meta.title else None
    text, attribution = clean_body(raw_text, title)
    if (wall := consent_wall(text, html)) is not None:
        raise Discard("interstitial-consent", wall)
    if len(text.strip()) < MIN_TEXT_CHARS:
        raise Discard("no-article-text", f"{len(text.strip())} chars")
    if (garbled := measure(f"{title or ''}\n{text}")).undecodable:  # e.g. «ط§ظ„» stored in a UTF-8 page
        raise Undecodable(f"extracted text is mojibake ({garbled.bad}/{garbled.words} words, {_enc})")
    if _is_link_list(text, anchors):
        raise Discard("section-page", "the extracted text is mostly link texts (a section or index page)")
    if (listing := teaser_share(text, teasers)).is_listing:
        raise Discard("section-page", listing.describe())

    original = None
    when = None
    if attribution.original_site or attribution.original_title:
        when = parse_arabic_date(attribution.original_date_text, tz=tz, now=fetched_at) \
            if attribution.original_date_text else None
        original = {"site": attribution.original_site, "title": attribution.original_title,
                    "published_at": when.date().isoformat() if when else None}
    published_at, signal, precision = (date.value, date.signal, date.precision) if date else (None, None, None)
    if published_at is None and when is not None:  # when: original["published_at"], parsed
        # the aggregator republished it on the day its header names (observed: the seed story)
        published_at = when
        signal, precision = "attribution", "day"
    tags = meta.tags + [t for t in attribution.tags if t]
    return Article(
        url=url,
        canonical_url=sane_rel_canonical(tree, page_url) or canonical_url(page_url),
        source=source,
        title=title,
        text=text,
        published_at=published_at,
        fetched_at=fetched_at,
        language=detect_language(text, html),
        sitename=meta.sitename,
        original=original,
        content_hash=content_hash(text),
        description=meta.description,
        authors=meta.authors,
        categories=meta.categories,
        tags=tags,
        image=meta.image,
        date_signal=signal,
        date_precision=precision,
        wire=attribution.wire,
        source_line=attribution.source_line,
        boilerplate_removed=sorted({name for name, _ in attribution.removed}
                                   | ({"appended-article"} if dropped else set())),
    )


class PageTimeout(Exception):
    """Raised inside :func:`extract_article` when the per-page time limit fires."""


@contextmanager
def time_limit(seconds: float):
    """Raise :class:`PageTimeout` in the current (main) thread after ``seconds`` (``SIGALRM``/``setitimer``).

    trafilatura has no timeout in library mode, so one pathological page could stall a consumer. Signals only reach
    the main thread: elsewhere (or with ``seconds <= 0``) no limit is applied — consumers run stages in their main
    thread (``marsad consume all`` starts one process per stage for this reason).
    """
    if seconds <= 0 or threading.current_thread() is not threading.main_thread():
        yield
        return

    def _fire(signum, frame):
        raise PageTimeout(f"page took longer than {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, _fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class ExtractStage:
    """Kafka stage: raw-pages record → one articles record (key = canonical URL)."""

    name = "extract"

    def __init__(self, settings: Settings, sources: list[Source] | None = None) -> None:
        self.settings = settings
        self.timezones = {s.name: s.timezone for s in (sources or [])}
        self.charsets = {s.name: s.charset for s in (sources or []) if s.charset}
        self.process_batch = per_record(self._one, self.name)

    def _one(self, rec: Record) -> list[Output]:
        page = RawPage.from_kafka(rec.value, rec.headers)
        m = page.meta
        try:
            with time_limit(self.settings.page_time_limit_s):
                article = extract_article(page.body, m.url, fetched_at=m.fetched_at, source=m.source,
                                          content_type=m.headers.get("content-type"),
                                          tz=self.timezones.get(m.source, "UTC"), final_url=m.final_url,
                                          charset=m.charset or self.charsets.get(m.source))
        except PageTimeout as exc:
            raise PermanentError("extract-timeout", f"{m.url}: {exc}") from exc
        return [Output(self.settings.articles_topic, article.canonical_url.encode(), article.to_json())]
