"""Fetch failures that are a reason, not a crash: a gzip body cut short is bad encoding; a host name the IDNA codec
rejects is bad-url for that URL only. Real HTTP against a local server (:mod:`tests.integration.routed_site`), real
SQLite state, real Kafka where the path publishes."""

from __future__ import annotations

import pytest

from marsad.crawl.fetch import Fetcher, FetchRefused
from marsad.crawl.registry import Source

from .routed_site import ARTICLE, ROUTES, crawl_settings


# --- a gzip body cut short ----------------------------------------------------------------------------------
def test_gzip_body_cut_short_is_bad_encoding_not_a_partial_page(routed_site, tmp_path):
    """zlib neither raises on a gzip stream that stops before its end nor on flush(): unless the fetcher checks
    that the stream ended, a response whose gzip data was cut (a proxy or a server that truncated the compressed
    file, with a matching Content-Length) is accepted and the partial article published as the page."""
    import gzip

    whole = gzip.compress(ARTICLE * 4)
    ROUTES["/gz/cut-article-55555"] = (200, {"Content-Type": "text/html; charset=utf-8", "Content-Encoding": "gzip"},
                                       whole[: len(whole) // 2])
    ROUTES["/gz/whole-article-55556"] = (200, {"Content-Type": "text/html; charset=utf-8",
                                               "Content-Encoding": "gzip"}, whole)
    f = Fetcher(crawl_settings(tmp_path))
    try:
        assert f.fetch(f"{routed_site}/gz/whole-article-55556", "routed").body == ARTICLE * 4
        with pytest.raises(FetchRefused) as e:
            f.fetch(f"{routed_site}/gz/cut-article-55555", "routed")
    finally:
        f.close()
    assert e.value.reason == "bad-encoding"


# --- a host name the IDNA codec rejects ---------------------------------------------------------------------
def test_a_host_name_idna_rejects_is_bad_url_not_a_crash_of_the_batch(routed_site, names):
    """socket.getaddrinfo('a..b.com') raises UnicodeError (an empty label), not gaierror: a check_address that lets
    it out kills fetch_and_publish — every URL of the batch unpublished and unmarked, the same crash on every run
    until the whole batch is abandoned. It must be a refusal with a reason."""
    from marsad.crawl.run import fetch_and_publish, seen_db
    from marsad.dedup.urls import canonical_url
    from marsad.kafka.clients import ensure_topics

    from .helpers import read_all

    ensure_topics(names)
    ROUTES["/ok/idna-neighbour-article-77777"] = (200, {"Content-Type": "text/html; charset=utf-8"}, ARTICLE)
    bad = ["http://a..b.example/news/article-77777", "http://" + "a" * 70 + ".example/news/article-77778"]
    good = f"{routed_site}/ok/idna-neighbour-article-77777"
    counts = fetch_and_publish(names, Source(name="routedidna", site=f"{routed_site}/"), [*bad, good])
    assert counts["refused:bad-url"] == 2 and counts["published"] == 1
    assert len(read_all(names, names.raw_pages_topic, 1)) == 1
    seen = seen_db(names)
    try:
        assert all(seen.seen(canonical_url(u)) for u in [*bad, good])  # a final answer: not asked again
    finally:
        seen.close()
