"""Discovery-side routes of the crawl trap site (see server.py), all under ``/d/``.

Feeds in every dialect feedparser reads (RSS 0.91 with its Netscape DOCTYPE, RSS 1.0/RDF, RSS 2.0, Atom), a feed
with a duplicate item, an item without a link and a relative link; feeds that are XML bombs (billion laughs, an
external entity, a "file name" body); a news sitemap index with a fresh child, an old child and a nested index; a
gzipped sitemap; a section page with article and non-article links. Conditional GET: feeds, sitemaps and the section
page answer 304 to a matching ``If-None-Match`` / ``If-Modified-Since``; ``site.state["rss2-version"]`` changes the
RSS 2.0 feed (new ETag and one more item) so tests can drive "changed" vs "not modified".
"""

from __future__ import annotations

import gzip
from datetime import datetime, timedelta, timezone

from tests.crawlsite.server import CrawlSite, Request, Response, route  # noqa: F401

LAST_MODIFIED = "Sun, 29 Nov 2026 08:00:00 GMT"
RSS_TYPE = "application/rss+xml; charset=utf-8"
XML_TYPE = "application/xml; charset=utf-8"


def _conditional(req: Request, body: bytes, ctype: str, etag: str) -> Response:
    """200 with ETag and Last-Modified, or 304 when the request's validators match (RFC 9110 §13.1)."""
    if req.headers.get("if-none-match") == etag or (
            "if-none-match" not in req.headers and req.headers.get("if-modified-since") == LAST_MODIFIED):
        return Response(304, b"", {"ETag": etag, "Last-Modified": LAST_MODIFIED})
    return Response(200, body, {"Content-Type": ctype, "ETag": etag, "Last-Modified": LAST_MODIFIED})


def _iso(delta: timedelta) -> str:
    return (datetime.now(timezone.utc) - delta).replace(microsecond=0).isoformat()


def _base(site: CrawlSite) -> str:
    return site.url("/d")


@route("/d/rss2.xml")
def rss2(site: CrawlSite, req: Request) -> Response:
    """RSS 2.0: item 1 twice (same canonical URL, once with a utm_ parameter), an item with no link, a relative link.
    Version 2 (``site.state["rss2-version"] = 2``) adds one item and changes the ETag."""
    version = int(site.state.get("rss2-version", 1))
    b = _base(site)
    items = [
        f"<item><title>خبر ١</title><link>{b}/news/2026/11/29/first-story-about-gaza</link></item>",
        f"<item><title>خبر ١ مكرر</title><link>{b}/news/2026/11/29/first-story-about-gaza?utm_source=rss"
        "</link></item>",
        "<item><title>بلا رابط</title><description>no link here</description></item>",
        "<item><title>رابط نسبي</title><link>/d/article/100234</link></item>",
    ]
    if version >= 2:
        items.append(f"<item><title>خبر جديد</title><link>{b}/article/100999</link></item>")
    body = ('<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>موقع</title>'
            f"<link>{b}/</link>{''.join(items)}</channel></rss>").encode()
    return _conditional(req, body, RSS_TYPE, f'"rss2-v{version}"')


@route("/d/rss091.xml")
def rss091(site: CrawlSite, req: Request) -> Response:
    """RSS 0.91 with the Netscape DOCTYPE (an external DTD reference, no entity declarations: accepted)."""
    b = _base(site)
    body = ('<?xml version="1.0" encoding="ISO-8859-1"?>\n'
            '<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" '
            '"http://my.netscape.com/publish/formats/rss-0.91.dtd">\n'
            f'<rss version="0.91"><channel><title>old</title><link>{b}/</link><description>d</description>'
            f"<language>ar</language><item><title>t</title><link>{b}/article/200001</link></item>"
            "</channel></rss>").encode("latin-1")
    return Response(200, body, {"Content-Type": "text/xml"})


@route("/d/rss10.rdf")
def rss10(site: CrawlSite, req: Request) -> Response:
    b = _base(site)
    body = ('<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
            'xmlns="http://purl.org/rss/1.0/">'
            f'<channel rdf:about="{b}/"><title>rdf</title><link>{b}/</link><description>d</description></channel>'
            f'<item rdf:about="{b}/article/300001"><title>t</title><link>{b}/article/300001</link></item>'
            "</rdf:RDF>").encode()
    return Response(200, body, {"Content-Type": "application/rdf+xml"})


@route("/d/atom.xml")
def atom(site: CrawlSite, req: Request) -> Response:
    b = _base(site)
    body = ('<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>atom</title>'
            f'<id>{b}/</id><updated>2026-11-29T08:00:00Z</updated>'
            f'<entry><title>t</title><id>urn:a:1</id><updated>2026-11-29T08:00:00Z</updated>'
            f'<link rel="alternate" href="{b}/article/400001"/></entry>'
            "</feed>").encode()
    return Response(200, body, {"Content-Type": "application/atom+xml"})


BILLION_LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE rss [\n <!ENTITY lol "lol">\n'
    + "".join(f' <!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i > 1 else "&lol;" * 10}">\n'
              for i in range(1, 10))
    + ']>\n<rss version="2.0"><channel><title>&lol9;</title>'
    "<item><title>&lol9;</title><link>http://127.0.0.1/d/article/666666</link></item></channel></rss>"
).encode()
"""The classic billion-laughs document (10^9 "lol"s, ~3 GB if expanded) as an RSS 2.0 feed."""


@route("/d/bomb.xml")
def bomb(site: CrawlSite, req: Request) -> Response:
    return Response(200, BILLION_LAUGHS, {"Content-Type": RSS_TYPE})


@route("/d/xxe.xml")
def xxe(site: CrawlSite, req: Request) -> Response:
    """An external entity pointing at a local file (XXE)."""
    body = (b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY secret SYSTEM "file:///etc/passwd">]>'
            b'<rss version="2.0"><channel><title>&secret;</title>'
            b"<item><title>&secret;</title><link>http://127.0.0.1/d/article/777777</link></item></channel></rss>"
            )
    return Response(200, body, {"Content-Type": RSS_TYPE})


@route("/d/filename-feed.xml")
def filename_feed(site: CrawlSite, req: Request) -> Response:
    """A body that is the path of a local file (``site.state["local-feed-path"]``): feedparser given raw bytes
    would open and parse that file."""
    return Response(200, str(site.state["local-feed-path"]).encode(), {"Content-Type": RSS_TYPE})


@route("/d/sitemap-bomb.xml")
def sitemap_bomb(site: CrawlSite, req: Request) -> Response:
    body = BILLION_LAUGHS.replace(b"<!DOCTYPE rss", b"<!DOCTYPE urlset")
    return Response(200, body, {"Content-Type": XML_TYPE})


@route("/d/news-sitemap-index.xml")
def news_sitemap_index(site: CrawlSite, req: Request) -> Response:
    """A sitemap index: a fresh news sitemap, an old one (lastmod 30 days ago), a nested index (too deep with
    ``sitemap_max_depth=2``), and a gzipped sitemap with no lastmod."""
    b = _base(site)
    body = ('<?xml version="1.0" encoding="UTF-8"?>'
            '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"<sitemap><loc>{b}/sitemap-news-1.xml</loc><lastmod>{_iso(timedelta(hours=1))}</lastmod></sitemap>"
            f"<sitemap><loc>{b}/sitemap-old.xml</loc><lastmod>{_iso(timedelta(days=30))}</lastmod></sitemap>"
            f"<sitemap><loc>{b}/nested-index.xml</loc><lastmod>{_iso(timedelta(hours=2))}</lastmod></sitemap>"
            f"<sitemap><loc>{b}/sitemap-gz.xml.gz</loc></sitemap>"
            "</sitemapindex>").encode()
    return _conditional(req, body, XML_TYPE, '"smi-1"')


@route("/d/nested-index.xml")
def nested_index(site: CrawlSite, req: Request) -> Response:
    b = _base(site)
    body = ('<?xml version="1.0" encoding="UTF-8"?>'
            '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"<sitemap><loc>{b}/sitemap-deep.xml</loc></sitemap></sitemapindex>").encode()
    return Response(200, body, {"Content-Type": XML_TYPE})


@route("/d/sitemap-news-1.xml")
def sitemap_news_1(site: CrawlSite, req: Request) -> Response:
    """Google News sitemap: an article of 1 hour ago, one of 5 days ago (too old), one with a naive date of 3 hours
    ago (source time zone), one without any date (kept), and one on another site."""
    b = _base(site)
    naive = (datetime.now(timezone.utc) - timedelta(hours=3)).replace(tzinfo=None, microsecond=0).isoformat()

    def url(loc: str, date: str | None) -> str:
        news = (f"<news:news><news:publication><news:name>موقع</news:name><news:language>ar</news:language>"
                f"</news:publication><news:publication_date>{date}</news:publication_date>"
                f"<news:title>عنوان</news:title></news:news>") if date else ""
        return f"<url><loc>{loc}</loc>{news}</url>"

    body = ('<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
            'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">'
            + url(f"{b}/news/2026/11/29/fresh-news-story", _iso(timedelta(hours=1)))
            + url(f"{b}/news/2026/11/24/old-news-story", _iso(timedelta(days=5)))
            + url(f"{b}/news/2026/11/29/naive-date-story", naive)
            + url(f"{b}/article/500001", None)
            + url("https://elsewhere.example/article/500002", _iso(timedelta(hours=1)))
            + "</urlset>").encode()
    return _conditional(req, body, XML_TYPE, '"news-1"')


@route("/d/sitemap-old.xml")
def sitemap_old(site: CrawlSite, req: Request) -> Response:
    body = (f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>{_base(site)}/article/600001'
            "</loc></url></urlset>").encode()
    return Response(200, body, {"Content-Type": XML_TYPE})


@route("/d/sitemap-deep.xml")
def sitemap_deep(site: CrawlSite, req: Request) -> Response:
    return sitemap_old(site, req)


@route("/d/sitemap-gz.xml.gz")
def sitemap_gz(site: CrawlSite, req: Request) -> Response:
    """A gzip file served as such (``application/x-gzip``, no Content-Encoding): the crawler inflates it."""
    body = (f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>{_base(site)}/article/700001'
            f"</loc><lastmod>{_iso(timedelta(hours=1))}</lastmod></url></urlset>").encode()
    return Response(200, gzip.compress(body), {"Content-Type": "application/x-gzip"})


SECTION_LINKS = {
    # href -> kept?
    "/d/news/2026/11/29/section-story-one": True,             # date path
    "article/800001": True,                                     # relative, numeric id
    "https://www.example.invalid/article/800002": False,        # off-site
    "/d/politics/"  # an Arabic slug
    "%D8%A7%D9%84%D8%B1%D8%A6%D9%8A%D8%B3-%D9%8A%D8%B3%D8%AA%D9%82%D8%A8%D9%84-%D9%88%D9%81%D8%AF%D8%A7": True,
    "/d/tag/gaza": False,
    "/d/category/politics": False,
    "/d/author/someone-who-writes": False,
    "/d/news/page/2": False,
    "/d/news?page=3": False,
    "/d/news/2": False,
    "/d/media/photo-800003.jpg": False,
    "/d/": False,                                               # home
    "javascript:void(0)": False,
    "mailto:desk@example.invalid": False,
    "#top": False,
    "/d/news/2026/11/29/section-story-one#comments": True,     # same story again (fragment): duplicate
}


@route("/d/section")
def section(site: CrawlSite, req: Request) -> Response:
    links = "\n".join(f'<li><a href="{h}">x</a></li>' for h in SECTION_LINKS)
    body = (f'<!doctype html><html lang="ar" dir="rtl"><head><meta charset="utf-8"><base href="{_base(site)}/">'
            f"<title>سياسة</title></head><body><ul>{links}</ul></body></html>").encode()
    return _conditional(req, body, "text/html; charset=utf-8", '"section-1"')


ARTICLE = ('<!doctype html><html lang="ar"><head><meta charset="utf-8"><title>{t}</title></head><body><article>'
           "<h1>{t}</h1><p>نص الخبر.</p></article></body></html>")


def _article(path: str) -> None:
    @route(path)
    def _a(site: CrawlSite, req: Request) -> Response:
        return Response(200, ARTICLE.format(t=path).encode(), {"Content-Type": "text/html; charset=utf-8"})


for _p in ("/d/news/2026/11/29/first-story-about-gaza", "/d/article/100234", "/d/article/100999"):
    _article(_p)
