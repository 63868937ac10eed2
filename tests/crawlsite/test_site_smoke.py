"""The trap site itself answers (unknown paths are 404 and recorded)."""

import httpx

from tests.crawlsite.server import CrawlSite


def test_unknown_path_is_404_and_recorded():
    with CrawlSite() as site:
        r = httpx.get(site.url("/nope?x=1"))
        assert r.status_code == 404
        assert [(q.path, q.query) for q in site.hits("/nope")] == [("/nope", "x=1")]
