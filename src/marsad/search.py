"""Arabic search over stories: one hit per story, highlighted snippets.

The query runs against the stemmed fields (``title``, ``text``: ``marsad_arabic`` analyzer) and the exact
normalised subfields (``*.exact``) so an exact phrase ranks above a stemmed match. Republications live inside
their story document, so hits are already one per story; ``republication_count`` is returned.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from marsad.index.es import Es
from marsad.settings import Settings

HL_PRE, HL_POST = "\u27e6", "\u27e7"
"""Highlight markers (⟦ ⟧): unambiguous in Arabic text and easy to restyle in a terminal."""


@dataclass
class Hit:
    story_id: str
    score: float
    title: str | None
    url: str
    source: str
    published_at: str | None
    republication_count: int
    snippets: list[str]
    original: dict | None = None
    """Attribution parsed from an aggregator header: ``{site, title, published_at}``."""
    republishers: list[str] | None = None
    """Sources of the story's republications."""
    origin: dict | None = None
    """Who published the story first: ``{site, source, url, title, published_at, via}`` (``via``: attribution or
    earliest)."""

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def text_query(query: str) -> dict[str, Any]:
    """The Elasticsearch query clause for the words of ``query`` (no filters): Marsad's Arabic search semantics.

    Shared by :func:`build_query` (search) and the alert rules (percolator queries), so an alert fires on
    exactly what a search for the same words finds.
    """
    return {
        "bool": {
            "must": [{
                "multi_match": {
                    "query": query,
                    "fields": ["title^3", "text", "title.exact^4", "text.exact^2"],
                    "type": "most_fields",
                    "operator": "and",
                }
            }],
            "should": [{"match_phrase": {"text.exact": {"query": query, "slop": 1, "boost": 3}}}],
        }
    }


def build_query(query: str, *, since: datetime | None = None, until: datetime | None = None,
                source: str | None = None, language: str | None = None, sort: str = "relevance",
                size: int = 10) -> dict[str, Any]:
    """The Elasticsearch request body for :func:`search` (pure; unit-tested)."""
    filters: list[dict[str, Any]] = []
    if source:
        filters.append({"term": {"source": source}})
    if language:
        filters.append({"term": {"language": language}})
    if since or until:
        rng: dict[str, str] = {}
        if since:
            rng["gte"] = since.isoformat()
        if until:
            rng["lt"] = until.isoformat()
        filters.append({"range": {"published_at": rng}})
    body: dict[str, Any] = {
        "size": size,
        "query": {"bool": {"must": [text_query(query)], "filter": filters}},
        "highlight": {
            "pre_tags": [HL_PRE], "post_tags": [HL_POST],
            "fields": {"text": {"fragment_size": 160, "number_of_fragments": 2},
                       "title": {"number_of_fragments": 0}},
        },
        "_source": ["story_id", "title", "url", "source", "published_at", "republication_count", "original",
                    "republications.source", "origin"],
    }
    if sort == "date":
        body["sort"] = [{"published_at": {"order": "desc", "missing": "_last"}}, "_score"]
    return body


def search(settings: Settings, query: str, es: Es | None = None, **kwargs: Any) -> tuple[int, list[Hit]]:
    """Run ``query`` on the stories alias; returns ``(total_hits, hits)``. Raises TransientError if ES is down."""
    es = es or Es(settings.es_url)
    resp = es.request("POST", f"/{settings.stories_alias}/_search", build_query(query, **kwargs))
    hits = []
    for h in resp["hits"]["hits"]:
        src = h["_source"]
        hl = h.get("highlight", {})
        hits.append(Hit(
            story_id=src.get("story_id", h["_id"]), score=h.get("_score") or 0.0, title=src.get("title"),
            url=src.get("url", ""), source=src.get("source", ""), published_at=src.get("published_at"),
            republication_count=src.get("republication_count", 0), snippets=hl.get("text", []),
            original=src.get("original"), origin=src.get("origin"),
            republishers=sorted({r.get("source") for r in src.get("republications") or [] if r.get("source")}),
        ))
    total = resp["hits"]["total"]
    return (total["value"] if isinstance(total, dict) else int(total)), hits
