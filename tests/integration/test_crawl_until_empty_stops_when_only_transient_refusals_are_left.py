"""``marsad crawl --until-empty`` (:func:`marsad.crawl.run.crawl_until_empty`) stops when a round settled nothing.

A feed lists one good article and one that always answers 503 (transient: the URL stays in the frontier for a later
run). Round 1 publishes the article and releases the 503 URL; round 2 is handed only that URL and settles nothing,
so the worker stops and leaves it pending. Looping on would only spend the URL's attempts
(``frontier_max_attempts``) within seconds and abandon it, instead of leaving it to a later run.
"""

from __future__ import annotations

import pytest
import yaml

from tests.crawlsite.server import CrawlSite, Request, Response, route

pytestmark = pytest.mark.services

GOOD, DOWN = "/f/a/1.html", "/f/503-always.html"  # routes of tests/crawlsite/fetch_routes.py


@route("/ue/feed.xml")
def _feed(site: CrawlSite, req: Request) -> Response:
    items = "".join(f"<item><title>خبر</title><link>{site.url(p)}</link></item>" for p in (GOOD, DOWN))
    body = ('<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>موقع</title>'
            f"<link>{site.url('/ue/')}</link>{items}</channel></rss>").encode()
    return Response(200, body, {"Content-Type": "application/rss+xml; charset=utf-8"})


def test_until_empty_leaves_transient_refusals_for_a_later_run(names, crawl_site, tmp_path):
    from marsad.crawl.run import crawl_until_empty
    from marsad.crawl.stores import open_seen
    from marsad.dedup.urls import canonical_url
    from marsad.kafka.clients import ensure_topics

    registry = tmp_path / "sources.yaml"
    registry.write_text(yaml.safe_dump({"sources": [
        {"name": "ue", "site": crawl_site.url("/ue/"), "feeds": [crawl_site.url("/ue/feed.xml")]}]}))
    s = names.model_copy(update={"sources_file": registry, "fetch_retries": 0, "frontier_max_attempts": 5})
    ensure_topics(s)
    rounds: list[dict[str, int]] = []

    left = crawl_until_empty(s, ["ue"], wait_s=0, on_cycle=lambda _name, counts: rounds.append(counts))

    # gold: two rounds; round 1 fetched the article and released the 503 URL, round 2 only refused it again
    assert left == 1
    assert [(r.get("fetched", 0), r.get("refused:http-503", 0)) for r in rounds] == [(1, 1), (0, 1)], rounds
    assert [r.path for r in crawl_site.requests].count(DOWN) == 2
    seen = open_seen(s)
    try:
        assert seen.pending("ue") == [crawl_site.url(DOWN)]  # still in the frontier, not abandoned
        assert not seen.due(canonical_url(crawl_site.url(GOOD)))
    finally:
        seen.close()
