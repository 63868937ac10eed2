"""Discovery: a malformed link or <base href> is counted, not fatal; Arabic links in section pages and feeds are
decoded with the resource's own charset. Real HTTP against a local server (:mod:`tests.integration.routed_site`), real
SQLite state, real Kafka where the path publishes."""

from __future__ import annotations

import pytest

from marsad.crawl.discover import discover_source
from marsad.crawl.registry import Source

from .routed_site import ROUTES, crawl_settings

# --- malformed links in feeds, sitemaps and section pages -------------------------------------------------
BAD = "http://[bad-ipv6"


def test_a_malformed_link_is_counted_not_fatal_for_the_whole_discovery(routed_site, tmp_path):
    """One href that urljoin cannot parse (an unclosed IPv6 bracket) raised ValueError out of discover_source:
    the source's discovery failed on every run until the page changed."""
    good = [f"{routed_site}/news/2026/11/29/first-story-here", f"{routed_site}/news/2026/11/29/second-story-here",
            f"{routed_site}/news/2026/11/29/third-story-here"]
    ROUTES["/r3/section"] = (200, {"Content-Type": "text/html; charset=utf-8"}, (
        f'<html><body><a href="{BAD}/x">bad</a><a href="{good[0]}">ok</a></body></html>').encode())
    ROUTES["/r3/feed.xml"] = (200, {"Content-Type": "application/rss+xml"}, (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
        f'<item><title>a</title><link>{BAD}/y</link></item>'
        f'<item><title>b</title><link>{good[1]}</link></item></channel></rss>').encode())
    ROUTES["/r3/sitemap.xml"] = (200, {"Content-Type": "application/xml"}, (
        '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f'<url><loc>{BAD}/z</loc></url><url><loc>{good[2]}</loc></url></urlset>').encode())
    src = Source(name="routed", site=f"{routed_site}/", feeds=[f"{routed_site}/r3/feed.xml"],
                 sitemaps=[f"{routed_site}/r3/sitemap.xml"], section_pages=[f"{routed_site}/r3/section"])
    found = discover_source(crawl_settings(tmp_path), src)
    assert sorted(found.urls) == sorted(good)
    # feedparser itself drops the unparseable <link> (counted no-link); the section page and sitemap count bad-link
    assert found.counts["bad-link"] + found.counts["no-link"] == 3, found.counts


def test_a_malformed_base_href_falls_back_to_the_page_url(routed_site, tmp_path):
    link = "/news/2026/11/29/story-with-a-bad-base"
    ROUTES["/r3/section-base"] = (200, {"Content-Type": "text/html; charset=utf-8"}, (
        f'<html><head><base href="{BAD}/"></head><body><a href="{link}">ok</a></body></html>').encode())
    src = Source(name="routedb", site=f"{routed_site}/", section_pages=[f"{routed_site}/r3/section-base"])
    found = discover_source(crawl_settings(tmp_path), src)
    assert found.urls == [f"{routed_site}{link}"]


# --- section pages: Arabic links in the page's own charset ----------------------------------------------------
SLUG = "/news/خبر-عاجل-عن-الاقتصاد-اللبناني"
FILLER = "<p>" + "تقارير وأخبار عاجلة من لبنان والعالم العربي حول الاقتصاد والسياسة والمجتمع. " * 30 + "</p>"


@pytest.mark.parametrize("enc,ctype", [
    ("utf-8", "text/html; charset=utf-8"),         # charset in the header only, no <meta>
    ("cp1256", "text/html; charset=windows-1256"),
    ("cp1256", "text/html"),                        # undeclared windows-1256 (corpus/chardet)
    ("iso-8859-6", "text/html"),                    # undeclared ISO-8859-6
])
def test_section_page_arabic_links_are_decoded_with_the_page_charset(routed_site, tmp_path, enc, ctype):
    """lxml given the raw bytes reads them as Latin-1 when there is no <meta charset>: every raw Arabic href
    becomes mojibake (…/news/ÎÈÑ-ÚÇÌá…), is fetched as a URL that does not exist (404, a final refusal: marked
    seen) and the article is lost. So the page is decoded like an article (header, <meta>, detection)."""
    path = f"/r3/section-{enc}-{ctype.endswith('html')}"
    ROUTES[path] = (200, {"Content-Type": ctype}, (
        f'<html><head><title>أخبار لبنان</title></head><body>{FILLER}<a href="{SLUG}">خبر</a>{FILLER}</body></html>'
    ).encode(enc))
    src = Source(name="routedar", site=f"{routed_site}/", section_pages=[f"{routed_site}{path}"])
    found = discover_source(crawl_settings(tmp_path), src)
    assert found.urls == [f"{routed_site}{SLUG}"]


@pytest.mark.parametrize("enc,ctype", [
    ("cp1256", "application/rss+xml; charset=windows-1256"),  # charset in the header only, no encoding= decl
    ("cp1256", "application/rss+xml"),                         # undeclared windows-1256
    ("iso-8859-6", "text/xml"),                                # undeclared ISO-8859-6
    ("utf-8", "application/rss+xml"),
])
def test_feed_arabic_links_are_decoded_with_the_feed_charset(routed_site, tmp_path, enc, ctype):
    """feedparser given the body without its Content-Type reads a feed whose charset is only in the header (or not
    declared at all) as UTF-8, then windows-1252 — every raw Arabic <link> mojibake. So the feed is decoded with
    its charset first."""
    path = f"/r3/feed-{enc}-{ctype.count('charset')}.xml"
    desc = FILLER.replace("<p>", "").replace("</p>", "")
    ROUTES[path] = (200, {"Content-Type": ctype}, (
        f'<rss version="2.0"><channel><title>أخبار لبنان</title><description>{desc}</description>'
        f'<item><title>خبر عاجل</title><link>{routed_site}{SLUG}</link><description>{desc}</description></item>'
        '</channel></rss>').encode(enc))
    src = Source(name="routedfeed", site=f"{routed_site}/", feeds=[f"{routed_site}{path}"])
    found = discover_source(crawl_settings(tmp_path), src)
    assert found.urls == [f"{routed_site}{SLUG}"]
