"""Kafka down while publishing: a pending frontier URL is not charged an attempt it never had, so it is not abandoned.
Real HTTP against a local server (:mod:`tests.integration.routed_site`), real SQLite state, real Kafka where the path
publishes."""

from __future__ import annotations

import pytest

from marsad.crawl.discover import discover_source
from marsad.crawl.registry import Source

from .routed_site import ROUTES, crawl_settings


# --- Kafka down: a pending URL is not charged an attempt it never had ------------------------------------------
def test_kafka_outage_does_not_make_the_frontier_abandon_urls(routed_site, tmp_path):
    """Only a fetch counts an attempt, not a hand-out: with Kafka down (fetch_and_publish fails at once, before
    fetching anything, or cannot deliver) a crawl run that charged every pending URL would, after
    frontier_max_attempts runs of an outage (5 × 30 min), abandon every pending article — lost, counted as if the
    URL itself kept failing."""
    from marsad.crawl.run import fetch_and_publish
    from marsad.errors import TransientError

    link = f"{routed_site}/news/2026/11/29/story-during-a-kafka-outage"
    ROUTES["/r3/outage-feed.xml"] = (200, {"Content-Type": "application/rss+xml; charset=utf-8"}, (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
        f'<item><title>a</title><link>{link}</link></item></channel></rss>').encode())
    s = crawl_settings(tmp_path, frontier_max_attempts=2, kafka_bootstrap="127.0.0.1:1")
    src = Source(name="routedoutage", site=f"{routed_site}/", feeds=[f"{routed_site}/r3/outage-feed.xml"])
    for _ in range(2):
        assert discover_source(s, src).urls == [link]
        with pytest.raises(TransientError):
            fetch_and_publish(s, src, [link])
    third = discover_source(s, src)
    assert third.counts["abandoned"] == 0 and third.urls == [link]
