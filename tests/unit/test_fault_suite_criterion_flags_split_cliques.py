"""The fault suite's story criterion (tests/faults/test_pipeline_survives_faults.py, ``order_effects``) is not
vacuous: it accepts a near-duplicate chain grouped differently, and still flags a near-duplicate pair split into two
stories (the race-repair failure) and a story that joins unrelated texts.

Texts: the longest SaudiNewsNet article of 2015-08-03 ``A``; ``B`` = ``A`` with its last 12 words replaced
(Jaccard ≈ 0.99: a near-duplicate); ``C`` = the second-longest article (unrelated). Gold written before running.
"""

from __future__ import annotations

import json

from marsad.dedup.near import fingerprint
from tests.faults.test_pipeline_survives_faults import order_effects

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
