"""The extract stage: raw page → :class:`~marsad.messages.Article` with trafilatura.

Guards before trafilatura (empty body, not HTML, feeds) discard with a reason; pages where trafilatura finds no
article body are discarded as ``no-article-text``. Dates here are trafilatura/htmldate's day-precision date,
placed at local midnight in the source's registry time zone (minute-precision Arabic dates: issue 4).
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, time
from zoneinfo import ZoneInfo

import trafilatura
from trafilatura.settings import Extractor

from marsad.crawl.registry import Source
from marsad.dedup.urls import canonical_url
from marsad.errors import Discard
from marsad.extract.decode import decode_html
from marsad.kafka.worker import Output, Record, per_record
from marsad.messages import Article, RawPage
from marsad.settings import Settings
from marsad.text.arabic import arabic_ratio, content_hash

log = logging.getLogger(__name__)

MIN_TEXT_CHARS = 80
"""Bodies shorter than this (characters) are not articles (menus, error pages, empty templates)."""

_HTML_SNIFF = re.compile(rb"<\s*(!doctype\s+html|html|head|body|article|div|p)\b", re.IGNORECASE)
_FEED_SNIFF = re.compile(rb"<\s*(rss|feed|urlset|sitemapindex)\b", re.IGNORECASE)
_LANG_ATTR = re.compile(r"<html[^>]*\blang\s*=\s*[\"']?([A-Za-z-]+)", re.IGNORECASE)

_OPTIONS = Extractor(output_format="python", with_metadata=True, comments=False, tables=False, dedup=False,
                     lang=None)
"""One trafilatura options object per process (building it per page costs time)."""


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


def extract_article(html_bytes: bytes, url: str, *, fetched_at: datetime, source: str = "file",
                    content_type: str | None = None, tz: str = "UTC", final_url: str | None = None) -> Article:
    """Turn one HTML page into an :class:`Article`.

    Raises :class:`Discard` (``empty-body``, ``not-html``, ``feed-not-article``, ``no-article-text``).
    """
    if not html_bytes.strip():
        raise Discard("empty-body")
    head = html_bytes[:2048]
    if _FEED_SNIFF.search(head) and not re.search(rb"<\s*html\b", head, re.IGNORECASE):
        raise Discard("feed-not-article")
    if not _HTML_SNIFF.search(html_bytes[:65536]):
        raise Discard("not-html")
    html, _enc = decode_html(html_bytes, content_type)
    doc = trafilatura.bare_extraction(html, url=final_url or url, options=_OPTIONS)
    text = (doc.text if doc is not None else "") or ""
    if len(text.strip()) < MIN_TEXT_CHARS:
        raise Discard("no-article-text", f"{len(text.strip())} chars")
    published_at = None
    if doc.date:
        try:
            day = datetime.strptime(doc.date[:10], "%Y-%m-%d").date()
            published_at = datetime.combine(day, time(0, 0), ZoneInfo(tz))
        except ValueError:
            log.warning("unparsable date %r on %s", doc.date, url)
    return Article(
        url=url,
        canonical_url=canonical_url(final_url or url),
        source=source,
        title=(doc.title or None),
        text=text,
        published_at=published_at,
        fetched_at=fetched_at,
        language=detect_language(text, html),
        sitename=doc.sitename or None,
        content_hash=content_hash(text),
    )


class ExtractStage:
    """Kafka stage: raw-pages record → one articles record (key = canonical URL)."""

    name = "extract"

    def __init__(self, settings: Settings, sources: list[Source] | None = None) -> None:
        self.settings = settings
        self.timezones = {s.name: s.timezone for s in (sources or [])}
        self.process_batch = per_record(self._one, self.name)

    def _one(self, rec: Record) -> list[Output]:
        page = RawPage.from_kafka(rec.value, rec.headers)
        m = page.meta
        article = extract_article(page.body, m.url, fetched_at=m.fetched_at, source=m.source,
                                  content_type=m.headers.get("content-type"),
                                  tz=self.timezones.get(m.source, "UTC"), final_url=m.final_url)
        return [Output(self.settings.articles_topic, article.canonical_url.encode(), article.to_json())]
