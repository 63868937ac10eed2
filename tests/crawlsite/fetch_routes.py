"""Fetch-side routes of the crawl trap site (see server.py): every case the fetcher must handle politely.

All paths live under ``/f/`` (plus ``/robots.txt``) so they never collide with the discovery routes. Stateful
cases keep their counters in ``site.state``; tests may set ``site.state["robots"]`` (text) and
``site.state["robots_status"]`` to change robots.txt.
"""

from __future__ import annotations

import gzip
import time
import zlib
from email.utils import formatdate
from functools import cache

from tests.crawlsite.server import CrawlSite, Request, Response, route  # noqa: F401

HTML = {"Content-Type": "text/html; charset=utf-8"}

DEFAULT_ROBOTS = "User-agent: *\nDisallow: /f/private/\n"

ARTICLE_PARAGRAPH = ("أعلنت وزارة الدفاع اليوم أن حاملات الطائرات ستعبر البحر المتوسط خلال الأسبوع المقبل، "
                     "وقال المتحدث باسم الوزارة إن المناورات تجري بالتنسيق مع الدول المجاورة.")


def article(title: str, n: int = 12) -> bytes:
    """A small but real-looking Arabic article page (UTF-8)."""
    paras = "".join(f"<p>{ARTICLE_PARAGRAPH} ({title} {i})</p>" for i in range(n))
    return (f'<!doctype html><html lang="ar" dir="rtl"><head><meta charset="utf-8"><title>{title}</title></head>'
            f"<body><article><h1>{title}</h1>{paras}</article></body></html>").encode()


def _count(site: CrawlSite, key: str) -> int:
    with site._lock:
        n = int(site.state.get(key, 0)) + 1  # type: ignore[arg-type]
        site.state[key] = n
    return n


@route("/robots.txt")
def robots(site: CrawlSite, req: Request) -> Response:
    status = int(site.state.get("robots_status", 200))  # type: ignore[arg-type]
    body = str(site.state.get("robots", DEFAULT_ROBOTS)).encode()
    return Response(status, body if status == 200 else b"error", {"Content-Type": "text/plain"})


for _i in range(1, 9):
    def _page(site: CrawlSite, req: Request, _i: int = _i) -> Response:
        return Response(200, article(f"خبر رقم {_i}"), HTML)
    route(f"/f/a/{_i}.html")(_page)


@route("/f/private/secret.html")
def private(site: CrawlSite, req: Request) -> Response:
    return Response(200, article("سري"), HTML)


# --- retries --------------------------------------------------------------------------------------------
@route("/f/429-then-ok.html")
def too_many_then_ok(site: CrawlSite, req: Request) -> Response:
    if _count(site, "429") == 1:
        return Response(429, b"slow down", {"Retry-After": "1", "Content-Type": "text/plain"})
    return Response(200, article("بعد الانتظار"), HTML)


@route("/f/429-date-then-ok.html")
def too_many_date_then_ok(site: CrawlSite, req: Request) -> Response:
    if _count(site, "429-date") == 1:
        # HTTP-date form (RFC 9110 §10.2.3); second precision, so the wait is 1–2 s
        return Response(429, b"slow down", {"Retry-After": formatdate(time.time() + 2, usegmt=True)})
    return Response(200, article("بعد الانتظار بتاريخ"), HTML)


@route("/f/429-long.html")
def too_many_long(site: CrawlSite, req: Request) -> Response:
    _count(site, "429-long")
    return Response(429, b"come back tomorrow", {"Retry-After": "86400"})


@route("/f/503-twice.html")
def flaky(site: CrawlSite, req: Request) -> Response:
    if _count(site, "503-twice") <= 2:
        return Response(503, b"busy", {"Content-Type": "text/plain"})
    return Response(200, article("بعد العطل"), HTML)


@route("/f/503-always.html")
def down(site: CrawlSite, req: Request) -> Response:
    return Response(503, b"down", {"Content-Type": "text/plain"})


@route("/f/404.html")
def gone(site: CrawlSite, req: Request) -> Response:
    return Response(404, b"gone", {"Content-Type": "text/plain"})


# --- redirects ------------------------------------------------------------------------------------------
@route("/f/redirect/1")
def redirect1(site: CrawlSite, req: Request) -> Response:
    return Response(301, b"", {"Location": "/f/redirect/2"})


@route("/f/redirect/2")
def redirect2(site: CrawlSite, req: Request) -> Response:
    return Response(302, b"", {"Location": site.url("/f/redirect/3")})


@route("/f/redirect/3")
def redirect3(site: CrawlSite, req: Request) -> Response:
    return Response(307, b"", {"Location": "../a/1.html"})


@route("/f/redirect-loop")
def redirect_loop(site: CrawlSite, req: Request) -> Response:
    return Response(302, b"", {"Location": "/f/redirect-loop"})


@route("/f/to-metadata")
def to_metadata(site: CrawlSite, req: Request) -> Response:
    return Response(302, b"", {"Location": "http://169.254.169.254/latest/meta-data/"})


# --- slow, big, bombs -----------------------------------------------------------------------------------
@route("/f/slow-drip.html")
def slow_drip(site: CrawlSite, req: Request) -> Response:
    """60 chunks of 32 bytes, one every 0.1 s: never silent long enough for a read timeout (6 s in all)."""
    return Response(200, headers=HTML, chunks=[b"<p>" + b"x" * 25 + b"</p>"] * 60, delay_s=0.1)


@route("/f/oversized.html")
def oversized(site: CrawlSite, req: Request) -> Response:
    """2 MiB of HTML sent chunked (no Content-Length): only the streamed cap can stop it."""
    return Response(200, headers=HTML, chunks=[b"<p>" + b"\xd8\xa7" * 32000 + b"</p>"] * 33)


@route("/f/oversized-declared.html")
def oversized_declared(site: CrawlSite, req: Request) -> Response:
    return Response(200, b"<p>" + b"a" * (2 * 1024 * 1024) + b"</p>", HTML)


@cache
def bomb(kind: str, size: int = 200 * 1024 * 1024) -> bytes:
    """``size`` zero bytes compressed (~200 KB for 200 MiB): gzip, zlib-wrapped or raw deflate."""
    zero = bytes(1024 * 1024)
    if kind == "gzip":
        c = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    elif kind == "zlib":
        c = zlib.compressobj(9)
    else:
        c = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    return b"".join(c.compress(zero) for _ in range(size // len(zero))) + c.flush()


@route("/f/gzip-bomb.html")
def gzip_bomb(site: CrawlSite, req: Request) -> Response:
    return Response(200, bomb("gzip"), {**HTML, "Content-Encoding": "gzip"})


@route("/f/deflate-bomb.html")
def deflate_bomb(site: CrawlSite, req: Request) -> Response:
    return Response(200, bomb("raw"), {**HTML, "Content-Encoding": "deflate"})


@route("/f/gzip-ok.html")
def gzip_ok(site: CrawlSite, req: Request) -> Response:
    return Response(200, gzip.compress(article("مضغوط")), {**HTML, "Content-Encoding": "gzip"})


@route("/f/deflate-ok.html")
def deflate_ok(site: CrawlSite, req: Request) -> Response:
    return Response(200, zlib.compress(article("مضغوط زلب")), {**HTML, "Content-Encoding": "deflate"})


@route("/f/corrupt-gzip.html")
def corrupt_gzip(site: CrawlSite, req: Request) -> Response:
    return Response(200, b"\x1f\x8b\x08\x00garbage-not-deflate" * 10, {**HTML, "Content-Encoding": "gzip"})


@route("/f/brotli.html")
def brotli(site: CrawlSite, req: Request) -> Response:
    return Response(200, b"\x0b\x02\x80hello\x03", {**HTML, "Content-Encoding": "br"})


@route("/f/report.pdf")
def pdf(site: CrawlSite, req: Request) -> Response:
    return Response(200, b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n", {"Content-Type": "application/pdf"})


# --- charsets (real text from the shared corpus, served without any charset declaration) ----------------
def _chardet(name: str) -> bytes:
    from tests.conftest import CORPUS

    return (CORPUS / "chardet" / name).read_bytes()


@route("/f/cp1256.html")
def cp1256(site: CrawlSite, req: Request) -> Response:
    return Response(200, _chardet("_chromium_windows-1256_with_no_encoding_specified.html"),
                    {"Content-Type": "text/html"})


@route("/f/iso-8859-6.html")
def iso_8859_6(site: CrawlSite, req: Request) -> Response:
    return Response(200, _chardet("_chromium_ISO-8859-6_with_no_encoding_specified.html"),
                    {"Content-Type": "text/html"})


# --- interstitials --------------------------------------------------------------------------------------
CF_CHALLENGE = (b'<!DOCTYPE html><html lang="en-US"><head><title>Just a moment...</title>'
                b'<meta http-equiv="refresh" content="390"></head><body><div class="main-wrapper">'
                b'<noscript>Enable JavaScript and cookies to continue</noscript></div>'
                b'<script>(function(){window._cf_chl_opt={cvId: \'3\',cZone: "example.com",cType: \'managed\'};'
                b'var a=document.createElement(\'script\');a.src=\'/cdn-cgi/challenge-platform/h/b/orchestrate/'
                b'chl_page/v1?ray=8f\';}());</script></body></html>')


@route("/f/cf-challenge.html")
def cf_challenge(site: CrawlSite, req: Request) -> Response:
    return Response(403, CF_CHALLENGE, {**HTML, "cf-mitigated": "challenge", "Server": "cloudflare"})


@route("/f/cookie-wall.html")
def cookie_wall(site: CrawlSite, req: Request) -> Response:
    body = ('<html lang="ar"><head><title>قبول ملفات تعريف الارتباط</title></head><body>'
            "<p>نستخدم ملفات تعريف الارتباط. يرجى القبول للمتابعة.</p><button>موافق</button></body></html>")
    return Response(200, body.encode(), HTML)


@route("/f/paywall.html")
def paywall(site: CrawlSite, req: Request) -> Response:
    body = ('<html lang="ar"><head><title>مقال</title><script type="application/ld+json">'
            '{"@type": "NewsArticle", "headline": "مقال", "isAccessibleForFree": false}</script></head>'
            f"<body><p>{ARTICLE_PARAGRAPH}</p><div class='paywall'>اشترك للمتابعة</div></body></html>")
    return Response(200, body.encode(), HTML)


@route("/f/akamai.html")
def akamai(site: CrawlSite, req: Request) -> Response:
    body = (b"<HTML><HEAD>\n<TITLE>Access Denied</TITLE>\n</HEAD><BODY>\n<H1>Access Denied</H1>\n"
            b"You don't have permission to access \"http&#58;&#47;&#47;www&#46;example&#46;com&#47;\" on this "
            b"server.<P>\nReference&#32;&#35;18&#46;5c1e3e17&#46;1700000000&#46;1a2b3c4d\n"
            b"<P>https&#58;&#47;&#47;errors&#46;edgesuite&#46;net&#47;18&#46;5c1e3e17</P></BODY>\n</HTML>\n")
    return Response(403, body, {"Content-Type": "text/html", "Server": "AkamaiGHost"})


# --- conditional GET (the seam the discovery side uses for feeds and sitemaps) ----------------------------
@route("/f/etag.xml")
def etag(site: CrawlSite, req: Request) -> Response:
    if req.headers.get("if-none-match") == '"v1"':
        return Response(304, b"", {"ETag": '"v1"'})
    return Response(200, b"<rss version='2.0'><channel></channel></rss>",
                    {"Content-Type": "application/rss+xml", "ETag": '"v1"'})


ONETRUST_HEAD = ('<script src="https://cdn.cookielaw.org/scripttemplates/otSDKStub.js" data-domain-script="0f3a7c1e">'
                 "</script>")
ONETRUST_BANNER_AR = ('<div id="onetrust-consent-sdk"><div id="onetrust-banner-sdk"><h2>نحن نهتم بخصوصيتك</h2>'
                      "<p>نستخدم نحن وشركاؤنا ملفات تعريف الارتباط لتخزين المعلومات و/أو الوصول إليها على جهازك.</p>"
                      "<button>قبول الكل</button><button>إدارة الخيارات</button></div></div>")


@route("/f/onetrust-wall.html")
def onetrust_wall(site: CrawlSite, req: Request) -> Response:
    """An Arabic consent wall under the real article's og:title (OneTrust markup)."""
    body = ('<html lang="ar"><head><title>الحكومة تطرح سندات جديدة</title>'
            f'<meta property="og:title" content="الحكومة تطرح سندات جديدة">{ONETRUST_HEAD}</head><body>'
            f"{ONETRUST_BANNER_AR}</body></html>")
    return Response(200, body.encode(), HTML)


@route("/f/article-with-onetrust-banner.html")
def article_with_onetrust_banner(site: CrawlSite, req: Request) -> Response:
    """The common case: the same CMP script and banner beside a real article — an article."""
    body = (f'<html lang="ar"><head><title>مقال</title>{ONETRUST_HEAD}</head><body><article>'
            + f"<p>{ARTICLE_PARAGRAPH}</p>" * 4 + f"</article>{ONETRUST_BANNER_AR}</body></html>")
    return Response(200, body.encode(), HTML)
