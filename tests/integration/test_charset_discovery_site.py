"""Broken charset labels on the discovery side, over real HTTP (the trap site's ``/cs/`` routes): feeds and sitemaps
whose XML declarations name ``windows1256``, ``cp-1256``, ``x-cp1256``, ``ISO-8859-6-I`` or ``hex`` (labels Python's
codecs answer with ``LookupError``, which would end the source's whole discovery pass, the good feed beside them
included) each yield their Arabic link, an undeclared windows-1256 section page keeps its Arabic hrefs, a section
page that is mojibake by construction is counted ``undecodable``, and crawl health names it."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from marsad.crawl.discover import discover_source
from marsad.crawl.health import assess
from marsad.crawl.registry import Source
from marsad.crawl.run import discovery_counts
from marsad.dedup.urls import canonical_url
from marsad.settings import load_settings
from tests.crawlsite.charset_routes import FEEDS

T0 = datetime.now(timezone.utc)


@pytest.fixture
def settings(tmp_path):
    return load_settings(crawl_state_dir=tmp_path / "crawl", allow_private_hosts=["127.0.0.1"],
                         poll_min_interval_s=600, poll_max_interval_s=86400, news_max_age_h=48)


def test_one_pass_reads_every_feed_whatever_its_encoding_name(settings, crawl_site):
    source = Source(name="charsets", site=crawl_site.url("/cs/"), feeds=[crawl_site.url(p) for p in FEEDS],
                    sitemaps=[crawl_site.url("/cs/sitemap-cp-1256.xml")],
                    section_pages=[crawl_site.url("/cs/section-undeclared"), crawl_site.url("/cs/section-mixed")])
    found = discover_source(settings, source, now=T0)
    slugs = [f"أخبار/2026/11/29/{slug}" for *_, slug in FEEDS.values()] + [
        "أخبار/2026/11/29/خبر-خريطة", "سياسة/2026/11/29/وفد-إلى-القاهرة", "سياسة/2026/11/29/مفاوضات-الهدنة"]
    expected = {canonical_url(crawl_site.url(f"/cs/{s}")) for s in slugs}
    assert {canonical_url(u) for u in found.urls} == expected, found.counts
    c = found.counts
    assert c["polled"] == 9 and c["undecodable"] == 1 and c["unreadable"] == 0, c
    assert c["charset-ignored"] >= 2, c  # hex (XML) and base64 (HTTP) on /cs/hex.xml

    report = {"source": "charsets", "at": T0.isoformat(), "counts": discovery_counts(c) | {"discovered": 9}}
    health = assess(source, report, T0, 24)
    assert health.status == "ok"
    assert any("undecodable" in r for r in health.reasons), health.reasons
    assert any("charset declarations ignored" in r for r in health.reasons), health.reasons


def test_source_charset_applies_to_feeds_and_section_pages(settings, crawl_site):
    """``charset: windows-1256`` in sources.yaml: the lying/absent declarations do not matter."""
    source = Source(name="charsets", site=crawl_site.url("/cs/"), charset="windows-1256",
                    feeds=[crawl_site.url("/cs/hex.xml")], section_pages=[crawl_site.url("/cs/section-undeclared")])
    found = discover_source(settings, source, now=T0)
    assert len(found.urls) == 3 and found.counts["undecodable"] == 0, found.counts


def test_fetched_raw_page_carries_the_source_charset(settings, crawl_site):
    from marsad.crawl.fetch import Fetcher
    from marsad.extract.decode import decode_page

    source = Source(name="charsets", site=crawl_site.url("/cs/"), charset="windows-1256")
    fetcher = Fetcher(settings, source)
    try:
        page = fetcher.fetch(crawl_site.url("/cs/section-undeclared"), source.name)
    finally:
        fetcher.close()
    assert page.meta.charset == "windows-1256"
    assert "مفاوضات الهدنة" in decode_page(page.body, page.meta.headers.get("content-type"),
                                          charset=page.meta.charset).text
