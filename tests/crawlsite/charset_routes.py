"""Charset routes of the crawl trap site, all under ``/cs/``: feeds, sitemaps and section
pages whose declarations are broken (``windows1256``, ``cp-1256``, ``x-cp1256``, ``ISO-8859-6-I``, ``hex``) or
absent, beside a good UTF-8 feed, and a section page that is mojibake by construction."""

from __future__ import annotations

from tests.crawlsite.server import CrawlSite, Request, Response, route

TITLE = "أعلنت وزارة الصحة في غزة اليوم عن ارتفاع عدد الضحايا"
MIXED = ["وقال المتحدث باسم الوزارة إن المستشفيات تعمل بطاقة تفوق قدرتها منذ أسابيع طويلة",
         "وأضاف أن الوقود اللازم لتشغيل المولدات قد ينفد خلال أيام إذا لم تصل شحنات جديدة"]


def _rss(site: CrawlSite, label: str, slug: str) -> str:
    link = site.url(f"/cs/أخبار/2026/11/29/{slug}")
    return (f'<?xml version="1.0" encoding="{label}"?><rss version="2.0"><channel><title>أخبار</title>'
            f"<item><title>{TITLE}</title><link>{link}</link></item></channel></rss>")


FEEDS = {  # path -> (XML declaration label, bytes encoding, Content-Type, article slug)
    "/cs/good.xml": ("utf-8", "utf-8", "application/rss+xml; charset=utf-8", "خبر-سليم"),
    "/cs/windows1256.xml": ("windows1256", "cp1256", "application/rss+xml", "خبر-ويندوز"),
    "/cs/cp-1256.xml": ("cp-1256", "cp1256", "text/xml", "خبر-شرطة"),
    "/cs/x-cp1256.xml": ("x-cp1256", "cp1256", "application/xml", "خبر-إكس"),
    "/cs/iso-8859-6-i.xml": ("ISO-8859-6-I", "iso8859-6", "application/rss+xml", "خبر-أيزو"),
    "/cs/hex.xml": ("hex", "cp1256", "application/rss+xml; charset=base64", "خبر-هكس"),
}


def _feed_route(path: str) -> None:
    label, codec, ctype, slug = FEEDS[path]

    @route(path)
    def _f(site: CrawlSite, req: Request) -> Response:
        return Response(200, _rss(site, label, slug).encode(codec), {"Content-Type": ctype})


for _p in FEEDS:
    _feed_route(_p)


@route("/cs/sitemap-cp-1256.xml")
def sitemap(site: CrawlSite, req: Request) -> Response:
    body = (f'<?xml version="1.0" encoding="cp-1256"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"<url><loc>{site.url('/cs/أخبار/2026/11/29/خبر-خريطة')}</loc></url></urlset>")
    return Response(200, body.encode("cp1256"), {"Content-Type": "application/xml"})


@route("/cs/section-undeclared")
def section_undeclared(site: CrawlSite, req: Request) -> Response:
    """windows-1256 section page with no declaration anywhere; its article links carry raw Arabic slugs."""
    body = ("<html><head><title>سياسة</title></head><body><ul>"
            "<li><a href='/cs/سياسة/2026/11/29/وفد-إلى-القاهرة'>وفد إلى القاهرة</a></li>"
            "<li><a href='/cs/سياسة/2026/11/29/مفاوضات-الهدنة'>مفاوضات الهدنة</a></li></ul></body></html>")
    return Response(200, body.encode("cp1256"), {"Content-Type": "text/html"})


@route("/cs/section-mixed")
def section_mixed(site: CrawlSite, req: Request) -> Response:
    """Template in UTF-8, listing from a windows-1256 database: mojibake by construction (no reading is text)."""
    head = f"<html><head><meta charset='utf-8'><title>{TITLE}</title></head><body><p>{TITLE}</p>".encode()
    items = "".join(f"<li><a href='/cs/x/2026/11/29/story-{i}'>{t}</a></li>" for i, t in enumerate(MIXED * 2))
    return Response(200, head + items.encode("cp1256") + b"</body></html>", {"Content-Type": "text/html"})
