"""Discovery-side routes of the crawl trap site (see server.py)."""

from __future__ import annotations

from tests.crawlsite.server import CrawlSite, Request, Response, route  # noqa: F401
