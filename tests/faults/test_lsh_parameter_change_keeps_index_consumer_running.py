"""Changing the LSH parameters (``MARSAD_DEDUP_LSH_BANDS`` / ``MARSAD_DEDUP_LSH_ROWS``) of a running pipeline leaves
the index consumer running, and ``marsad templates apply`` names the replay that moves to a new index version.

Stories indexed before the change carry fingerprints of another version, which :func:`marsad.dedup.near.decide`
refuses to compare (``ValueError``). Their lead key (``lead:<crc32>`` of the first 20 words) does not depend on the
LSH parameters, so without a version filter a near-duplicate arriving after the change finds them as candidates and
the consumer dies on that batch — again after every restart.

Real ``marsad consume index --until-idle`` processes and a real ``marsad templates apply`` process, with the
parameters in their environment. Input: ``A`` (the longest SaudiNewsNet article of 2015-08-03), ``B`` = ``A`` with
its last 12 words replaced, ``C`` = ``A`` with its last 12 words replaced by other words (all three share their
first 20 words, so their lead key).

Gold, written before running anything:

* run 1 (default 64 × 2) indexes ``A``: one story;
* run 2 (32 × 4) gets ``B`` then ``C`` in consecutive batches: exit 0; ``A`` is not a candidate (another version),
  so ``B`` starts a story of its own (the documented consequence, docs/decisions.md «Fingerprint version») and ``C``
  joins ``B`` as a ``near`` republication (same version); stories ``{A}``, ``{B, C}``, no URL twice; each story's
  ``dedup_version`` is the version of the run that indexed it;
* ``templates apply`` with 32 × 4: exit 0, names ``marsad replay --from 1970-01-01T00:00:00Z --index <prefix>2
  --swap``; with the default parameters it names no replay; after a new index version is started with 32 × 4 it
  names none either.
"""

from __future__ import annotations

import subprocess

import pytest

from marsad.dedup.near import DEFAULT, Params
from marsad.index.es import Es
from marsad.index.templates import FINGERPRINT_META, apply_templates, start_empty_version
from marsad.kafka.clients import ensure_topics

from .processes import MARSAD, consumer_env, doubled, start, stories, wait_exit
from .test_story_decision_survives_crash_points import _article, _produce, _texts

pytestmark = pytest.mark.services

CHANGED = {"dedup_lsh_bands": 32, "dedup_lsh_rows": 4}
OTHER_TAIL = ["وأشار", "البيان", "إلى", "أن", "اللجنة", "ستجتمع", "مجددا"]


def _templates_apply(s, **extra) -> subprocess.CompletedProcess:
    return subprocess.run([str(MARSAD), "templates", "apply"], env=consumer_env(s, **extra), capture_output=True,
                          text=True, timeout=120)


def test_consumer_survives_lsh_change_and_templates_apply_names_the_replay(make_names, tmp_path, corpus):
    a_text, b_text = _texts(corpus)
    c_text = " ".join(a_text.split()[:-12] + OTHER_TAIL)
    a = _article("https://a.example/news/1", a_text)
    b = _article("https://b.example/news/2", b_text)
    c = _article("https://c.example/news/3", c_text)
    s = make_names(batch_size=1)
    apply_templates(s)
    ensure_topics(s)
    log = tmp_path / "consumers.log"
    prefix = s.stories_index_prefix

    _produce(s, s.articles_topic, [a])
    assert wait_exit(start(s, "index", log), log) == 0, log.read_text()[-3000:]
    quiet = _templates_apply(s)
    assert quiet.returncode == 0, quiet.stderr
    assert "marsad replay" not in quiet.stdout + quiet.stderr

    _produce(s, s.articles_topic, [b, c])
    code = wait_exit(start(s, "index", log, **CHANGED), log)
    assert code == 0, log.read_text()[-3000:]

    docs = stories(s)
    members = {frozenset([d["canonical_url"], *(r["canonical_url"] for r in d.get("republications") or [])])
               for d in docs}
    assert members == {frozenset({a.canonical_url}), frozenset({b.canonical_url, c.canonical_url})}, docs
    assert doubled(docs) == {}
    [rep] = [r for d in docs for r in d.get("republications") or []]
    assert rep["match"] == "near"
    es = Es(s.es_url)
    versions = {h["_source"]["canonical_url"]: h["_source"]["dedup_version"] for h in es.request(
        "POST", f"/{s.stories_alias}/_search", {"_source": ["canonical_url", "dedup_version"]})["hits"]["hits"]}
    assert versions == {a.canonical_url: DEFAULT.version, b.canonical_url: Params(bands=32, rows=4).version}

    changed = _templates_apply(s, **CHANGED)
    assert changed.returncode == 0, changed.stderr
    out = " ".join((changed.stdout + changed.stderr).split())  # rich may wrap
    assert f"marsad replay --from 1970-01-01T00:00:00Z --index {prefix}2 --swap" in out, out
    assert DEFAULT.version in out and Params(bands=32, rows=4).version in out, out
    # the mapping update kept the version the index was built with: asked again, it still names the replay
    again = _templates_apply(s, **CHANGED)
    assert f"--index {prefix}2 --swap" in " ".join((again.stdout + again.stderr).split())

    s_changed = s.model_copy(update=CHANGED)
    start_empty_version(s_changed, es, f"{prefix}2")
    meta = es.request("GET", f"/{prefix}2/_mapping")[f"{prefix}2"]["mappings"]["_meta"]
    assert meta[FINGERPRINT_META] == Params(bands=32, rows=4).version
    moved = _templates_apply(s, **CHANGED)
    assert moved.returncode == 0, moved.stderr
    assert "marsad replay" not in moved.stdout + moved.stderr
