"""Per-host slots, robots.txt rules, backoff and Retry-After parsing (no network). The store tests run against
both crawl state stores (``crawl_store``: SQLite and the real PostgreSQL of `marsad stack up`)."""

from __future__ import annotations

import random
import threading
import time
from email.utils import formatdate

import pytest

from marsad.crawl.politeness import RobotsRules, backoff_s, host_key, parse_retry_after, robots_origin
from marsad.settings import Settings


def test_host_key_and_origin():
    assert host_key("https://WWW.Example.com/a?b") == "www.example.com"
    assert host_key("http://example.com:80/") == "example.com"
    assert host_key("http://127.0.0.1:8765/x") == "127.0.0.1:8765"
    assert robots_origin("https://Example.com:443/a/b") == "https://example.com"
    assert robots_origin("http://127.0.0.1:8765/x") == "http://127.0.0.1:8765"


def test_claims_are_spaced_by_the_interval(crawl_store):
    """Slots as absolute times (``claim_slot``): exact spacing, whatever the load of the machine running the test."""
    p = crawl_store.politeness()
    try:
        before = time.time()
        slots = [p.claim_slot("h", 10.0) for _ in range(3)]
        other = p.claim_slot("other", 10.0)
        after = time.time()
    finally:
        p.close()
    assert before - 1 <= slots[0] <= after + 1  # the first slot is now (clocks of store and test may differ by ms)
    assert slots[1] - slots[0] == pytest.approx(10, abs=1e-3) and slots[2] - slots[1] == pytest.approx(10, abs=1e-3)
    assert before - 1 <= other <= after + 1  # another host is not held back by h


def test_concurrent_claims_never_share_a_slot(crawl_store):
    crawl_store.politeness().close()
    waits: list[float] = []
    lock = threading.Lock()

    def claim() -> None:
        p = crawl_store.politeness()  # one connection each, as separate processes would have
        try:
            w = p.claim("h", 5.0)
        finally:
            p.close()
        with lock:
            waits.append(w)

    threads = [threading.Thread(target=claim) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    slots = sorted(waits)
    assert all(b - a >= 5.0 - 0.5 for a, b in zip(slots, slots[1:])), slots


def test_defer_pushes_the_next_slot(crawl_store):
    p = crawl_store.politeness()
    try:
        p.defer("h", time.time() + 30)
        assert p.claim("h", 1.0) == pytest.approx(30, abs=0.1)
        p.defer("h", time.time() + 1)  # never pulls a slot earlier
        assert p.claim("h", 1.0) == pytest.approx(31, abs=0.1)
    finally:
        p.close()


def test_robots_cache_is_shared_and_expires(crawl_store):
    a = crawl_store.politeness()
    b = crawl_store.politeness()
    try:
        a.store_robots("http://x", RobotsRules(200, b"User-agent: *\nDisallow: /\n"))
        got = b.cached_robots("http://x", 3600)
        assert got is not None and not got.allowed("http://x/a", "MarsadBot")
        assert b.cached_robots("http://x", 0) is None
        a.store_robots("http://y", RobotsRules(503))
        assert b.cached_robots("http://y", 24 * 3600) is not None
    finally:
        a.close()
        b.close()


ROBOTS = b"""User-agent: *
Disallow: /private/
Crawl-delay: 5

User-agent: MarsadBot
Disallow: /no-marsad/
Allow: /no-marsad/ok$
Crawl-delay: 2.5
"""


def test_robots_rules_follow_rfc_9309():
    r = RobotsRules(200, ROBOTS)
    assert r.allowed("http://x/private/a", "MarsadBot")  # our group replaces the * group
    assert not r.allowed("http://x/no-marsad/a", "MarsadBot")
    assert r.allowed("http://x/no-marsad/ok", "marsadbot")  # product token match is case-insensitive
    assert not r.allowed("http://x/private/a", "OtherBot")
    assert r.crawl_delay("MarsadBot") == 2.5 and r.crawl_delay("OtherBot") == 5


@pytest.mark.parametrize("status,allowed", [(404, True), (401, True), (410, True), (429, False), (500, False),
                                            (503, False), (0, False)])
def test_robots_status_semantics(status, allowed):
    r = RobotsRules(status, b"User-agent: *\nDisallow: /\n")
    assert r.allowed("http://x/a", "MarsadBot") is allowed
    assert r.unreachable is (not allowed)


def test_robots_token_is_the_product_token():
    assert Settings().robots_token == "MarsadBot"
    assert Settings(user_agent="Foo/1.0 (+x)").robots_token == "Foo"


def test_backoff_is_capped_exponential_with_equal_jitter():
    rng = random.Random(7)
    for attempt, d in [(0, 1), (1, 2), (2, 4), (5, 30), (10, 30)]:
        for _ in range(20):
            assert d / 2 <= backoff_s(attempt, 1.0, 30.0, rng) <= d


def test_retry_after_seconds_and_http_date():
    now = time.time()
    assert parse_retry_after("120") == 120
    assert parse_retry_after(formatdate(now + 90, usegmt=True), now=now) == pytest.approx(90, abs=1)
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None and parse_retry_after("") is None


def test_robots_origin_of_an_ipv6_literal_keeps_its_brackets():
    """host_key keeps the brackets: without them robots.txt of http://[2606:4700::1111]/ is asked at
    http://2606:4700::1111/robots.txt (an invalid port) -> bad-url -> robots-unreachable for every page of the host."""
    from urllib.parse import urlsplit

    from marsad.crawl.politeness import host_key, robots_origin

    assert robots_origin("http://[2606:4700::1111]/news/x") == "http://[2606:4700::1111]"
    assert robots_origin("https://[2606:4700::1111]:8443/x") == "https://[2606:4700::1111]:8443"
    assert urlsplit(robots_origin("http://[::1]:8080/a") + "/robots.txt").port == 8080
    assert host_key("http://News.Example.com:80/a") == "news.example.com"


def test_holds_are_shared_and_only_pushed_later(crawl_store):
    a, b = crawl_store.politeness(), crawl_store.politeness()
    try:
        assert b.held("h") is None
        a.hold("h", time.time() + 120, 429)
        until, status = b.held("h")
        assert status == 429 and until == pytest.approx(time.time() + 120, abs=1)
        b.hold("h", time.time() + 10, 503)  # never earlier
        assert a.held("h")[0] == pytest.approx(until, abs=0.01)
        a.hold("h", time.time() + 10 * 24 * 3600, 503)  # capped at HOLD_MAX_S
        assert b.held("h")[0] == pytest.approx(time.time() + 24 * 3600, abs=2)
        a.hold("past", time.time() - 1, 503)
        assert b.held("past") is None
    finally:
        a.close()
        b.close()
