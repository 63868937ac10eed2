"""Review 3 (adversarial) tests of the crawl side (issue #3): robots.txt edge cases, malformed links in discovered
resources, Retry-After beyond the cap, truncated WARC records. Real HTTP against a local server, real SQLite state,
real Kafka where the path publishes."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from marsad.crawl.archive import WarcArchive
from marsad.crawl.discover import discover_source
from marsad.crawl.fetch import Fetcher, FetchRefused
from marsad.crawl.registry import Source
from marsad.crawl.warc import iter_raw_pages
from marsad.settings import Settings

ARTICLE = ("<html><head><title>خبر</title></head><body><article>"
           + "<p>هذا نص عربي طويل عن حاملات الطائرات في البحر المتوسط.</p>" * 20
           + "</article></body></html>").encode()

ROUTES: dict[str, tuple[int, dict[str, str], bytes]] = {}
HITS: Counter = Counter()


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802
        host = self.headers.get("Host", "")
        HITS[self.path] += 1
        status, headers, body = ROUTES.get(f"{host}{self.path}", ROUTES.get(self.path, (404, {}, b"not found")))
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def site():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


def _settings(tmp_path: Path, **kw) -> Settings:
    base = dict(allow_private_hosts=["127.0.0.1"], crawl_state_dir=tmp_path / "crawl", min_host_interval_s=0.0,
                retry_backoff_s=0.01, retry_backoff_max_s=0.02, poll_min_interval_s=600, poll_max_interval_s=86400)
    base.update(kw)
    return Settings(**base)


# --- robots.txt ---------------------------------------------------------------------------------------
def test_robots_txt_with_a_utf8_bom_still_disallows(site, tmp_path):
    """Windows/IIS tools save robots.txt with a UTF-8 byte order mark; Google strips it. Left in, the first line
    reads '\\ufeffUser-agent' and protego drops the whole group: every Disallow was ignored."""
    ROUTES["/robots.txt"] = (200, {"Content-Type": "text/plain"},
                             b"\xef\xbb\xbfUser-agent: *\nDisallow: /private/\n")
    ROUTES["/private/secret-article-12345"] = (200, {"Content-Type": "text/html"}, ARTICLE)
    HITS.clear()
    f = Fetcher(_settings(tmp_path))
    try:
        with pytest.raises(FetchRefused) as e:
            f.fetch(f"{site}/private/secret-article-12345", "review3")
    finally:
        f.close()
        del ROUTES["/robots.txt"]
    assert e.value.reason == "robots-disallowed"
    assert HITS["/private/secret-article-12345"] == 0


# --- malformed links in feeds, sitemaps and section pages -------------------------------------------------
BAD = "http://[bad-ipv6"


def test_a_malformed_link_is_counted_not_fatal_for_the_whole_discovery(site, tmp_path):
    """One href that urljoin cannot parse (an unclosed IPv6 bracket) raised ValueError out of discover_source:
    the source's discovery failed on every run until the page changed."""
    good = [f"{site}/news/2026/11/29/first-story-here", f"{site}/news/2026/11/29/second-story-here",
            f"{site}/news/2026/11/29/third-story-here"]
    ROUTES["/r3/section"] = (200, {"Content-Type": "text/html; charset=utf-8"}, (
        f'<html><body><a href="{BAD}/x">bad</a><a href="{good[0]}">ok</a></body></html>').encode())
    ROUTES["/r3/feed.xml"] = (200, {"Content-Type": "application/rss+xml"}, (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
        f'<item><title>a</title><link>{BAD}/y</link></item>'
        f'<item><title>b</title><link>{good[1]}</link></item></channel></rss>').encode())
    ROUTES["/r3/sitemap.xml"] = (200, {"Content-Type": "application/xml"}, (
        '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f'<url><loc>{BAD}/z</loc></url><url><loc>{good[2]}</loc></url></urlset>').encode())
    src = Source(name="review3", site=f"{site}/", feeds=[f"{site}/r3/feed.xml"],
                 sitemaps=[f"{site}/r3/sitemap.xml"], section_pages=[f"{site}/r3/section"])
    found = discover_source(_settings(tmp_path), src)
    assert sorted(found.urls) == sorted(good)
    # feedparser itself drops the unparseable <link> (counted no-link); the section page and sitemap count bad-link
    assert found.counts["bad-link"] + found.counts["no-link"] == 3, found.counts


def test_a_malformed_base_href_falls_back_to_the_page_url(site, tmp_path):
    link = "/news/2026/11/29/story-with-a-bad-base"
    ROUTES["/r3/section-base"] = (200, {"Content-Type": "text/html; charset=utf-8"}, (
        f'<html><head><base href="{BAD}/"></head><body><a href="{link}">ok</a></body></html>').encode())
    src = Source(name="review3b", site=f"{site}/", section_pages=[f"{site}/r3/section-base"])
    found = discover_source(_settings(tmp_path), src)
    assert found.urls == [f"{site}{link}"]


# --- Retry-After beyond the cap ---------------------------------------------------------------------------
def test_retry_after_beyond_the_cap_holds_the_host_for_later_urls(site, tmp_path):
    """A 429 with Retry-After: 3600 (above retry_after_max_s) was not waited for — fine — but the next URLs of the
    same host were requested at once anyway, each drawing its own 429: the server's Retry-After was ignored for
    the host. Every process must hold off the host until then (without sleeping: refused at once, transient)."""
    for i in range(3):
        ROUTES[f"/busy/{i}"] = (429, {"Retry-After": "3600"}, b"slow down")
    HITS.clear()
    s = _settings(tmp_path, retry_after_max_s=5.0, fetch_retries=2)
    f = Fetcher(s)
    reasons = []
    try:
        for i in range(3):
            with pytest.raises(FetchRefused) as e:
                f.fetch(f"{site}/busy/{i}", "review3")
            reasons.append(e.value.reason)
    finally:
        f.close()
    assert reasons == ["http-429"] * 3
    assert all(FetchRefused(r, "").transient for r in reasons)
    assert HITS["/busy/0"] == 1 and HITS["/busy/1"] == 0 and HITS["/busy/2"] == 0
    # another process (a new Fetcher on the same crawl state) holds off the host too, without sleeping
    f2 = Fetcher(s)
    try:
        with pytest.raises(FetchRefused) as e:
            f2.fetch(f"{site}/busy/1", "review3")
    finally:
        f2.close()
    assert e.value.reason == "http-429" and HITS["/busy/1"] == 0


# --- truncated WARC ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("gz", [True, False])
def test_truncated_warc_record_is_skipped_not_published_as_a_whole_page(tmp_path, gz):
    """A WARC cut short (a crash leaves `.warc.gz.open`; a partial download) gave the truncated payload as if it
    were the whole page: a half article published and indexed. It must be skipped with a reason."""
    import gzip
    import os

    a = WarcArchive(tmp_path / "w", 1 << 30)
    whole = b"<html><body>" + os.urandom(20000).hex().encode() + b"</body></html>"
    a.write(url="http://news.example.com/a-1", fetched_at=datetime.now(timezone.utc),
            request_headers=[("User-Agent", "x")], status=200, reason="OK", http_version="HTTP/1.1",
            response_headers=[("Content-Type", "text/html")], body=ARTICLE)
    a.write(url="http://news.example.com/a-2", fetched_at=datetime.now(timezone.utc),
            request_headers=[("User-Agent", "x")], status=200, reason="OK", http_version="HTTP/1.1",
            response_headers=[("Content-Type", "text/html")], body=whole)
    a.close()
    data = a.files[0].read_bytes()
    if not gz:
        data = gzip.decompress(data)
    cut = tmp_path / ("cut.warc.gz" if gz else "cut.warc")
    cut.write_bytes(data[: len(data) - len(data) // 4])
    counts: Counter = Counter()
    pages = list(iter_raw_pages(cut, "warc", counts))
    assert [p.meta.url for p in pages] == ["http://news.example.com/a-1"]
    assert pages[0].body == ARTICLE
    assert counts["skipped:truncated"] == 1


# --- WARC files left .open by a crashed crawl process --------------------------------------------------------
def test_warc_left_open_by_a_dead_process_is_recovered_by_the_next_archive(tmp_path):
    """A crawl task killed mid-run (OOM, SIGKILL) left `marsad-…-<pid>-<n>.warc.gz.open` forever: nothing renamed
    it, so the responses in it never reached whatever collects the closed `.warc.gz` files."""
    import os
    import subprocess
    import sys

    d = tmp_path / "warc"
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(child.stdout)
    a = WarcArchive(d, 1 << 30)
    a.write(url="http://news.example.com/a-1", fetched_at=datetime.now(timezone.utc),
            request_headers=[("User-Agent", "x")], status=200, reason="OK", http_version="HTTP/1.1",
            response_headers=[("Content-Type", "text/html")], body=ARTICLE)
    live_open = a._path.with_name(a._path.name + ".open")  # still being written by this (live) process
    crashed = d / f"marsad-20260101000000-{dead_pid}-0.warc.gz.open"
    crashed.write_bytes(live_open.read_bytes())  # what a killed writer leaves behind
    b = WarcArchive(d, 1 << 30)
    b.write(url="http://news.example.com/a-2", fetched_at=datetime.now(timezone.utc),
            request_headers=[("User-Agent", "x")], status=200, reason="OK", http_version="HTTP/1.1",
            response_headers=[("Content-Type", "text/html")], body=ARTICLE)
    assert not crashed.exists()
    recovered = d / f"marsad-20260101000000-{dead_pid}-0.warc.gz"
    assert recovered.exists() and live_open.exists()  # a live writer's file is left alone
    counts: Counter = Counter()
    assert [p.meta.url for p in iter_raw_pages(recovered, "warc", counts)] == ["http://news.example.com/a-1"]
    a.close()
    b.close()
    assert not list(d.glob("*.open"))
    assert os.path.exists(a.files[0]) and os.path.exists(b.files[0])


# --- SSRF: IPv4 addresses embedded in IPv6 ------------------------------------------------------------------
@pytest.mark.parametrize("url", [
    "http://[64:ff9b::a9fe:a9fe]/latest/meta-data/",   # NAT64 (RFC 6052) of 169.254.169.254
    "http://[64:ff9b:1::a9fe:a9fe]/",                  # local-use NAT64 prefix (RFC 8215)
    "http://[2002:a9fe:a9fe::1]/",                     # 6to4 of 169.254.169.254
    "http://[::127.0.0.1]/",                           # IPv4-compatible (deprecated) loopback
    "http://[2001:0:4136:e378:8000:63bf:f5ff:fffe]/",  # Teredo whose client is 10.0.0.1
])
def test_ipv4_embedded_in_ipv6_is_checked_like_ipv4(url):
    """ipaddress calls these IPv6 forms global, yet on a NAT64/6to4 network they reach the embedded IPv4 address
    (the cloud metadata service, loopback, the private network)."""
    from marsad.crawl.fetch import check_address

    with pytest.raises(FetchRefused) as e:
        check_address(url, Settings())
    assert e.value.reason == "private-address"


def test_a_public_ipv6_address_still_passes():
    from marsad.crawl.fetch import check_address

    check_address("http://[2606:4700:4700::1111]/", Settings())  # Cloudflare DNS: global, nothing embedded


# --- SSRF: DNS rebinding between the check and the connection -----------------------------------------------
def test_dns_rebinding_between_check_and_connect_is_refused(site, tmp_path, monkeypatch):
    """check_address resolved the host, then httpx resolved it again to connect: a name whose first answer is
    public and the next one loopback/metadata (DNS rebinding, TTL 0) passed the guard and reached the private
    address. The connection must go to an address that was checked."""
    import socket

    port = int(site.rsplit(":", 1)[1])
    ROUTES["/internal/admin-secret-98765"] = (200, {"Content-Type": "text/html"}, ARTICLE)
    real = socket.getaddrinfo
    asked: Counter = Counter()

    def rebinding(host, *args, **kw):
        if host == "rebind.example":
            asked[host] += 1
            ip = "93.184.216.34" if asked[host] == 1 else "127.0.0.1"
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, args[0] if args else port))]
        return real(host, *args, **kw)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    HITS.clear()
    f = Fetcher(_settings(tmp_path, obey_robots=False, fetch_retries=0))
    try:
        with pytest.raises(FetchRefused) as e:
            f.fetch(f"http://rebind.example:{port}/internal/admin-secret-98765", "review3")
    finally:
        f.close()
    assert e.value.reason == "private-address"
    assert HITS["/internal/admin-secret-98765"] == 0


# --- a gzip body cut short ----------------------------------------------------------------------------------
def test_gzip_body_cut_short_is_bad_encoding_not_a_partial_page(site, tmp_path):
    """zlib neither raises on a gzip stream that stops before its end nor on flush(): a response whose gzip data
    was cut (a proxy or a server that truncated the compressed file, with a matching Content-Length) was accepted
    and the partial article published as the page."""
    import gzip

    whole = gzip.compress(ARTICLE * 4)
    ROUTES["/gz/cut-article-55555"] = (200, {"Content-Type": "text/html; charset=utf-8", "Content-Encoding": "gzip"},
                                       whole[: len(whole) // 2])
    ROUTES["/gz/whole-article-55556"] = (200, {"Content-Type": "text/html; charset=utf-8",
                                               "Content-Encoding": "gzip"}, whole)
    f = Fetcher(_settings(tmp_path))
    try:
        assert f.fetch(f"{site}/gz/whole-article-55556", "review3").body == ARTICLE * 4
        with pytest.raises(FetchRefused) as e:
            f.fetch(f"{site}/gz/cut-article-55555", "review3")
    finally:
        f.close()
    assert e.value.reason == "bad-encoding"


# --- section pages: Arabic links in the page's own charset ----------------------------------------------------
SLUG = "/news/خبر-عاجل-عن-الاقتصاد-اللبناني"
FILLER = "<p>" + "تقارير وأخبار عاجلة من لبنان والعالم العربي حول الاقتصاد والسياسة والمجتمع. " * 30 + "</p>"


@pytest.mark.parametrize("enc,ctype", [
    ("utf-8", "text/html; charset=utf-8"),         # charset in the header only, no <meta>
    ("cp1256", "text/html; charset=windows-1256"),
    ("cp1256", "text/html"),                        # undeclared windows-1256 (corpus/chardet)
    ("iso-8859-6", "text/html"),                    # undeclared ISO-8859-6
])
def test_section_page_arabic_links_are_decoded_with_the_page_charset(site, tmp_path, enc, ctype):
    """lxml parsed the raw bytes, which without a <meta charset> it reads as Latin-1: every raw Arabic href became
    mojibake (…/news/ÎÈÑ-ÚÇÌá…), was fetched as a URL that does not exist (404, a final refusal: marked seen) and
    the article was lost. The page must be decoded like an article (header, <meta>, detection)."""
    path = f"/r3/section-{enc}-{ctype.endswith('html')}"
    ROUTES[path] = (200, {"Content-Type": ctype}, (
        f'<html><head><title>أخبار لبنان</title></head><body>{FILLER}<a href="{SLUG}">خبر</a>{FILLER}</body></html>'
    ).encode(enc))
    src = Source(name="review3ar", site=f"{site}/", section_pages=[f"{site}{path}"])
    found = discover_source(_settings(tmp_path), src)
    assert found.urls == [f"{site}{SLUG}"]


@pytest.mark.parametrize("enc,ctype", [
    ("cp1256", "application/rss+xml; charset=windows-1256"),  # charset in the header only, no encoding= decl
    ("cp1256", "application/rss+xml"),                         # undeclared windows-1256
    ("iso-8859-6", "text/xml"),                                # undeclared ISO-8859-6
    ("utf-8", "application/rss+xml"),
])
def test_feed_arabic_links_are_decoded_with_the_feed_charset(site, tmp_path, enc, ctype):
    """feedparser was given the body without its Content-Type: a feed whose charset is only in the header (or not
    declared at all) was read as UTF-8, then windows-1252 — every raw Arabic <link> became mojibake."""
    path = f"/r3/feed-{enc}-{ctype.count('charset')}.xml"
    desc = FILLER.replace("<p>", "").replace("</p>", "")
    ROUTES[path] = (200, {"Content-Type": ctype}, (
        f'<rss version="2.0"><channel><title>أخبار لبنان</title><description>{desc}</description>'
        f'<item><title>خبر عاجل</title><link>{site}{SLUG}</link><description>{desc}</description></item>'
        '</channel></rss>').encode(enc))
    src = Source(name="review3feed", site=f"{site}/", feeds=[f"{site}{path}"])
    found = discover_source(_settings(tmp_path), src)
    assert found.urls == [f"{site}{SLUG}"]


# --- a host name the IDNA codec rejects ---------------------------------------------------------------------
def test_a_host_name_idna_rejects_is_bad_url_not_a_crash_of_the_batch(site, names):
    """socket.getaddrinfo('a..b.com') raises UnicodeError (an empty label), not gaierror: check_address let it out
    and fetch_and_publish died — every URL of the batch unpublished and unmarked, the same crash on every run until
    the whole batch was abandoned."""
    from marsad.crawl.run import fetch_and_publish, seen_db
    from marsad.dedup.urls import canonical_url
    from marsad.kafka.clients import ensure_topics

    from .helpers import read_all

    ensure_topics(names)
    ROUTES["/ok/idna-neighbour-article-77777"] = (200, {"Content-Type": "text/html; charset=utf-8"}, ARTICLE)
    bad = ["http://a..b.example/news/article-77777", "http://" + "a" * 70 + ".example/news/article-77778"]
    good = f"{site}/ok/idna-neighbour-article-77777"
    counts = fetch_and_publish(names, Source(name="review3idna", site=f"{site}/"), [*bad, good])
    assert counts["refused:bad-url"] == 2 and counts["published"] == 1
    assert len(read_all(names, names.raw_pages_topic, 1)) == 1
    seen = seen_db(names)
    try:
        assert all(seen.seen(canonical_url(u)) for u in [*bad, good])  # a final answer: not asked again
    finally:
        seen.close()


# --- Kafka down: a pending URL is not charged an attempt it never had ------------------------------------------
def test_kafka_outage_does_not_make_the_frontier_abandon_urls(site, tmp_path):
    """Every discovery hand-out counted an attempt, fetched or not: with Kafka down (fetch_and_publish fails at
    once, before fetching anything, or cannot deliver) each crawl run still charged every pending URL, and after
    frontier_max_attempts runs of an outage (5 × 30 min) every pending article was abandoned — lost, counted as
    if the URL itself kept failing."""
    from marsad.crawl.run import fetch_and_publish
    from marsad.errors import TransientError

    link = f"{site}/news/2026/11/29/story-during-a-kafka-outage"
    ROUTES["/r3/outage-feed.xml"] = (200, {"Content-Type": "application/rss+xml; charset=utf-8"}, (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
        f'<item><title>a</title><link>{link}</link></item></channel></rss>').encode())
    s = _settings(tmp_path, frontier_max_attempts=2, kafka_bootstrap="127.0.0.1:1")
    src = Source(name="review3outage", site=f"{site}/", feeds=[f"{site}/r3/outage-feed.xml"])
    for _ in range(2):
        assert discover_source(s, src).urls == [link]
        with pytest.raises(TransientError):
            fetch_and_publish(s, src, [link])
    third = discover_source(s, src)
    assert third.counts["abandoned"] == 0 and third.urls == [link]


# --- an Arabic URL through the WARC archive --------------------------------------------------------------------
def test_arabic_url_is_fetched_archived_and_published(site, names):
    """warcio writes WARC headers as ASCII: a URL with raw Arabic (as feeds and section pages give them), or a
    response header with raw UTF-8 (a Link: <…/خبر>; rel=canonical), raised UnicodeEncodeError in the WARC write,
    out of fetch_and_publish — the whole batch died on every run."""
    from urllib.parse import quote

    from marsad.crawl.run import fetch_and_publish
    from marsad.kafka.clients import ensure_topics

    from .helpers import read_all

    ensure_topics(names)
    path = "/news/خبر-عاجل-عن-الاقتصاد-88888"
    # raw UTF-8 in a response header (httpx decodes it as UTF-8): also not ASCII for warcio
    link = f"<{site}{path}>; rel=canonical".encode().decode("latin-1")  # the wire bytes are UTF-8
    ROUTES[quote(path)] = (200, {"Content-Type": "text/html; charset=utf-8", "Link": link}, ARTICLE)
    url = f"{site}{path}"
    assert names.warc_enabled
    counts = fetch_and_publish(names, Source(name="review3warc", site=f"{site}/"), [url])
    assert counts["published"] == 1, counts
    [msg] = read_all(names, names.raw_pages_topic, 1)
    warcs = list(names.warc_path.glob("*.warc.gz"))
    pages = [p for w in warcs for p in iter_raw_pages(w, "warc", Counter())]
    assert [p.meta.canonical_url for p in pages] == [msg.key().decode()]
