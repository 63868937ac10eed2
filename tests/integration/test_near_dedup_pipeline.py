"""Near-duplicate stories in the real pipeline (Kafka → index stage → Elasticsearch as the candidate store)."""

from __future__ import annotations

import json
import threading

import pytest
from confluent_kafka import Producer

from marsad.dedup.urls import canonical_url
from marsad.extract.boilerplate import clean_body
from marsad.index.es import Es
from marsad.index.templates import apply_templates
from marsad.kafka.clients import ensure_topics
from marsad.messages import Article, utcnow
from marsad.pipeline import extract_worker, index_worker
from marsad.text.arabic import content_hash

from .helpers import publish, raw_page

pytestmark = pytest.mark.services


def _stories(es: Es, alias: str) -> list[dict]:
    es.request("POST", f"/{alias}/_refresh")
    hits = es.request("POST", f"/{alias}/_search", {"size": 2000, "query": {"match_all": {}},
                                                    "_source": ["canonical_url", "republications.canonical_url",
                                                                "republications.match", "republication_count"]})
    return [h["_source"] for h in hits["hits"]["hits"]]


def _article(url: str, text: str, source: str = "test") -> Article:
    return Article(url=url, canonical_url=canonical_url(url), source=source, title="t", text=text,
                   fetched_at=utcnow(), content_hash=content_hash(text))


def test_youm7_story_once_with_both_aggregator_copies(names, corpus):
    es = Es(names.es_url)
    apply_templates(names, es)
    ensure_topics(names)
    origin = "https://www.youm7.com/story/2020/8/24/x/4943459"
    publish(names, [
        raw_page(origin, (corpus / "htmldate" / "1691196862.html").read_bytes(), source="youm7"),
        raw_page("https://aggregator.example/news/88231",
                 (corpus / "derived/republished/youm7-4943459.aggregator-full.html").read_bytes(), source="agg"),
        raw_page("https://aggregator.example/news/88240",
                 (corpus / "derived/republished/youm7-4943459.aggregator-teaser.html").read_bytes(), source="agg"),
    ])
    extract_worker(names).run(until_idle=True)
    stats = index_worker(names).run(until_idle=True)
    assert stats.consumed == 3
    stories = _stories(es, names.stories_alias)
    assert len(stories) == 1, stories
    reps = {r["canonical_url"] for r in stories[0]["republications"]} | {stories[0]["canonical_url"]}
    aggregators = {"https://aggregator.example/news/88231", "https://aggregator.example/news/88240"}
    assert aggregators <= reps
    [youm7] = reps - aggregators  # the page's own rel=canonical (full Arabic slug) is its key
    assert youm7.startswith("https://youm7.com/story/2020/8/24/") and youm7.endswith("/4943459")
    assert stories[0]["republication_count"] == 2


def _saudi_articles(corpus, limit: int) -> list[Article]:
    """The first ``limit`` members of the SaudiNewsNet clusters plus other articles of the day, cleaned."""
    day = json.loads((corpus / "saudinewsnet" / "2015-08-03.json").read_text(encoding="utf-8"))
    out, seen = [], set()
    for row in day:
        text, _ = clean_body(row["content"], row["title"])
        url = canonical_url(row["url"])
        if url in seen or len(text.split()) < 30:
            continue
        seen.add(url)
        out.append(_article(url, text, row["source"]))
        if len(out) >= limit:
            break
    return out


def _grouping(stories: list[dict]) -> set[frozenset[str]]:
    return {frozenset([s["canonical_url"], *(r["canonical_url"] for r in s.get("republications") or [])])
            for s in stories}


def test_restart_mid_day_gives_the_same_stories_as_an_uninterrupted_run(names, corpus):
    """Stop the index consumer half-way through a SaudiNewsNet slice and start it again (same group): the
    stories equal those of an uninterrupted run of the same input on a single partition."""
    arts = _saudi_articles(corpus, 240)
    runs = {}
    for label in ("uninterrupted", "restarted"):
        s = names.model_copy(update={
            "articles_topic": f"{names.articles_topic}.{label}", "stories_alias": f"{names.stories_alias}-{label[0]}",
            "stories_index_prefix": f"{names.stories_alias}-{label[0]}-v",
            "fingerprints_index": f"{names.fingerprints_index}-{label[0]}", "topic_partitions": 1,
            "batch_size": 40})
        es = Es(s.es_url)
        apply_templates(s, es)
        ensure_topics(s, [s.articles_topic, s.dead_letter_topic])
        p = Producer({"bootstrap.servers": s.kafka_bootstrap})
        for a in arts:
            p.produce(s.articles_topic, key=a.canonical_url.encode(), value=a.to_json())
        assert p.flush(30) == 0
        if label == "restarted":
            first = index_worker(s).run(max_records=120)
            assert 0 < first.consumed < len(arts)
        index_worker(s).run(until_idle=True)
        runs[label] = _grouping(_stories(es, s.stories_alias))
        es.request("DELETE", f"/{s.stories_alias}-v*,{s.fingerprints_index}-v*", ok=(404,))
        es.request("DELETE", f"/_index_template/{s.stories_alias}", ok=(404,))
        es.request("DELETE", f"/_index_template/{s.fingerprints_index}", ok=(404,))
    assert runs["restarted"] == runs["uninterrupted"]
    assert len(runs["uninterrupted"]) < len(arts)  # the slice has real republications


def test_two_consumers_racing_on_near_copies_end_with_one_story(names, corpus):
    """Near-copies (not byte-identical texts) spread over two partitions, two index consumers at once."""
    es = Es(names.es_url)
    apply_templates(names, es)
    s = names.model_copy(update={"topic_partitions": 2, "batch_size": 1})
    ensure_topics(s)
    base = _saudi_articles(corpus, 1)[0].text
    variants = [base, base + " وأضاف المصدر أن الاجتماع سيعقد الأسبوع المقبل.",
                "عاجل: " + base, base.replace("،", ",")]
    arts = [_article(f"https://site{i}.example/a", t, f"site{i}") for i, t in enumerate(variants)]
    assert len({a.content_hash for a in arts}) >= 3  # really different texts, not exact copies
    p = Producer({"bootstrap.servers": s.kafka_bootstrap})
    for i, a in enumerate(arts):
        p.produce(s.articles_topic, key=a.canonical_url.encode(), value=a.to_json(), partition=i % 2)
    assert p.flush(30) == 0
    results = []
    threads = [threading.Thread(target=lambda: results.append(index_worker(s).run(until_idle=True)))
               for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert sum(r.consumed for r in results) == len(arts)
    stories = _stories(es, s.stories_alias)
    assert len(stories) == 1, [st["canonical_url"] for st in stories]
    assert _grouping(stories) == {frozenset(a.canonical_url for a in arts)}


def test_story_origin_moves_to_the_earliest_copy_and_an_attribution_wins(names):
    from datetime import datetime, timezone

    from marsad.index.stage import IndexStage
    from marsad.kafka.worker import Record

    es = Es(names.es_url)
    apply_templates(names, es)
    text = ("أعلنت وزارة الصحة اليوم عن افتتاح مستشفى جديد في العاصمة بسعة مئتي سرير ويضم أقساما للطوارئ والجراحة "
            "والأطفال، وقال الوزير في مؤتمر صحفي إن المستشفى سيخدم أكثر من نصف مليون نسمة في الأحياء الجنوبية. ") * 3
    late = _article("https://late.example/a", text, "late").model_copy(
        update={"published_at": datetime(2026, 1, 16, 12, 0, tzinfo=timezone.utc)})
    early = _article("https://early.example/a", text, "early").model_copy(
        update={"published_at": datetime(2026, 1, 16, 13, 0, tzinfo=__import__("zoneinfo").ZoneInfo("Asia/Riyadh"))})
    attributed = _article("https://agg.example/a", text, "agg").model_copy(
        update={"original": {"site": "hashtagsyria.com", "title": "الأصل", "published_at": "2026-01-16"}})
    stage = IndexStage(names, es)

    def index(a, offset):
        [out] = stage.process_batch([Record(names.articles_topic, 0, offset, a.canonical_url.encode(), a.to_json())])
        assert out.error is None, out.error

    index(late, 0)
    index(early, 1)  # 13:00 in Riyadh = 10:00 UTC: earlier than 12:00 UTC although its wall clock is later
    [story] = _stories_full(es, names.stories_alias)
    assert story["origin"]["url"] == "https://early.example/a" and story["origin"]["via"] == "earliest"
    index(attributed, 2)
    index(late, 3)  # a redelivery of the first copy does not take the origin back
    [story] = _stories_full(es, names.stories_alias)
    assert story["origin"]["site"] == "hashtagsyria.com" and story["origin"]["via"] == "attribution"
    assert story["republication_count"] == 2


def _stories_full(es: Es, alias: str) -> list[dict]:
    es.request("POST", f"/{alias}/_refresh")
    return [h["_source"] for h in es.request("POST", f"/{alias}/_search", {"size": 100})["hits"]["hits"]]
