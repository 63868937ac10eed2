"""Unit tests of discovery logic without a network: article-link heuristic, XML-entity guard, feed parsing,
sitemap dates, adaptive poll state, seen URLs and the frontier."""

from __future__ import annotations

import csv
import json
from collections import Counter
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from marsad.crawl.discover import declares_entities, feed_links, looks_like_article, parse_w3c_datetime, same_site
from marsad.crawl.state import SeenUrls
from tests.crawlsite.discovery_routes import BILLION_LAUGHS

T0 = datetime(2026, 11, 29, 10, 0, tzinfo=timezone.utc)


def corpus_article_urls(corpus) -> list[str]:
    """Real article URLs: saudinewsnet (12 Saudi papers + SPA, 2015), Media Cloud samples, htmldate eval."""
    urls = [a["url"] for a in json.loads((corpus / "saudinewsnet" / "2015-08-03.json").read_text())]
    with open(corpus / "mediacloud-metadata-lib" / "random-stories.arabic_subset.csv", newline="") as f:
        urls += [row["url"] for row in csv.DictReader(f)]
    urls += list(json.loads((corpus / "htmldate" / "eval_mediacloud_2020.arabic_subset.json").read_text()))
    return urls


def test_heuristic_accepts_real_article_urls(corpus):
    urls = corpus_article_urls(corpus)
    assert len(urls) > 1000
    rejected = [u for u in urls if not looks_like_article(u)]
    assert len(rejected) / len(urls) < 0.02, rejected[:20]


@pytest.mark.parametrize("url", [
    "https://www.alyaum.com/", "https://www.alyaum.com/tags/gaza", "https://aawsat.com/category/politics",
    "https://aawsat.com/home/author/12345", "https://www.youm7.com/section/319", "https://x.example/news/page/2",
    "https://x.example/news?page=3", "https://x.example/news/2", "https://x.example/images/photo-123456.jpg",
    "https://x.example/about-us", "https://x.example/politics", "https://x.example/videos/98765432",
    "https://x.example/rss/12345678.xml", "https://x.example/ar", "https://x.example/live/",
])
def test_heuristic_rejects_listings_and_media(url):
    assert not looks_like_article(url)


@pytest.mark.parametrize("url", [
    "https://www.bbc.com/arabic/articles/c4nn1z7d2q2o",
    "https://www.aljazeera.net/news/2026/11/29/some-story",
    "https://www.skynewsarabia.com/world/1712345-%D8%AE%D8%A8%D8%B1",
    "https://sabq.org/xM1aCd",
    "https://x.example/politics/"
    "%D8%A7%D9%84%D8%B1%D8%A6%D9%8A%D8%B3-%D9%8A%D8%B3%D8%AA%D9%82%D8%A8%D9%84-%D9%88%D9%81%D8%AF%D8%A7",
])
def test_heuristic_accepts_article_forms(url):
    assert looks_like_article(url)


def test_same_site():
    assert same_site("https://www.x.example/a", "https://x.example/")
    assert same_site("https://m.x.example/a", "https://www.x.example/")
    assert not same_site("https://x.example.evil/a", "https://x.example/")
    assert not same_site("https://notx.example/a", "https://x.example/")


def test_billion_laughs_is_detected_without_expansion():
    assert declares_entities(BILLION_LAUGHS)
    counts = Counter()
    assert feed_links(BILLION_LAUGHS, "http://127.0.0.1/d/bomb.xml", counts) == []
    assert counts == {"xml-entities": 1}


def test_entities_in_a_broken_document_are_still_detected():
    body = b"garbage\x00<rss><!DOCTYPE x [<!ENTITY a 'b'>]><channel></channel></rss>"
    assert declares_entities(body)


def test_rss091_doctype_without_entities_is_fine():
    body = (b'<?xml version="1.0"?><!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" '
            b'"http://my.netscape.com/publish/formats/rss-0.91.dtd"><rss version="0.91"><channel><title>t</title>'
            b"<item><title>a</title><link>https://x.example/article/123456</link></item></channel></rss>")
    assert not declares_entities(body)
    assert feed_links(body, "https://x.example/rss", Counter()) == ["https://x.example/article/123456"]


def test_feed_links_counts_items_without_link_and_resolves_relative():
    body = (b'<rss version="2.0"><channel><title>t</title>'
            b"<item><title>a</title><link>/article/123456</link></item>"
            b"<item><title>no link</title></item></channel></rss>")
    counts = Counter()
    assert feed_links(body, "https://x.example/feeds/rss", counts) == ["https://x.example/article/123456"]
    assert counts == {"items": 1, "no-link": 1}


def test_feed_body_that_names_a_local_file_is_not_opened(tmp_path):
    local = tmp_path / "secret.xml"
    local.write_bytes(b'<rss version="2.0"><channel><item><link>https://x.example/article/999999</link></item>'
                      b"</channel></rss>")
    counts = Counter()
    assert feed_links(str(local).encode(), "https://x.example/rss", counts) == []
    assert counts == {"unreadable": 1}


def test_w3c_dates():
    beirut = ZoneInfo("Asia/Beirut")
    assert parse_w3c_datetime("2026-11-29T10:00:00Z", beirut) == T0
    assert parse_w3c_datetime("2026-11-29T13:00:00+03:00", beirut) == T0
    assert parse_w3c_datetime("2026-11-29T12:00:00", beirut) == T0  # naive: read in the source's zone (UTC+2)
    assert parse_w3c_datetime("2026-11-29", beirut).date().isoformat() == "2026-11-29"
    assert parse_w3c_datetime("yesterday", beirut) is None and parse_w3c_datetime(None, beirut) is None


# --- poll state ---------------------------------------------------------------------------------------------

def test_poll_interval_halves_on_change_doubles_on_none_within_bounds(crawl_store):
    ps = crawl_store.polls(min_s=600, max_s=4800)
    p = ps.get("https://x.example/rss")
    assert ps.is_due(p, T0) and p.interval_s == 600
    t = T0
    intervals = []
    for changed in (True, False, False, False, False, True, True, True):
        p = ps.record(p, "x", changed=changed, now=t)
        intervals.append(p.interval_s)
        t = p.next_poll
    assert intervals == [600, 1200, 2400, 4800, 4800, 2400, 1200, 600]


def test_poll_not_due_until_next_poll_and_survives_reopen(crawl_store):
    ps = crawl_store.polls(min_s=600, max_s=86400)
    p = ps.record(ps.get("u"), "x", changed=True, etag='"e1"', last_modified="Sun, 29 Nov 2026 08:00:00 GMT",
                  body_hash="h", now=T0)
    ps.close()
    ps = crawl_store.polls(min_s=600, max_s=86400)
    p = ps.get("u")
    assert p.conditional_headers() == {"If-None-Match": '"e1"', "If-Modified-Since": "Sun, 29 Nov 2026 08:00:00 GMT"}
    assert not ps.is_due(p, T0 + timedelta(minutes=5))
    assert ps.is_due(p, T0 + timedelta(minutes=9, seconds=30))  # within the slack
    p2 = ps.record(p, "x", changed=False, now=T0 + timedelta(minutes=10))  # a 304 keeps the validators
    assert p2.etag == '"e1"' and p2.body_hash == "h" and p2.last_change == T0 and p2.polls == 2


def test_poll_bounds_validated(crawl_store):
    with pytest.raises(ValueError):
        crawl_store.polls(min_s=100, max_s=50)


# --- seen URLs and frontier -----------------------------------------------------------------------------------

def test_frontier_keeps_urls_until_marked_and_refetch_reopens(crawl_store):
    seen = crawl_store.seen()
    assert seen.enqueue([("https://x.example/a/1", "https://x.example/a/1?utm_source=x"),
                         ("https://x.example/a/2", "https://x.example/a/2")], "x", T0) == 2
    assert seen.enqueue([("https://x.example/a/1", "https://x.example/a/1")], "x", T0) == 0  # already pending
    seen.close()
    seen = crawl_store.seen()  # a restart keeps the frontier
    assert seen.pending("x") == ["https://x.example/a/1?utm_source=x", "https://x.example/a/2"]
    assert seen.pending("x", limit=1) == ["https://x.example/a/1?utm_source=x"]
    seen.mark("https://x.example/a/1", "x", T0)
    assert seen.pending("x") == ["https://x.example/a/2"]
    assert seen.seen("https://x.example/a/1")
    assert not seen.due("https://x.example/a/1", None, T0 + timedelta(days=365))  # fetched once
    assert not seen.due("https://x.example/a/1", 24, T0 + timedelta(hours=23))
    assert seen.due("https://x.example/a/1", 24, T0 + timedelta(hours=24))
    assert seen.enqueue([("https://x.example/a/1", "https://x.example/a/1")], "x", T0 + timedelta(hours=24)) == 1
    assert "https://x.example/a/1" in seen.pending("x")


def test_old_seen_table_is_migrated(tmp_path):
    import sqlite3

    db = tmp_path / "seen.sqlite"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE seen (url TEXT PRIMARY KEY, source TEXT NOT NULL, first_seen TEXT NOT NULL)")
    con.execute("INSERT INTO seen VALUES ('https://x.example/a/1', 'x', ?)", (T0.isoformat(),))
    con.commit()
    con.close()
    seen = SeenUrls(db)
    assert seen.seen("https://x.example/a/1")
    assert seen.due("https://x.example/a/1", 1, T0 + timedelta(hours=2))


def test_frontier_abandons_urls_handed_out_too_often(crawl_store):
    seen = crawl_store.seen()
    seen.enqueue([("https://x.example/a/1", "https://x.example/a/1"),
                  ("https://x.example/a/2", "https://x.example/a/2")], "x", T0)
    for _ in range(3):
        assert seen.abandon("x", 3, T0) == []
        seen.pending("x", limit=1, hand_out=True)  # only a/1 is handed out (and never fetched)
    assert seen.abandon("x", 3, T0) == ["https://x.example/a/1"]
    assert seen.pending("x") == ["https://x.example/a/2"]
    assert not seen.seen("https://x.example/a/1")  # not marked seen: found again later, it is queued afresh
    assert seen.enqueue([("https://x.example/a/1", "https://x.example/a/1")], "x", T0) == 1


def test_frontier_lease_keeps_a_handed_out_url_from_other_workers(crawl_store):
    """A URL handed to worker A is handed to no other worker until A marks it, releases it, or its lease ends; A
    itself gets it again (a retried discovery); a refund (Kafka down) ends the lease too."""
    seen = crawl_store.seen()
    urls = [(f"https://x.example/a/{i}", f"https://x.example/a/{i}") for i in range(1, 5)]
    seen.enqueue(urls, "x", T0)
    a = seen.pending("x", limit=2, hand_out=True, owner="A", lease_s=600, now=T0)
    assert a == ["https://x.example/a/1", "https://x.example/a/2"]
    assert seen.waiting("x", T0) == 2
    assert seen.pending("x", limit=2, hand_out=True, owner="A", lease_s=600, now=T0) == a  # same worker: same
    b = seen.pending("x", hand_out=True, owner="B", lease_s=600, now=T0)
    assert b == ["https://x.example/a/3", "https://x.example/a/4"]
    assert seen.pending("x", hand_out=True, owner="C", lease_s=600, now=T0) == []
    assert seen.pending("x") == [u for u, _ in urls]  # without hand_out: every pending URL, nothing changes
    seen.mark("https://x.example/a/1", "x", T0)
    seen.release(["https://x.example/a/2"])  # A's fetch failed transiently
    seen.refund(["https://x.example/a/3"])  # B could not publish
    assert seen.pending("x", hand_out=True, owner="C", lease_s=600, now=T0) == [
        "https://x.example/a/2", "https://x.example/a/3"]
    later = T0 + timedelta(seconds=601)  # B was killed: its lease ends, nothing is lost
    assert seen.pending("x", hand_out=True, owner="D", lease_s=600, now=later) == [
        "https://x.example/a/2", "https://x.example/a/3", "https://x.example/a/4"]
    seen.close()
