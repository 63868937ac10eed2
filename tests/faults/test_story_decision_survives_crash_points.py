"""A consumer process killed (SIGKILL) at any step of the index stage, then restarted, leaves the same stories as a
fault-free run of the same input.

The crash is a real ``kill -9`` of a real ``marsad consume index`` process, made at a named step by
:mod:`marsad.faults` (``MARSAD_FAULT_POINTS``); the restarted consumer gets the uncommitted batch again.

Input: one long SaudiNewsNet article ``A`` and ``B`` = ``A`` with its last 12 words replaced (a near-duplicate:
Jaccard ≈ 0.99). Gold, written before running anything: **one story holding both URLs**, the second one a
``near`` republication (never ``exact`` with similarity 1.0), no URL in two stories.

Layouts:

* ``next-batch`` — one consumer, the two in consecutive batches of one record (the one with the larger story id first,
  so that the race repair, which folds only into smaller ids, cannot mask a forgotten decision); the kill hits the
  second batch;
* ``same-batch`` — one consumer, ``A`` and ``B`` in one batch (``B`` is decided against a story of its own batch);
* ``race`` — two consumers on two topics, held at barriers so that both decide before either writes (neither sees
  the other: two new stories), then both write; the story with the larger id is folded into the other
  (``IndexStage._repair``: by its own consumer and, since both repairs see both stories, possibly by the other one at
  the same moment — the claim decides the target), and the kill hits the larger story's consumer in or around its
  fold. ``test_race_repair_folds_either_way.py`` covers the smaller story written late.
"""

from __future__ import annotations

import json

import pytest
from confluent_kafka import Producer

from marsad.dedup.urls import canonical_url
from marsad.index.es import doc_id
from marsad.index.templates import apply_templates
from marsad.kafka.clients import ensure_topics
from marsad.messages import Article, utcnow
from marsad.text.arabic import content_hash

from .processes import doubled, start, stories, wait_exit, wait_reached

pytestmark = pytest.mark.services

TAIL = ["وأضاف", "المصدر", "أن", "الاجتماع", "سيعقد", "الأسبوع", "المقبل"]


def _texts(corpus) -> tuple[str, str]:
    day = json.loads((corpus / "saudinewsnet" / "2015-08-03.json").read_text(encoding="utf-8"))
    text = max(day, key=lambda a: len(a["content"]))["content"].strip()
    words = text.split()
    return text, " ".join(words[:-12] + TAIL)


def _article(url: str, text: str) -> Article:
    return Article(url=url, canonical_url=canonical_url(url), source="test", title="t", text=text,
                   fetched_at=utcnow(), content_hash=content_hash(text))


def _produce(settings, topic: str, articles: list[Article]) -> None:
    p = Producer({"bootstrap.servers": settings.kafka_bootstrap, "enable.idempotence": True, "acks": "all"})
    for a in articles:
        p.produce(topic, key=a.canonical_url.encode(), value=a.to_json(), partition=0)
    assert p.flush(30) == 0


def _pair(corpus) -> tuple[Article, Article]:
    """``(small, large)``: the near-duplicate pair ordered by story id (the larger one folds in a race)."""
    a_text, b_text = _texts(corpus)
    pages = [_article("https://a.example/news/1", a_text), _article("https://b.example/news/2", b_text)]
    return tuple(sorted(pages, key=lambda a: doc_id(a.canonical_url)))


def _state(settings) -> tuple[set, dict]:
    docs = stories(settings)
    reps = {(r["canonical_url"], r["match"], r["similarity"]) for d in docs for r in d.get("republications") or []}
    members = {frozenset([d["canonical_url"], *(r["canonical_url"] for r in d.get("republications") or [])])
               for d in docs}
    return members, {"republications": reps, "doubled": doubled(docs)}


def _run(make_names, tmp_path, corpus, layout: str, point: str | None) -> tuple[set, dict]:
    """Run ``layout`` with a kill at ``point`` (``None``: fault-free), restart what was killed; return the state."""
    s = make_names(batch_size=1 if layout == "next-batch" else 10)
    small, large = _pair(corpus)
    apply_templates(s)
    ensure_topics(s)
    run_dir = tmp_path / (point or "fault-free") / layout
    run_dir.mkdir(parents=True)
    log = run_dir / "consumers.log"
    if layout != "race":
        # the larger id first: the smaller one is decided near it, and the race repair (which folds only into a
        # smaller id) cannot hide a decision that a redelivery forgot
        _produce(s, s.articles_topic, [large, small])
        faults = {point: "kill@2" if layout == "next-batch" else "kill"} if point else {}
        code = wait_exit(start(s, "index", log, fault_points=faults), log)
        if point:
            assert code == -9, f"the consumer was not killed at {point}: exit {code}\n{log.read_text()[-2000:]}"
            assert wait_exit(start(s, "index", log), log) == 0, log.read_text()[-3000:]
        else:
            assert code == 0, log.read_text()[-3000:]
        return _state(s)
    s2 = s.model_copy(update={"articles_topic": s.articles_topic + "2", "index_group": s.index_group + "2"})
    ensure_topics(s2, [s2.articles_topic])
    try:
        _produce(s, s.articles_topic, [small])
        _produce(s2, s2.articles_topic, [large])
        planned, written = run_dir / "planned", run_dir / "written"
        barriers = {"index.planned": f"wait:{planned}", "index.written": f"wait:{written}"}
        folding = dict(barriers)
        if point:
            folding[point] = f"{folding[point]},kill" if point in folding else "kill"
        procs = [start(s, "index", log, fault_points=barriers), start(s2, "index", log, fault_points=folding)]
        wait_reached(planned, 2, procs)
        planned.touch()
        wait_reached(written, 2, procs)
        written.touch()
        assert wait_exit(procs[0], log) == 0, log.read_text()[-3000:]
        code = wait_exit(procs[1], log)
        if point:
            assert code == -9, f"the consumer was not killed at {point}: exit {code}\n{log.read_text()[-2000:]}"
            assert wait_exit(start(s2, "index", log), log) == 0, log.read_text()[-3000:]
        else:
            assert code == 0, log.read_text()[-3000:]
        return _state(s)
    finally:
        from marsad.kafka.clients import admin

        admin(s2).delete_topics([s2.articles_topic], operation_timeout=30)


CASES = [
    ("next-batch", "index.planned"),
    ("next-batch", "index.claimed"),
    ("next-batch", "index.written"),
    ("next-batch", "index.alerted"),
    ("same-batch", "index.claimed"),
    ("race", "index.written"),
    ("race", "index.fold.retargeted"),
    ("race", "index.fold.moved"),
    ("race", "index.repaired"),
]

_fault_free: dict[str, tuple[set, dict]] = {}


@pytest.mark.parametrize(("layout", "point"), CASES, ids=[f"{la}-{p}" for la, p in CASES])
def test_killed_consumer_restarted_leaves_fault_free_stories(make_names, tmp_path, corpus, layout, point):
    small, large = _pair(corpus)
    gold = {frozenset({small.canonical_url, large.canonical_url})}
    if layout not in _fault_free:  # the fault-free run of a layout, once per session
        _fault_free[layout] = _run(make_names, tmp_path, corpus, layout, None)
        assert _fault_free[layout][0] == gold, _fault_free[layout]
    members, detail = _run(make_names, tmp_path, corpus, layout, point)
    assert members == gold, detail
    assert detail["doubled"] == {}
    assert detail == _fault_free[layout][1]  # the same republication, with the same match and similarity
    [(_, match, similarity)] = detail["republications"]
    assert match == "near" and similarity < 1.0
