"""Discovery against the local crawl trap site (tests/crawlsite/discovery_routes.py): real HTTP, real SQLite state.

No Kafka here except in the last test (``names`` fixture): discovery only fetches feeds, sitemaps and section pages.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import orjson
import pytest
import yaml

from marsad.crawl.discover import discover_source
from marsad.crawl.registry import Source
from marsad.crawl.state import PollState, SeenUrls
from marsad.settings import load_settings
from tests.crawlsite.discovery_routes import SECTION_LINKS

T0 = datetime.now(timezone.utc)


@pytest.fixture
def settings(tmp_path):
    return load_settings(crawl_state_dir=tmp_path / "crawl", allow_private_hosts=["127.0.0.1"],
                         poll_min_interval_s=600, poll_max_interval_s=86400, news_max_age_h=48)


def src(site, **kw) -> Source:
    return Source(name="trap", site=site.url("/d/"), timezone="Asia/Beirut", **kw)


def test_every_feed_dialect_duplicate_once_and_linkless_items_counted(settings, crawl_site):
    feeds = [crawl_site.url(p) for p in ("/d/rss2.xml", "/d/rss091.xml", "/d/rss10.rdf", "/d/atom.xml")]
    found = discover_source(settings, src(crawl_site, feeds=feeds), now=T0)
    b = crawl_site.url("/d")
    assert found.urls == [f"{b}/news/2026/11/29/first-story-about-gaza", f"{b}/article/100234",
                          f"{b}/article/200001", f"{b}/article/300001", f"{b}/article/400001"]
    c = found.counts
    assert (c["polled"], c["items"], c["duplicate-item"], c["no-link"], c["new"], c["pending"]) == (4, 6, 1, 1, 5, 5)


def test_conditional_get_not_modified_and_adaptive_interval(settings, crawl_site):
    source = src(crawl_site, feeds=[crawl_site.url("/d/rss2.xml")])
    def polls():
        return PollState(settings.crawl_dir / "seen.sqlite", 600, 86400).get(crawl_site.url("/d/rss2.xml"))

    first = discover_source(settings, source, now=T0)
    assert first.counts["polled"] == 1 and polls().interval_s == 600 and polls().etag == '"rss2-v1"'

    # not due yet: no request at all
    early = discover_source(settings, source, now=T0 + timedelta(minutes=5))
    assert early.counts["not-due"] == 1 and len(crawl_site.hits("/d/rss2.xml")) == 1
    assert early.urls == first.urls  # nothing fetched yet: the frontier still holds them

    # due: conditional GET, 304, interval doubles
    t1 = T0 + timedelta(minutes=10)
    again = discover_source(settings, source, now=t1)
    req = crawl_site.hits("/d/rss2.xml")[-1]
    assert req.headers["if-none-match"] == '"rss2-v1"' and "if-modified-since" in req.headers
    assert again.counts["not-modified"] == 1 and again.counts["new"] == 0, again.counts
    assert polls().interval_s == 1200 and polls().next_poll == t1 + timedelta(seconds=1200)

    # the feed changes: the new item is found, the interval halves back to the floor
    crawl_site.state["rss2-version"] = 2
    t2 = t1 + timedelta(seconds=1200)
    changed = discover_source(settings, source, now=t2)
    assert changed.counts["changed"] == 1 and changed.counts["new"] == 1
    assert crawl_site.url("/d/article/100999") in changed.urls
    assert polls().interval_s == 600 and polls().etag == '"rss2-v2"'


def test_fetched_urls_are_not_returned_again_refetch_after_h_reopens(settings, crawl_site):
    source = src(crawl_site, feeds=[crawl_site.url("/d/rss2.xml")])
    urls = discover_source(settings, source, now=T0).urls
    seen = SeenUrls(settings.crawl_dir / "seen.sqlite")
    from marsad.dedup.urls import canonical_url
    for u in urls:
        seen.mark(canonical_url(u), "trap", now=T0)
    seen.close()
    crawl_site.state["rss2-version"] = 2  # new body: the old links are read again
    later = discover_source(settings, source, now=T0 + timedelta(hours=1))
    assert later.urls == [crawl_site.url("/d/article/100999")] and later.counts["already-seen"] == 3

    crawl_site.state["rss2-version"] = 1
    refetch = discover_source(settings, src(crawl_site, feeds=[crawl_site.url("/d/rss2.xml")], refetch_after_h=2),
                              now=T0 + timedelta(hours=3))
    assert set(urls) <= set(refetch.urls)


def test_max_items_leaves_a_backlog_that_later_runs_return_even_after_304(settings, crawl_site):
    source = src(crawl_site, feeds=[crawl_site.url("/d/rss2.xml")], max_items=1)
    first = discover_source(settings, source, now=T0)
    assert first.urls == [crawl_site.url("/d/news/2026/11/29/first-story-about-gaza")]
    assert first.counts["backlog"] == 1
    from marsad.dedup.urls import canonical_url
    seen = SeenUrls(settings.crawl_dir / "seen.sqlite")  # seen URLs are canonical URLs (https for http)
    seen.mark(canonical_url(crawl_site.url("/d/news/2026/11/29/first-story-about-gaza")), "trap")
    seen.close()
    second = discover_source(settings, source, now=T0 + timedelta(minutes=11))
    assert second.counts["not-modified"] == 1
    assert second.urls == [crawl_site.url("/d/article/100234")]


@pytest.mark.parametrize("path", ["/d/bomb.xml", "/d/xxe.xml"])
def test_xml_bomb_feeds_refused_with_reason(settings, crawl_site, path):
    found = discover_source(settings, src(crawl_site, feeds=[crawl_site.url(path)]), now=T0)
    assert found.urls == []
    assert found.counts["xml-entities"] == 1 and found.counts["items"] == 0


def test_feed_body_naming_a_local_file_is_not_read(settings, crawl_site, tmp_path):
    secret = tmp_path / "local-feed.xml"
    secret.write_text('<rss version="2.0"><channel><item><link>http://127.0.0.1/d/article/888888</link></item>'
                      "</channel></rss>")
    crawl_site.state["local-feed-path"] = secret
    found = discover_source(settings, src(crawl_site, feeds=[crawl_site.url("/d/filename-feed.xml")]), now=T0)
    assert found.urls == [] and found.counts["unreadable"] == 1


def test_news_sitemap_index(settings, crawl_site):
    source = src(crawl_site, sitemaps=[crawl_site.url("/d/news-sitemap-index.xml")])
    found = discover_source(settings, source, now=T0)
    b = crawl_site.url("/d")
    assert sorted(found.urls) == sorted([f"{b}/news/2026/11/29/fresh-news-story",
                                         f"{b}/news/2026/11/29/naive-date-story",
                                         f"{b}/article/500001", f"{b}/article/700001"])
    c = found.counts
    assert c["too-old"] == 2          # the 30-day-old child sitemap and the 5-day-old news entry
    assert c["off-site"] == 1         # elsewhere.example in the news sitemap
    assert c["sitemap-too-deep"] == 1  # the nested index's child
    assert crawl_site.hits("/d/sitemap-old.xml") == [] and crawl_site.hits("/d/sitemap-deep.xml") == []
    assert len(crawl_site.hits("/d/nested-index.xml")) == 1


def test_sitemap_children_capped_newest_first(settings, crawl_site):
    capped = settings.model_copy(update={"sitemap_max_children": 1})
    found = discover_source(capped, src(crawl_site, sitemaps=[crawl_site.url("/d/news-sitemap-index.xml")]), now=T0)
    assert found.counts["sitemap-capped"] == 2
    assert len(crawl_site.hits("/d/sitemap-news-1.xml")) == 1 and crawl_site.hits("/d/sitemap-gz.xml.gz") == []


def test_sitemap_bomb_refused(settings, crawl_site):
    found = discover_source(settings, src(crawl_site, sitemaps=[crawl_site.url("/d/sitemap-bomb.xml")]), now=T0)
    assert found.urls == [] and found.counts["xml-entities"] == 1


def test_section_page_keeps_same_site_article_links_only(settings, crawl_site):
    found = discover_source(settings, src(crawl_site, section_pages=[crawl_site.url("/d/section")]), now=T0)
    b = crawl_site.url("/d")
    assert found.urls == [f"{b}/news/2026/11/29/section-story-one", f"{b}/article/800001",
                          b + "/politics/%D8%A7%D9%84%D8%B1%D8%A6%D9%8A%D8%B3-%D9%8A%D8%B3%D8%AA%D9%82%D8%A8%D9%84-"
                              "%D9%88%D9%81%D8%AF%D8%A7"]
    c = found.counts
    assert c["off-site"] == 1 and c["bad-link"] == 2 and c["duplicate-item"] == 1
    assert c["not-article"] == sum(1 for h, keep in SECTION_LINKS.items() if not keep) - 1 - 2 - 1  # minus off-site,
    # the two bad links and the "#top" fragment (not a link)


def test_unreachable_and_failing_resources_are_counted_not_fatal(settings, crawl_site):
    source = src(crawl_site, feeds=[crawl_site.url("/d/missing.xml"), "http://127.0.0.1:9/feed.xml",
                                    crawl_site.url("/d/atom.xml")])
    found = discover_source(settings, source, now=T0)
    assert found.urls == [crawl_site.url("/d/article/400001")]
    assert found.counts["http-404"] == 1 and found.counts["refused:robots-unreachable"] == 1  # RFC 9309: unreachable robots.txt = disallow  # noqa: E501 - test data on one line
    again = discover_source(settings, source, now=T0 + timedelta(minutes=1))  # failures are due again at once
    assert again.counts["http-404"] == 1 and again.counts["not-due"] == 1


def test_run_module_reexports_discover():
    from marsad.crawl import discover as mod
    from marsad.crawl.run import discover

    assert discover is mod.discover


@pytest.mark.services
def test_crawl_source_publishes_and_reports_discovery_counts(names, crawl_site, tmp_path, crawl_store):
    """The whole cycle with either crawl state store (SQLite files / the real PostgreSQL)."""
    from marsad.crawl.run import crawl_source
    from marsad.kafka.clients import ensure_topics

    registry = tmp_path / "sources.yaml"
    registry.write_text(yaml.safe_dump({"sources": [{
        "name": "trap", "site": crawl_site.url("/d/"), "feeds": [crawl_site.url("/d/rss2.xml")]}]}))
    s = names.model_copy(update={"sources_file": registry, "crawl_state_url": crawl_store.settings.crawl_state_url})
    ensure_topics(s)
    counts = crawl_source(s, "trap")
    assert counts["published"] == 2 and counts["discovered"] == 2
    assert counts["discover:duplicate-item"] == 1 and counts["discover:no-link"] == 1
    report = orjson.loads((s.crawl_dir / "reports" / "crawl-trap.json").read_bytes())
    assert report["counts"] == counts
    again = crawl_source(s, "trap")  # the feed is not due, nothing pending: nothing fetched twice
    assert again.get("published", 0) == 0 and again["discover:not-due"] == 1
    assert len(crawl_site.hits("/d/article/100234")) == 1
    if crawl_store.kind == "postgres":  # the state went to PostgreSQL, not to a SQLite file
        from marsad.dedup.urls import canonical_url

        assert not (s.crawl_dir / "seen.sqlite").exists() and not (s.crawl_dir / "politeness.sqlite").exists()
        seen = crawl_store.seen()
        assert seen.seen(canonical_url(crawl_site.url("/d/article/100234")))
        seen.close()


def test_url_never_fetched_is_abandoned_after_max_attempts(settings, crawl_site):
    s = settings.model_copy(update={"frontier_max_attempts": 2})
    source = src(crawl_site, feeds=[crawl_site.url("/d/rss2.xml")], max_items=1)
    first_url = crawl_site.url("/d/news/2026/11/29/first-story-about-gaza")
    assert discover_source(s, source, now=T0).urls == [first_url]  # handed out once (fetch "fails": not marked)
    assert discover_source(s, source, now=T0).urls == [first_url]  # twice
    third = discover_source(s, source, now=T0)
    assert third.counts["abandoned"] == 1 and third.urls == [crawl_site.url("/d/article/100234")]
