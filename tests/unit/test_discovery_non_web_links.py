"""Feed items and sitemap entries whose link is not an http(s) URL with a host (``ht4p://…`` — a one-bit flip found by
the fuzzer — ``ftp://``, ``gopher://``, ``http:///path``) are counted ``bad-link`` at discovery,
as section pages already did, instead of entering the frontier."""

from __future__ import annotations

from collections import Counter

from marsad.crawl.discover import feed_links
from tests.quality.evaluation.fuzz import SitemapPass

GOOD = "https://www.example-news.com/news/2026/01/16/story-123456"
BAD = ["ht4p://www.example-news.com/news/2026/01/16/story-1", "ftp://www.example-news.com/news/story-2",
       "gopher://www.example-news.com/news/story-3", "http:///news/story-4"]


def test_feed_items_with_non_web_links_are_bad_links() -> None:
    bad = BAD[:3]  # feedparser itself rewrites «http:///news/story-4» to «http://news/story-4» (host «news»)
    items = "".join(f"<item><title>خبر {i}</title><link>{u}</link></item>" for i, u in enumerate([GOOD, *bad]))
    rss = f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>ت</title>{items}</channel></rss>'
    counts: Counter = Counter()
    assert feed_links(rss.encode(), "https://www.example-news.com/rss.xml", counts) == [GOOD]
    assert counts["bad-link"] == len(bad)


def test_sitemap_entries_with_non_web_links_are_bad_links(tmp_path) -> None:
    urls = "".join(f"<url><loc>{u}</loc><lastmod>2018-02-24T10:00:00+00:00</lastmod></url>" for u in [GOOD, *BAD])
    xml = ('<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
           f"{urls}</urlset>")
    sitemaps = SitemapPass(tmp_path)
    try:
        assert sitemaps.run(xml.encode()) == "links"
        assert sitemaps._pass.links == [GOOD]
        assert sitemaps._pass.counts["bad-link"] == len(BAD)
    finally:
        sitemaps.close()
