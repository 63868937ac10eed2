"""The fetch side (politeness, limits, refusals) against the crawl trap site (tests/crawlsite) and the real Kafka.

Each case checks what was published to the raw-pages topic, what was refused and with which reason, and what
the trap site saw (robots first, spacing, retries).
"""

from __future__ import annotations

import multiprocessing
import tracemalloc

import pytest

from marsad.crawl.fetch import Fetcher, FetchRefused
from marsad.crawl.registry import Source
from marsad.crawl.run import fetch_and_publish, seen_db
from marsad.dedup.urls import canonical_url
from marsad.messages import RawPage
from marsad.settings import Settings

from .helpers import read_all

TOL_S = 0.1
"""Tolerance between the crawler's slots and the trap site's arrival times: the two clocks, plus the delivery jitter
of a loaded 2-core test machine (0.02 s missed by ~0.013 s in 3 of 8 runs at load average ~10). A politeness bug
shows as gaps near 0 (two processes in one slot), far below ``interval - TOL_S``."""


def fast(s: Settings, **kw) -> Settings:
    """Politeness settings small enough for tests (seconds), retries on."""
    return s.model_copy(update={"min_host_interval_s": 0.0, "fetch_retries": 2, "retry_backoff_s": 0.05,
                                "retry_backoff_max_s": 0.2, "fetch_total_timeout_s": 5.0, "fetch_timeout_s": 3.0,
                                **kw})


def src(site) -> Source:
    return Source(name="trap", site=site.url("/"))


def published(s: Settings, n: int) -> list[RawPage]:
    return [RawPage.from_kafka(m.value(), m.headers()) for m in read_all(s, s.raw_pages_topic, n)]


def is_seen(s: Settings, url: str) -> bool:
    seen = seen_db(s)
    try:
        return seen.seen(canonical_url(url))
    finally:
        seen.close()


def gaps(times: list[float]) -> list[float]:
    times = sorted(times)
    return [b - a for a, b in zip(times, times[1:])]


# --- robots.txt ---------------------------------------------------------------------------------------------
def test_robots_disallow_is_refused_and_robots_is_fetched_once_for_all_runs(crawl_site, names):
    s = fast(names)
    urls = [crawl_site.url("/f/a/1.html"), crawl_site.url("/f/private/secret.html"), crawl_site.url("/f/a/2.html")]
    counts = fetch_and_publish(s, src(crawl_site), urls)
    assert counts["published"] == 2 and counts["refused:robots-disallowed"] == 1
    assert crawl_site.requests[0].path == "/robots.txt"
    assert crawl_site.hits("/f/private/secret.html") == []
    assert all(r.headers["user-agent"] == s.user_agent for r in crawl_site.requests)
    assert {p.meta.final_url for p in published(s, 2)} == {urls[0], urls[2]}
    assert is_seen(s, urls[1])  # a disallow is a final answer
    # a second run (a new Fetcher, as another Airflow task would make) reuses the shared cache
    fetch_and_publish(s, src(crawl_site), [crawl_site.url("/f/a/3.html")])
    assert len(crawl_site.hits("/robots.txt")) == 1


def test_robots_crawl_delay_spaces_requests(crawl_site, names):
    crawl_site.state["robots"] = "User-agent: MarsadBot\nCrawl-delay: 0.4\nDisallow: /f/private/\n"
    s = fast(names)
    counts = fetch_and_publish(s, src(crawl_site), [crawl_site.url(f"/f/a/{i}.html") for i in range(1, 4)])
    assert counts["published"] == 3
    times = [r.at for r in crawl_site.requests]  # robots.txt + 3 pages
    assert len(times) == 4
    assert min(gaps(times[1:])) >= 0.4 - TOL_S


@pytest.mark.parametrize("status", [500, 503])
def test_robots_server_error_disallows_everything_for_now(crawl_site, names, status):
    crawl_site.state["robots_status"] = status
    s = fast(names, fetch_retries=0)
    url = crawl_site.url("/f/a/1.html")
    counts = fetch_and_publish(s, src(crawl_site), [url])
    assert counts == {"refused:robots-unreachable": 1}
    assert crawl_site.hits("/f/a/1.html") == []
    assert not is_seen(s, url)  # transient: the next run asks again


def test_robots_404_allows_everything(crawl_site, names):
    crawl_site.state["robots_status"] = 404
    s = fast(names)
    counts = fetch_and_publish(s, src(crawl_site), [crawl_site.url("/f/private/secret.html")])
    assert counts["published"] == 1


# --- per-host spacing across processes ------------------------------------------------------------------------
def _worker(settings_json: str, urls: list[str]) -> None:
    s = Settings.model_validate_json(settings_json)
    f = Fetcher(s)
    try:
        for u in urls:
            f.get_bytes(u)
    finally:
        f.close()


def test_host_interval_holds_across_processes(crawl_site, tmp_path):
    s = Settings(crawl_state_dir=tmp_path / "crawl", allow_private_hosts=["127.0.0.1"], min_host_interval_s=0.3,
                 warc_enabled=False)
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_worker, args=(s.model_dump_json(), [crawl_site.url(f"/f/a/{i}.html")
                                                                      for i in range(k, k + 3)]))
             for k in (1, 4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    pages = [r.at for r in crawl_site.requests if r.path.startswith("/f/a/")]
    assert len(pages) == 6
    every = [r.at for r in crawl_site.requests]  # robots.txt requests are spaced too
    assert min(gaps(every)) >= 0.3 - TOL_S


def test_source_min_interval_raises_the_default(crawl_site, tmp_path):
    s = Settings(crawl_state_dir=tmp_path / "crawl", allow_private_hosts=["127.0.0.1"], min_host_interval_s=0.0,
                 warc_enabled=False)
    f = Fetcher(s, Source(name="slow", site=crawl_site.url("/"), min_interval_s=0.3))
    try:
        for i in (1, 2, 3):
            f.get_bytes(crawl_site.url(f"/f/a/{i}.html"))
    finally:
        f.close()
    assert min(gaps([r.at for r in crawl_site.requests])) >= 0.3 - TOL_S


# --- retries ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/f/429-then-ok.html", "/f/429-date-then-ok.html"])
def test_429_waits_for_retry_after_then_publishes(crawl_site, names, path):
    s = fast(names)
    counts = fetch_and_publish(s, src(crawl_site), [crawl_site.url(path)])
    assert counts["published"] == 1 and counts["retries"] == 1
    hits = crawl_site.hits(path)
    assert len(hits) == 2
    assert hits[1].at - hits[0].at >= 1.0 - TOL_S  # "1" or an HTTP-date 1–2 s ahead


def test_retry_after_beyond_the_cap_is_not_waited_and_stays_transient(crawl_site, names):
    s = fast(names, retry_after_max_s=5.0)
    url = crawl_site.url("/f/429-long.html")
    other = crawl_site.url("/f/a/1.html")
    counts = fetch_and_publish(s, src(crawl_site), [url, other])
    # the host asked for a day's pause: its other URLs are refused at once, without a request
    assert counts["refused:http-429"] == 2 and counts.get("published", 0) == 0
    assert len(crawl_site.hits("/f/429-long.html")) == 1 and not crawl_site.hits("/f/a/1.html")
    assert not is_seen(s, url) and not is_seen(s, other)


def test_5xx_is_retried_with_backoff_until_it_works(crawl_site, names):
    s = fast(names)
    counts = fetch_and_publish(s, src(crawl_site), [crawl_site.url("/f/503-twice.html")])
    assert counts["published"] == 1 and counts["retries"] == 2
    assert len(crawl_site.hits("/f/503-twice.html")) == 3


def test_5xx_after_retries_is_a_transient_refusal(crawl_site, names):
    s = fast(names)
    url = crawl_site.url("/f/503-always.html")
    counts = fetch_and_publish(s, src(crawl_site), [url])
    assert counts == {"refused:http-503": 1, "retries": 2}
    assert len(crawl_site.hits("/f/503-always.html")) == 3
    assert not is_seen(s, url)


def test_404_is_not_retried(crawl_site, names):
    s = fast(names)
    url = crawl_site.url("/f/404.html")
    counts = fetch_and_publish(s, src(crawl_site), [url])
    assert counts == {"refused:http-404": 1}
    assert len(crawl_site.hits("/f/404.html")) == 1
    assert is_seen(s, url)


# --- redirects ----------------------------------------------------------------------------------------------
def test_redirect_chain_is_followed_and_final_url_recorded(crawl_site, names):
    s = fast(names)
    start = crawl_site.url("/f/redirect/1")
    counts = fetch_and_publish(s, src(crawl_site), [start, crawl_site.url("/f/redirect-loop")])
    assert counts["published"] == 1 and counts["refused:too-many-redirects"] == 1
    [page] = published(s, 1)
    assert page.meta.url == start
    assert page.meta.final_url == crawl_site.url("/f/a/1.html")
    assert page.meta.canonical_url == canonical_url(crawl_site.url("/f/a/1.html"))


# --- timeouts and size limits -------------------------------------------------------------------------------
def test_slow_drip_is_cut_by_the_total_deadline_and_retried(crawl_site, names):
    s = fast(names, fetch_total_timeout_s=0.5, fetch_timeout_s=0.5, fetch_retries=1)
    url = crawl_site.url("/f/slow-drip.html")
    counts = fetch_and_publish(s, src(crawl_site), [url, crawl_site.url("/f/a/1.html")])
    assert counts["refused:timeout"] == 1 and counts["retries"] == 1 and counts["published"] == 1
    assert len(crawl_site.hits("/f/slow-drip.html")) == 2
    assert not is_seen(s, url)


@pytest.mark.parametrize("path", ["/f/oversized.html", "/f/oversized-declared.html", "/f/gzip-bomb.html",
                                  "/f/deflate-bomb.html"])
def test_too_large_pages_and_compression_bombs_are_dead_lettered(crawl_site, names, path):
    s = fast(names, max_page_bytes=1024 * 1024)
    counts = fetch_and_publish(s, src(crawl_site), [crawl_site.url(path), crawl_site.url("/f/a/1.html")])
    assert counts["refused:too-large"] == 1 and counts["dead_lettered"] == 1 and counts["published"] == 1
    [dead] = read_all(s, s.dead_letter_topic, 1)
    assert dict(dead.headers())["dlq.reason"] == b"too-large"
    assert dead.key() == canonical_url(crawl_site.url(path)).encode()


@pytest.mark.parametrize("path", ["/f/gzip-bomb.html", "/f/deflate-bomb.html"])
def test_bomb_never_inflates_past_the_cap_in_memory(crawl_site, tmp_path, path):
    from tests.crawlsite.fetch_routes import bomb

    bomb("gzip"), bomb("raw")  # built before measuring (the site's own memory)
    cap = 1024 * 1024
    s = Settings(crawl_state_dir=tmp_path, allow_private_hosts=["127.0.0.1"], min_host_interval_s=0.0,
                 warc_enabled=False, max_page_bytes=cap)
    f = Fetcher(s)
    try:
        f.get_bytes(crawl_site.url("/f/a/1.html"))  # robots.txt and the connection pool warm
        tracemalloc.start()
        with pytest.raises(FetchRefused) as e:
            f.get_bytes(crawl_site.url(path))
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    finally:
        f.close()
    assert e.value.reason == "too-large" and "inflated" in e.value.detail
    assert peak < 4 * cap  # 200 MiB of zeros behind ~200 KB on the wire


@pytest.mark.parametrize("path", ["/f/gzip-ok.html", "/f/deflate-ok.html"])
def test_compressed_pages_are_published_decoded(crawl_site, names, path):
    from tests.crawlsite.fetch_routes import article

    s = fast(names)
    counts = fetch_and_publish(s, src(crawl_site), [crawl_site.url(path)])
    assert counts["published"] == 1
    [page] = published(s, 1)
    assert page.body.startswith(b"<!doctype html>") and page.body in (article("مضغوط"), article("مضغوط زلب"))
    assert crawl_site.hits(path)[0].headers["accept-encoding"] == "gzip, deflate"


def test_bad_encodings_and_non_html_are_refused_with_their_reason(crawl_site, names):
    s = fast(names)
    counts = fetch_and_publish(s, src(crawl_site), [crawl_site.url(p) for p in
                                                    ("/f/corrupt-gzip.html", "/f/brotli.html", "/f/report.pdf")])
    assert counts == {"refused:bad-encoding": 1, "refused:unsupported-encoding": 1, "refused:not-html": 1}


# --- charsets -----------------------------------------------------------------------------------------------
def test_undeclared_arabic_charsets_extract_to_arabic_end_to_end(crawl_site, names, corpus):
    from marsad.extract.stage import extract_article

    s = fast(names)
    counts = fetch_and_publish(s, src(crawl_site), [crawl_site.url("/f/cp1256.html"),
                                                    crawl_site.url("/f/iso-8859-6.html")])
    assert counts["published"] == 2
    pages = published(s, 2)
    assert {p.meta.headers["content-type"] for p in pages} == {"text/html"}
    texts = set()
    for p in pages:
        art = extract_article(p.body, p.meta.url, fetched_at=p.meta.fetched_at,
                              content_type=p.meta.headers.get("content-type"))
        assert "كتائب الشهيد عز الدين القسام" in art.text and "بيت لاهيا شمال قطاع غزة" in art.text
        assert "\ufffd" not in art.text
        texts.add(art.content_hash)
    assert len(texts) == 1  # the same paragraph in two encodings: identical once decoded


# --- interstitials and SSRF ---------------------------------------------------------------------------------
def test_interstitials_are_counted_per_kind_and_never_published(crawl_site, names):
    s = fast(names)
    paths = ["/f/cf-challenge.html", "/f/akamai.html", "/f/cookie-wall.html", "/f/paywall.html", "/f/a/1.html"]
    counts = fetch_and_publish(s, src(crawl_site), [crawl_site.url(p) for p in paths])
    assert counts["refused:interstitial:challenge"] == 2 and counts["interstitial:challenge"] == 2
    assert counts["interstitial:consent"] == 1 and counts["interstitial:paywall"] == 1
    assert counts["published"] == 1
    [page] = published(s, 1)
    assert page.meta.final_url.endswith("/f/a/1.html")
    assert not is_seen(s, crawl_site.url("/f/cf-challenge.html"))  # a challenge may pass next time
    assert is_seen(s, crawl_site.url("/f/paywall.html"))


def test_links_to_the_metadata_address_are_refused(crawl_site, names):
    s = fast(names)
    counts = fetch_and_publish(s, src(crawl_site), ["http://169.254.169.254/latest/meta-data/",
                                                    crawl_site.url("/f/to-metadata")])
    assert counts == {"refused:private-address": 2}


def test_unresolvable_host_and_refused_connection(crawl_site, names):
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}/a.html"
    s = fast(names, obey_robots=False, fetch_retries=1)
    counts = fetch_and_publish(s, src(crawl_site), ["http://no-such-host.invalid/a.html", closed])
    assert counts == {"refused:dns-error": 1, "refused:http-error": 1, "retries": 1}
    assert not is_seen(s, closed)


def test_robots_unreachable_host_is_not_fetched(crawl_site, names):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}/a.html"
    s = fast(names, fetch_retries=0)
    assert fetch_and_publish(s, src(crawl_site), [closed]) == {"refused:robots-unreachable": 1}


def test_conditional_get_returns_304_through_the_politeness_path(crawl_site, tmp_path):
    s = Settings(crawl_state_dir=tmp_path, allow_private_hosts=["127.0.0.1"], min_host_interval_s=0.0)
    f = Fetcher(s)
    try:
        first, body, _ = f.get_bytes(crawl_site.url("/f/etag.xml"))
        again, empty, final = f.get_bytes(crawl_site.url("/f/etag.xml"), headers={"If-None-Match": '"v1"'})
    finally:
        f.close()
    assert (first.status_code, again.status_code, empty) == (200, 304, b"")
    assert body.startswith(b"<rss") and final == crawl_site.url("/f/etag.xml")
    assert [r.path for r in crawl_site.requests] == ["/robots.txt", "/f/etag.xml", "/f/etag.xml"]


def test_a_dead_host_is_skipped_after_a_few_failures(crawl_site, names):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}"
    s = fast(names, obey_robots=False, fetch_retries=0, host_failures_to_skip=2)
    urls = [f"{dead}/{i}.html" for i in range(5)] + [crawl_site.url("/f/a/1.html")]
    counts = fetch_and_publish(s, src(crawl_site), urls)
    assert counts == {"refused:http-error": 2, "refused:host-down": 3, "fetched": 1, "published": 1}
    assert not is_seen(s, urls[4])


def test_consent_wall_is_refused_per_vendor_and_an_article_with_the_same_banner_is_published(crawl_site, names):
    """Consent walls, through the real fetcher and Kafka. Expected before running: the OneTrust wall is refused
    interstitial:consent and counted under its rule; the article carrying the same banner is published."""
    s = fast(names)
    paths = ["/f/onetrust-wall.html", "/f/article-with-onetrust-banner.html"]
    counts = fetch_and_publish(s, src(crawl_site), [crawl_site.url(p) for p in paths])
    assert counts["refused:interstitial:consent"] == 1 and counts["interstitial:consent"] == 1
    assert counts["interstitial-rule:onetrust-consent-wall"] == 1
    assert counts["published"] == 1
    [page] = published(s, 1)
    assert page.meta.final_url.endswith("/f/article-with-onetrust-banner.html")
