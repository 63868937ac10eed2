"""Extract and index workers against the real Kafka and Elasticsearch."""

from __future__ import annotations

import pytest

from marsad.index.es import Es, doc_id
from marsad.index.templates import apply_templates
from marsad.kafka.clients import ensure_topics, topic_message_count
from marsad.pipeline import extract_worker, index_worker

from .helpers import publish, raw_page, read_all

pytestmark = pytest.mark.services


def test_extract_worker_produces_articles_and_dead_letters_corrupt_payload(names, corpus):
    ensure_topics(names)
    lbc = (corpus / "fundus" / "LBCGroup_2026_01_08.html").read_bytes()
    publish(names, [raw_page("https://www.lbcgroup.tv/news/world/1/x", lbc, source="lbc")])
    # a corrupt record: no metadata header at all
    from confluent_kafka import Producer

    p = Producer({"bootstrap.servers": names.kafka_bootstrap})
    p.produce(names.raw_pages_topic, key=b"https://broken.example/", value=b"\x00\xff garbage")
    assert p.flush(10) == 0

    stats = extract_worker(names).run(until_idle=True)
    assert stats.consumed == 2
    assert stats.outcomes["ok"] == 1 and stats.outcomes["dead_lettered"] == 1

    articles = read_all(names, names.articles_topic, 1)
    assert len(articles) == 1
    # key = canonical URL: the page's own rel=canonical (same site, not the home page) wins over the fetched URL
    assert articles[0].key().startswith(b"https://lbcgroup.tv/news/lifestyle/898682/")
    dead = read_all(names, names.dead_letter_topic, 1)
    assert len(dead) == 1
    headers = dict(dead[0].headers())
    assert headers["dlq.reason"] == b"bad-raw-page"
    assert headers["dlq.stage"] == b"extract"
    assert dead[0].value() == b"\x00\xff garbage"  # original payload kept

    # offsets were committed: a second run of the same group consumes nothing
    again = extract_worker(names).run(until_idle=True)
    assert again.consumed == 0


def test_index_worker_same_page_twice_is_one_document_and_copy_is_a_republication(names, corpus):
    es = Es(names.es_url)
    apply_templates(names, es)
    ensure_topics(names)
    cnn = (corpus / "newspaper4k" / "arabic_article.html").read_bytes()
    cnn_copy = (corpus / "goose3" / "test_cnn_arabic.html").read_bytes()
    origin = "https://arabic.cnn.com/2013/middle_east/8/3/syria.clashes/index.html"
    publish(names, [
        raw_page(origin, cnn, source="cnn"),
        raw_page(origin + "?utm_source=x", cnn, source="cnn"),          # same canonical URL
        raw_page("https://aggregator.example/news/1", cnn_copy, source="agg"),  # same text elsewhere
    ])
    extract_worker(names).run(until_idle=True)
    stats = index_worker(names).run(until_idle=True)
    assert stats.consumed == 3
    es.request("POST", f"/{names.stories_alias}/_refresh")
    count = es.request("GET", f"/{names.stories_alias}/_count")["count"]
    assert count == 1
    doc = es.request("GET", f"/{names.stories_alias}/_search")["hits"]["hits"][0]
    src = doc["_source"]
    # which copy owns the story (story_id: the first copy indexed) depends on partition order; the origin rule,
    # checked elsewhere, names the earliest copy independently of it
    assert doc["_id"] == doc_id(src["canonical_url"])
    assert src["republication_count"] == 1, src["republications"]
    # (the page's rel=canonical says http://arabic.cnn.com/…: scheme aside, it is the fetched URL)
    def hostpath(u):
        return u.split("://", 1)[1]

    assert {hostpath(src["canonical_url"]), hostpath(src["republications"][0]["canonical_url"])} == {
        hostpath(origin), "aggregator.example/news/1"}
    assert "دمشق" in src["title"]

    # redelivery (a new group re-reads everything) changes nothing
    again = index_worker(names.model_copy(update={"index_group": names.index_group + "-again"})).run(until_idle=True)
    assert again.consumed == 3
    es.request("POST", f"/{names.stories_alias}/_refresh")
    assert es.request("GET", f"/{names.stories_alias}/_count")["count"] == 1
    doc2 = es.request("GET", f"/{names.stories_alias}/_doc/{doc['_id']}")["_source"]
    assert doc2["republication_count"] == 1


def test_index_worker_does_not_commit_when_alias_is_missing(names):
    """Consumers never create indices: without `templates apply` the batch is retried (paused) until the configured
    limit, then the worker stops uncommitted."""
    from marsad.errors import TransientError
    from marsad.messages import Article, utcnow

    ensure_topics(names)
    art = Article(url="https://x.example/a", canonical_url="https://x.example/a", source="x", title="ع",
                  text="نص " * 50, fetched_at=utcnow(), content_hash="0" * 64)
    from confluent_kafka import Producer

    p = Producer({"bootstrap.servers": names.kafka_bootstrap})
    p.produce(names.articles_topic, key=b"https://x.example/a", value=art.to_json())
    p.flush(10)
    s = names.model_copy(update={"consumer_retry_limit_s": 2.0})
    with pytest.raises(TransientError):
        index_worker(s).run(until_idle=True)
    es = Es(names.es_url)
    assert not es.exists(f"/{names.stories_alias}")  # the consumer did not create an index
    # nothing committed: after templates are applied the same group indexes the article
    apply_templates(names, es)
    stats = index_worker(names).run(until_idle=True)
    assert stats.outcomes["indexed"] == 1


def test_too_large_raw_page_is_dead_lettered_not_dropped(names):
    small = names.model_copy(update={"max_message_bytes": 100_000})
    ensure_topics(small)
    counts = publish(small, [raw_page("https://big.example/a", b"<html>" + b"x" * 200_000 + b"</html>")])
    assert counts.get("too-large") == 1
    assert topic_message_count(small, small.raw_pages_topic) == 0
    dead = read_all(small, small.dead_letter_topic, 1)
    assert len(dead) == 1
    assert dict(dead[0].headers())["dlq.reason"] == b"too-large"
