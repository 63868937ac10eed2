"""A copy decided against a story that the race repair folds away before the copy is written joins the story it was
folded into — it does not bring the folded story back as a story of its own.

Found by the fault suite (CI, stop 15): a fault-free run split the near-duplicate clique SNN 369 / 692 / 1099 into
``[369, 1099]`` and ``[692]``. The mechanism, reproduced here with three real ``marsad consume index`` processes held
at fault-point barriers (:mod:`marsad.faults`):

1. consumers 1 and 2 race on ``A`` and ``B`` (a near-duplicate pair): both decide before either writes, so each
   creates a story; ``story(B)`` has the larger id and is to be folded into ``story(A)``;
2. consumer 3 decides ``C`` — nearer to ``B`` than to ``A`` — while both stories are searchable: ``near story(B)``,
   and claims its text with that decision;
3. the race repair folds ``story(B)`` into ``story(A)`` and deletes it;
4. consumer 3 writes ``C`` into ``story(B)``: the document is missing. Before the fix the copy then *stood in* for
   the missing story (the path meant for an owner that was dead-lettered) and ``story(B)`` came back holding only
   ``C``.

Gold, written before running: **one story holding A, B and C**, C a ``near`` republication, no URL in two stories.
"""

from __future__ import annotations

import json

import pytest
from confluent_kafka import Producer

from marsad.dedup.near import decide, fingerprint
from marsad.dedup.urls import canonical_url
from marsad.index.es import doc_id
from marsad.index.templates import apply_templates
from marsad.kafka.clients import admin, ensure_topics
from marsad.messages import Article, utcnow
from marsad.text.arabic import content_hash

from .processes import doubled, membership, start, stories, wait_exit, wait_reached

pytestmark = pytest.mark.services

TAIL = ["وأضاف", "المصدر", "أن", "الاجتماع", "سيعقد", "الأسبوع", "المقبل"]


def _article(url: str, text: str) -> Article:
    return Article(url=url, canonical_url=canonical_url(url), source=url.split("/")[2], title="t", text=text,
                   fetched_at=utcnow(), content_hash=content_hash(text))


def _texts(corpus) -> tuple[Article, Article, Article]:
    """``(A, B, C)``: A a long SaudiNewsNet article, B = A with its last 40 words replaced, C = B with two words of
    its lead changed; URLs chosen so that ``story(B)`` has the larger id (it is the one folded)."""
    day = json.loads((corpus / "saudinewsnet" / "2015-08-03.json").read_text(encoding="utf-8"))
    w = max(day, key=lambda a: len(a["content"]))["content"].strip().split()
    b_words = w[:-40] + TAIL * 3
    texts = (" ".join(w), " ".join(b_words), " ".join(b_words[:10] + ["وقال", "مراسلنا"] + b_words[12:]))
    for n in range(100):
        a = _article(f"https://a.example/news/{n}", texts[0])
        b = _article(f"https://b.example/news/{n}", texts[1])
        if doc_id(b.canonical_url) > doc_id(a.canonical_url):
            return a, b, _article("https://c.example/news/1", texts[2])
    raise AssertionError("no URL pair with the larger story id on B")


def _produce(settings, topic: str, article: Article) -> None:
    p = Producer({"bootstrap.servers": settings.kafka_bootstrap, "enable.idempotence": True, "acks": "all"})
    p.produce(topic, key=article.canonical_url.encode(), value=article.to_json(), partition=0)
    assert p.flush(30) == 0


def test_copy_decided_against_a_story_folded_before_its_write_joins_the_fold_target(make_names, tmp_path, corpus):
    a, b, c = _texts(corpus)
    fa, fb, fc = (fingerprint(x.text) for x in (a, b, c))
    # the premise of the layout, checked with the stage's own rule: a clique, C nearest to B
    assert decide(fa, fb, same_source=False).duplicate
    assert decide(fc, fb, same_source=False).similarity > decide(fc, fa, same_source=False).similarity
    assert decide(fc, fa, same_source=False).duplicate

    s = make_names(batch_size=10)
    apply_templates(s)
    ensure_topics(s)
    s2 = s.model_copy(update={"articles_topic": s.articles_topic + "2", "index_group": s.index_group + "2"})
    s3 = s.model_copy(update={"articles_topic": s.articles_topic + "3", "index_group": s.index_group + "3"})
    ensure_topics(s2, [s2.articles_topic])
    ensure_topics(s3, [s3.articles_topic])
    log = tmp_path / "consumers.log"
    planned, written, claimed = tmp_path / "planned", tmp_path / "written", tmp_path / "claimed"
    try:
        _produce(s, s.articles_topic, a)
        _produce(s2, s2.articles_topic, b)
        barriers = {"index.planned": f"wait:{planned}", "index.written": f"wait:{written}"}
        racing = [start(s, "index", log, fault_points=barriers), start(s2, "index", log, fault_points=barriers)]
        wait_reached(planned, 2, racing)
        planned.touch()
        wait_reached(written, 2, racing)  # two stories written, no repair yet
        _produce(s3, s3.articles_topic, c)
        third = start(s3, "index", log, fault_points={"index.claimed": f"wait:{claimed}"})
        wait_reached(claimed, 1, [third])  # C decided near story(B) and claimed, not written
        written.touch()
        for proc in racing:
            assert wait_exit(proc, log) == 0, log.read_text()[-3000:]
        assert membership(stories(s)) == {frozenset({a.canonical_url, b.canonical_url})}, \
            "the race repair did not fold story(B) into story(A) — the layout's premise"
        claimed.touch()
        assert wait_exit(third, log) == 0, log.read_text()[-3000:]
        docs = stories(s)
        assert membership(docs) == {frozenset({a.canonical_url, b.canonical_url, c.canonical_url})}, docs
        assert doubled(docs) == {}
        [doc] = docs
        assert doc["_id"] == doc_id(a.canonical_url)
        reps = {r["canonical_url"]: r for r in doc["republications"]}
        assert reps[c.canonical_url]["match"] == "near" and reps[c.canonical_url]["similarity"] < 1.0
    finally:
        admin(s).delete_topics([s2.articles_topic, s3.articles_topic], operation_timeout=30)
