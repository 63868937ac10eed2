"""Two index consumers create near-duplicate stories at the same moment: the race repair merges them whichever
consumer's repair runs last — also when the story with the *larger* id was written, repaired and alerted before the
one with the smaller id became searchable (fault suite (b)/(c): stories split after an outage).

Two real ``marsad consume index`` processes, one per topic, held at barriers (:mod:`marsad.faults`,
``MARSAD_FAULT_POINTS``): both plan before either writes (neither sees the other), then the consumer of the
larger-id story writes, repairs (nothing with a smaller id is searchable yet), alerts and waits; only then does the
consumer of the smaller-id story write and repair. Its repair must fold the other consumer's story into its own
(``IndexStage._fold_other``), and the alert the other consumer recorded must move with it.

Input: ``A`` (the longest SaudiNewsNet article of 2015-08-03) and ``B`` = ``A`` with its last 12 words replaced
(Jaccard ≈ 0.99), ordered by story id. One alert rule, ``التعليم الأهلي`` (a phrase of ``A``'s first sentence, in both).

Gold, written before running anything: **one story holding both URLs** (the smaller-id one owns it, the other is a
``near`` republication with similarity < 1), no URL in two stories, and exactly **one** alert record
(``kind=alert``) for the rule, naming that story. The same after a ``kill -9`` of the folding consumer inside the
fold (after the claim retarget; after the move) and a restart.
"""

from __future__ import annotations

import pytest

from marsad.alerts.rules import RuleStore, make_rule
from marsad.index.es import Es, doc_id
from marsad.index.templates import apply_templates
from marsad.kafka.clients import admin, ensure_topics

from .processes import doubled, start, stories, wait_exit, wait_reached
from .test_story_decision_survives_crash_points import _pair, _produce

pytestmark = pytest.mark.services

RULE = "race-rule"


def _alerts(s) -> list[dict]:
    es = Es(s.es_url)
    es.request("POST", f"/{s.alerts_sent_index}/_refresh")
    return [h["_source"] for h in es.request("POST", f"/{s.alerts_sent_index}/_search", {
        "size": 100, "query": {"term": {"kind": "alert"}}})["hits"]["hits"]]


def _setup(make_names, corpus):
    """The pair (smaller id first), the settings of consumer 1 (rule loaded) and of consumer 2 (its own topic)."""
    small, large = _pair(corpus)
    s = make_names(batch_size=10, alerts_enabled=True)
    apply_templates(s)
    ensure_topics(s)
    RuleStore(s).sync([make_rule(name=RULE, query="التعليم الأهلي")])
    s2 = s.model_copy(update={"articles_topic": s.articles_topic + "2", "index_group": s.index_group + "2"})
    ensure_topics(s2, [s2.articles_topic])
    return small, large, s, s2


def _one_story_of_both(s, small, large) -> dict:
    """The gold of both tests: one story, the smaller id, holding both URLs, no URL in two stories."""
    docs = stories(s)
    members = {frozenset([d["canonical_url"], *(r["canonical_url"] for r in d.get("republications") or [])])
               for d in docs}
    assert members == {frozenset({small.canonical_url, large.canonical_url})}, docs
    assert doubled(docs) == {}
    [doc] = docs
    assert doc["_id"] == doc_id(small.canonical_url)
    return doc


@pytest.mark.parametrize("point", [None, "index.fold.retargeted", "index.fold.moved"],
                         ids=["no-crash", "kill-after-retarget", "kill-after-move"])
def test_smaller_story_written_late_folds_the_larger_one(make_names, tmp_path, corpus, point):
    small, large, s, s2 = _setup(make_names, corpus)
    log = tmp_path / "consumers.log"
    planned, go_small, large_done = tmp_path / "planned", tmp_path / "go-small", tmp_path / "large-done"
    try:
        _produce(s, s.articles_topic, [small])
        _produce(s2, s2.articles_topic, [large])
        small_points = {"index.planned": f"wait:{planned}", "index.claimed": f"wait:{go_small}"}
        if point:
            small_points[point] = "kill"
        procs = [start(s, "index", log, fault_points=small_points),
                 start(s2, "index", log, fault_points={"index.planned": f"wait:{planned}",
                                                       "index.alerted": f"wait:{large_done}"})]
        wait_reached(planned, 2, procs)
        planned.touch()
        wait_reached(large_done, 1, procs)  # the larger story: written, repaired (nothing to fold into), alerted
        go_small.touch()
        code = wait_exit(procs[0], log)
        large_done.touch()
        if point:
            assert code == -9, f"the consumer was not killed at {point}: exit {code}\n{log.read_text()[-2000:]}"
            assert wait_exit(start(s, "index", log), log) == 0, log.read_text()[-3000:]
        else:
            assert code == 0, log.read_text()[-3000:]
        assert wait_exit(procs[1], log) == 0, log.read_text()[-3000:]
        doc = _one_story_of_both(s, small, large)
        [rep] = doc["republications"]
        assert rep["canonical_url"] == large.canonical_url and rep["match"] == "near" and rep["similarity"] < 1.0
        alerts = _alerts(s)
        assert [(a["rule"], a["story_id"]) for a in alerts] == [(RULE, doc_id(small.canonical_url))], alerts
    finally:
        admin(s2).delete_topics([s2.articles_topic], operation_timeout=30)


def test_story_folded_by_its_own_repair_never_alerts(make_names, tmp_path, corpus):
    """The other order: the smaller-id story is written, repaired and alerted first; the larger-id one (planned
    before, so it did not see it) is written next and its own repair folds it into the smaller one — in the same
    batch that percolates it (the index stage percolates a batch's would-be stories while writing them). Gold,
    written before running: one story (the smaller id) holding both URLs, and exactly one alert record for the
    rule, naming that story — the folded story fires nothing."""
    small, large, s, s2 = _setup(make_names, corpus)
    log = tmp_path / "consumers.log"
    planned, go_large, small_done = tmp_path / "planned", tmp_path / "go-large", tmp_path / "small-done"
    try:
        _produce(s, s.articles_topic, [small])
        _produce(s2, s2.articles_topic, [large])
        procs = [start(s, "index", log, fault_points={"index.planned": f"wait:{planned}",
                                                      "index.alerted": f"wait:{small_done}"}),
                 start(s2, "index", log, fault_points={"index.planned": f"wait:{planned}",
                                                       "index.claimed": f"wait:{go_large}"})]
        wait_reached(planned, 2, procs)
        planned.touch()
        wait_reached(small_done, 1, procs)  # the smaller story: written, repaired, alerted
        go_large.touch()
        assert wait_exit(procs[1], log) == 0, log.read_text()[-3000:]
        small_done.touch()
        assert wait_exit(procs[0], log) == 0, log.read_text()[-3000:]
        _one_story_of_both(s, small, large)
        alerts = _alerts(s)
        assert [(a["rule"], a["story_id"]) for a in alerts] == [(RULE, doc_id(small.canonical_url))], alerts
    finally:
        admin(s2).delete_topics([s2.articles_topic], operation_timeout=30)
