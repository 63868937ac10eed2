"""The fault suite's story criterion (tests/faults/test_pipeline_survives_faults.py, ``order_effects``) is not
vacuous: it accepts a near-duplicate chain grouped differently, and still flags a near-duplicate pair split into two
stories (the race-repair failure) and a story that joins unrelated texts; and that the owners check
(``missed_folds``) flags the race split inside a near-duplicate chain that the order criterion lets through.

Texts: the longest SaudiNewsNet article of 2015-08-03 ``A``; ``B`` = ``A`` with its last 12 words replaced
(Jaccard ≈ 0.99: a near-duplicate); ``C`` = the second-longest article (unrelated). Gold written before running.
"""

from __future__ import annotations

import json

from marsad.dedup.near import fingerprint
from tests.faults.test_pipeline_survives_faults import missed_folds, order_effects

TAIL = ["وأضاف", "المصدر", "أن", "الاجتماع", "سيعقد", "الأسبوع", "المقبل"]


def _fps(corpus) -> dict:
    day = json.loads((corpus / "saudinewsnet" / "2015-08-03.json").read_text(encoding="utf-8"))
    by_len = sorted(day, key=lambda a: len(a["content"]), reverse=True)
    a = by_len[0]["content"].strip()
    b = " ".join(a.split()[:-12] + TAIL)
    c = by_len[1]["content"].strip()
    return {"A": (fingerprint(a), "s1"), "B": (fingerprint(b), "s2"), "C": (fingerprint(c), "s3")}


def test_near_duplicate_pair_split_in_two_is_flagged(corpus):
    violations, _ = order_effects({frozenset("AB"), frozenset("C")}, {frozenset("A"), frozenset("B"), frozenset("C")},
                                  _fps(corpus))
    assert any("clique" in v for v in violations)


def test_story_joining_unrelated_texts_is_flagged(corpus):
    violations, _ = order_effects({frozenset("AB"), frozenset("C")}, {frozenset("ABC")}, _fps(corpus))
    assert any("not connected" in v for v in violations)


def test_identical_stories_pass(corpus):
    assert order_effects({frozenset("AB"), frozenset("C")}, {frozenset("AB"), frozenset("C")}, _fps(corpus)) == ([], [])


def _chain(corpus) -> dict:
    """A near-duplicate chain from the longest article's words ``W``: A = W, B = W without its first quarter, C = W
    without its first half. Measured with :func:`decide` when the test was written: A~B (Jaccard 0.77), B~C (0.67),
    A≁C (0.51) — asserted below as the test's premise."""
    day = json.loads((corpus / "saudinewsnet" / "2015-08-03.json").read_text(encoding="utf-8"))
    words = max(day, key=lambda a: len(a["content"]))["content"].split()
    n = len(words)
    texts = {"A": words, "B": words[n // 4:], "C": words[n // 2:]}
    return {k: (fingerprint(" ".join(v)), "s-" + k) for k, v in texts.items()}


def test_race_split_inside_a_chain_is_flagged_as_a_missed_fold(corpus):
    """Fault-free {A, B} + {C}; a run that left B's story unfolded beside A's and C joined B: {A} + {B, C}, owners
    A and B. The order criterion accepts it (a non-clique chain); the owners check does not."""
    from marsad.dedup.near import decide

    fps = _chain(corpus)
    (fa, _), (fb, _), (fc, _) = fps["A"], fps["B"], fps["C"]
    assert decide(fa, fb).duplicate and decide(fb, fc).duplicate and not decide(fa, fc).duplicate  # premise
    violations, _ = order_effects({frozenset("AB"), frozenset("C")}, {frozenset("A"), frozenset("BC")}, fps)
    assert violations == []
    missed = missed_folds(["A", "B"], fps)
    assert len(missed) == 1 and missed[0].endswith("A / B")


def test_owners_of_a_legitimate_chain_grouping_pass(corpus):
    """C first, B joined C, then A (A≁C) started its own story: {A} + {B, C} owned by A and C — no missed fold."""
    assert missed_folds(["A", "C"], _chain(corpus)) == []
