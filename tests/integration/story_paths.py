"""The two paths that group articles into stories, run on the same documents: the offline clusterer
(:class:`marsad.dedup.stories.Clusterer`, what ``marsad dedup`` runs) and the pipeline's index stage (Kafka topic
with one partition → one index consumer → Elasticsearch). Both return the stories as sets of canonical URLs.

Used by tests/integration/test_offline_dedup_and_pipeline_give_the_same_stories.py and by
``benchmarks/dedup/paths.py`` (the counts on the dedup gate's data)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from confluent_kafka import Producer

from marsad.dedup.stories import Clusterer
from marsad.dedup.urls import canonical_url
from marsad.index.es import Es
from marsad.index.templates import apply_templates
from marsad.kafka.clients import ensure_topics
from marsad.messages import Article, utcnow
from marsad.settings import Settings
from marsad.text.arabic import content_hash

Stories = set[frozenset[str]]


@dataclass(frozen=True)
class Doc:
    """One cleaned article as both paths get it (``text`` already through ``clean_body``)."""

    id: str
    url: str
    text: str
    source: str
    title: str | None = None
    published_at: datetime | None = None
    attribution_site: str | None = None


def offline_stories(docs: Iterable[Doc]) -> Stories:
    """Stories of the offline clusterer fed ``docs`` in the given order, as sets of canonical URLs."""
    c = Clusterer()
    url_of = {}
    for d in docs:
        c.add(d.id, d.text, d.published_at, d.url, d.source, d.attribution_site)
        url_of[d.id] = canonical_url(d.url)
    return {frozenset(url_of[m] for m in s.members) for s in c.stories.values()}


def pipeline_stories(settings: Settings, docs: Iterable[Doc], label: str = "p", batch_size: int = 100) -> Stories:
    """Stories the index stage makes of ``docs`` produced in the given order to an articles topic with one partition
    and read by one index consumer until idle (names derived from ``settings`` + ``label``; the indices are deleted
    afterwards)."""
    s = settings.model_copy(update={
        "articles_topic": f"{settings.articles_topic}.{label}", "stories_alias": f"{settings.stories_alias}-{label}",
        "stories_index_prefix": f"{settings.stories_alias}-{label}-v",
        "fingerprints_index": f"{settings.fingerprints_index}-{label}", "topic_partitions": 1,
        "index_group": f"{settings.index_group}.{label}", "batch_size": batch_size, "alerts_enabled": False})
    from marsad.pipeline import index_worker

    es = Es(s.es_url)
    apply_templates(s, es)
    ensure_topics(s, [s.articles_topic, s.dead_letter_topic])
    p = Producer({"bootstrap.servers": s.kafka_bootstrap})
    n = 0
    for d in docs:
        original = {"site": d.attribution_site, "title": None, "published_at": None} if d.attribution_site else None
        a = Article(url=d.url, canonical_url=canonical_url(d.url), source=d.source, title=d.title, text=d.text,
                    published_at=d.published_at, fetched_at=utcnow(), original=original,
                    content_hash=content_hash(d.text))
        p.produce(s.articles_topic, key=a.canonical_url.encode(), value=a.to_json())
        n += 1
    assert p.flush(60) == 0
    stats = index_worker(s).run(until_idle=True)
    assert stats.consumed == n, stats
    try:
        es.request("POST", f"/{s.stories_alias}/_refresh")
        out: Stories = set()
        body = {"size": 1000, "query": {"match_all": {}}, "sort": ["_doc"],
                "_source": ["canonical_url", "republications.canonical_url"]}
        got = es.request("POST", f"/{s.stories_alias}/_search", body, params={"scroll": "2m"})
        while got["hits"]["hits"]:
            for h in got["hits"]["hits"]:
                src = h["_source"]
                reps = src.get("republications") or []
                out.add(frozenset([src["canonical_url"], *(r["canonical_url"] for r in reps)]))
            got = es.request("POST", "/_search/scroll", {"scroll": "2m", "scroll_id": got["_scroll_id"]})
        return out
    finally:
        es.request("DELETE", f"/{s.stories_alias}-v*,{s.fingerprints_index}-v*", ok=(404,))
        es.request("DELETE", f"/_index_template/{s.stories_alias}", ok=(404,))
        es.request("DELETE", f"/_index_template/{s.fingerprints_index}", ok=(404,))
