"""robots.txt with a byte order mark still disallows; a Retry-After beyond the cap holds the host for later URLs. Real
HTTP against a local server (:mod:`tests.integration.routed_site`), real SQLite state, real Kafka where the path
publishes."""

from __future__ import annotations

import pytest

from marsad.crawl.fetch import Fetcher, FetchRefused

from .routed_site import ARTICLE, HITS, ROUTES, crawl_settings


# --- robots.txt ---------------------------------------------------------------------------------------
def test_robots_txt_with_a_utf8_bom_still_disallows(routed_site, tmp_path):
    """Windows/IIS tools save robots.txt with a UTF-8 byte order mark; Google strips it. Left in, the first line
    reads '\\ufeffUser-agent' and protego drops the whole group: every Disallow would be ignored."""
    ROUTES["/robots.txt"] = (200, {"Content-Type": "text/plain"},
                             b"\xef\xbb\xbfUser-agent: *\nDisallow: /private/\n")
    ROUTES["/private/secret-article-12345"] = (200, {"Content-Type": "text/html"}, ARTICLE)
    HITS.clear()
    f = Fetcher(crawl_settings(tmp_path))
    try:
        with pytest.raises(FetchRefused) as e:
            f.fetch(f"{routed_site}/private/secret-article-12345", "routed")
    finally:
        f.close()
        del ROUTES["/robots.txt"]
    assert e.value.reason == "robots-disallowed"
    assert HITS["/private/secret-article-12345"] == 0


# --- Retry-After beyond the cap ---------------------------------------------------------------------------
def test_retry_after_beyond_the_cap_holds_the_host_for_later_urls(routed_site, tmp_path):
    """A 429 with Retry-After: 3600 (above retry_after_max_s) is not waited for — but the next URLs of the same
    host must not be requested at once, each drawing its own 429 (the server's Retry-After ignored for the host).
    Every process holds off the host until then (without sleeping: refused at once, transient)."""
    for i in range(3):
        ROUTES[f"/busy/{i}"] = (429, {"Retry-After": "3600"}, b"slow down")
    HITS.clear()
    s = crawl_settings(tmp_path, retry_after_max_s=5.0, fetch_retries=2)
    f = Fetcher(s)
    reasons = []
    try:
        for i in range(3):
            with pytest.raises(FetchRefused) as e:
                f.fetch(f"{routed_site}/busy/{i}", "routed")
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
            f2.fetch(f"{routed_site}/busy/1", "routed")
    finally:
        f2.close()
    assert e.value.reason == "http-429" and HITS["/busy/1"] == 0
