"""Dedup quality gate on the corpus (fixed floors; a drop fails the build).

Floors, on the labelled pairs of :mod:`tests.quality.evaluation.dedup` (SaudiNewsNet clusters, antcorpus cross-source
and URL-variant pairs, the CNN copies, the chardet pair, the youm7 aggregator copies, the seed; negatives: curated
same-event/template/composite pairs and bulk cross-group pairs):

* precision ≥ 0.99 and recall ≥ 0.95, both for the pairwise decision (:func:`marsad.dedup.near.decide`) and for
  the clustering the pipeline outputs (:class:`marsad.dedup.stories.Clusterer`, LSH candidates included);
* 0 merges among the curated same-event negatives;
* the teaser and the seed join their originals, and the seed's origin is the site its header names.

The report with the threshold curve is docs/evaluation-dedup.md (``benchmarks/dedup/run.py``). Runs in ≈ 20 s.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.quality.evaluation.dedup import (
    EvalSet,
    cluster_assignments,
    cluster_score,
    load_eval_set,
    pair_decisions,
    score,
)

pytestmark = pytest.mark.timeout(60)

PRECISION_FLOOR = 0.99
RECALL_FLOOR = 0.95


@pytest.fixture(scope="module")
def corpus() -> Path:
    from marsad.settings import Settings

    path = Settings().corpus_dir
    if not (path / "saudinewsnet" / "dedup_clusters.jsonl").exists():
        pytest.skip(f"corpus folder {path} not present (data dependency)")
    return path


@pytest.fixture(scope="module")
def eval_set(corpus: Path) -> EvalSet:
    return load_eval_set(corpus)


@pytest.fixture(scope="module")
def decisions(eval_set: EvalSet):
    return pair_decisions(eval_set)


@pytest.fixture(scope="module")
def assignments(eval_set: EvalSet):
    return cluster_assignments(eval_set)


def _fmt(name, s) -> str:
    return (f"{name}: precision {s.precision:.4f} recall {s.recall:.4f} (tp {s.tp}, fp {s.fp}, fn {s.fn}); "
            f"same-event merged {len(s.merged_negatives)}")


def test_eval_set_has_every_labelled_source(eval_set: EvalSet):
    datasets = {p.dataset for p in eval_set.pairs}
    assert {"snn-clusters", "ant-cross-source", "ant-url-variant", "cnn-copies", "chardet", "republished", "seed",
            "same-event", "bulk"} <= datasets
    assert sum(p.dataset == "same-event" for p in eval_set.pairs) >= 30
    assert sum(p.duplicate for p in eval_set.pairs) >= 1800


def test_pairwise_floors(eval_set, decisions, capsys):
    s = score(eval_set.pairs, lambda p: decisions[(p.a, p.b)].duplicate)
    with capsys.disabled():
        print("\n" + _fmt("pairwise", s))
    assert s.precision >= PRECISION_FLOOR, [(p.a, p.b, p.note) for p in s.false_positives[:10]]
    assert s.recall >= RECALL_FLOOR, [(p.a, p.b, p.note) for p in s.false_negatives[:10]]


def test_clustering_floors(eval_set, assignments, capsys):
    s = cluster_score(eval_set, assignments)
    with capsys.disabled():
        print("\n" + _fmt("clustered", s))
    assert s.precision >= PRECISION_FLOOR, [(p.a, p.b, p.note) for p in s.false_positives[:10]]
    assert s.recall >= RECALL_FLOOR, [(p.a, p.b, p.note) for p in s.false_negatives[:10]]


def test_no_same_event_negative_is_merged(eval_set, decisions, assignments):
    pairwise = [p for p in eval_set.pairs if p.dataset == "same-event" and decisions[(p.a, p.b)].duplicate]
    clustered = [p for p in eval_set.pairs
                 if p.dataset == "same-event" and assignments[p.a].story_id == assignments[p.b].story_id]
    assert not pairwise, [(p.a, p.b, p.note, decisions[(p.a, p.b)].reason) for p in pairwise]
    assert not clustered, [(p.a, p.b, p.note) for p in clustered]


def test_teaser_and_seed_join_their_originals(assignments):
    original = assignments["youm7/original"].story_id
    assert assignments["youm7/aggregator-full"].story_id == original
    teaser = assignments["youm7/aggregator-teaser"]
    assert teaser.story_id == original and teaser.kind == "containment"
    seed = assignments["seed/aggregator"]
    assert assignments["seed/original"].story_id == seed.story_id
    assert assignments["seed/original"].origin_id == "seed/original"  # named by «نشر أولاً على موقع hashtagsyria.com»
