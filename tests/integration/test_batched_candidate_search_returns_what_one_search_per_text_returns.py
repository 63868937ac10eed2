"""The index stage's batched candidate search (one search per batch, split per text by shared LSH band / lead key)
returns, for every text, exactly the candidates one search per text returns — same stories, same order, itself
excluded — on the real Elasticsearch node, and so does its fallback when more stories match than it reads.

Gold: the per-text search (:meth:`IndexStage._candidates_each`, the search the stage sent before the batched one),
against stories indexed through the real index stage: 240 SaudiNewsNet articles, then queried with 120 near
copies of them (a paragraph dropped or a sentence added: they share bands with their originals), 60 of the indexed
articles themselves (each must not find itself) and 60 articles never indexed.
"""

from __future__ import annotations

import json

import pytest

from marsad.dedup.near import fingerprint
from marsad.dedup.urls import canonical_url
from marsad.index.es import Es, doc_id
from marsad.index.stage import IndexStage
from marsad.index.templates import apply_templates
from marsad.messages import Article, utcnow
from marsad.stage import Record
from marsad.text.arabic import content_hash

pytestmark = pytest.mark.services


def _article(n: int, text: str, source: str) -> Article:
    url = f"https://candidates.example/{source}/{n}.html"
    return Article(url=url, canonical_url=canonical_url(url), source=source, title=f"t{n}", text=text,
                   fetched_at=utcnow(), content_hash=content_hash(text))


def _ids(result):
    return [[(sid, fp.to_dict(), src) for sid, fp, src in cands] for cands in result]


@pytest.fixture
def stage_with_stories(names, corpus):
    s = names.model_copy(update={"alerts_enabled": False})
    es = Es(s.es_url)
    apply_templates(s, es)
    rows = json.loads((corpus / "saudinewsnet" / "2015-08-03.json").read_text(encoding="utf-8"))
    rows = [r for r in rows if len(r["content"]) > 600][:360]
    indexed = [_article(n, r["content"], r["source"]) for n, r in enumerate(rows[:240])]
    stage = IndexStage(s, es)
    for k in range(0, len(indexed), 80):
        stage.process_batch([Record(s.articles_topic, 0, k + j, a.canonical_url.encode(), a.to_json())
                             for j, a in enumerate(indexed[k:k + 80])])
    es.request("POST", f"/{s.stories_alias}/_refresh")
    queries = []
    for n, a in enumerate(indexed[:120]):  # near copies: the first paragraph dropped, or a sentence added
        paras = a.text.split("\n")
        text = "\n".join(paras[1:]) if n % 2 and len(paras) > 2 else a.text + "\nوأضاف المصدر أن التفاصيل ستعلن لاحقا."
        queries.append((fingerprint(text, stage.params), doc_id(f"https://copies.example/{n}")))
    for a in indexed[120:180]:  # the indexed articles themselves: each excludes its own story
        queries.append((fingerprint(a.text, stage.params), doc_id(a.canonical_url)))
    for r in rows[300:360]:  # never indexed
        queries.append((fingerprint(r["content"], stage.params), doc_id("https://never.example/" + r["title"])))
    return stage, queries


def test_batched_search_equals_one_search_per_text(stage_with_stories):
    stage, queries = stage_with_stories
    batched, each = stage._candidates_many(queries), stage._candidates_each(queries)
    assert _ids(batched) == _ids(each)
    # not vacuous: the copies find their originals, the indexed articles do not find themselves
    assert sum(1 for c in batched[:120] if c) >= 100
    assert all(q[1] not in {sid for sid, _, _ in c} for q, c in zip(queries, batched))
    assert any(len(c) >= 2 for c in batched) or sum(len(c) for c in batched) > 120


def test_fallback_above_the_read_limit_returns_the_same(stage_with_stories):
    stage, queries = stage_with_stories
    each = stage._candidates_each(queries)
    assert sum(len(c) for c in each) > 5  # more stories match than the limit below: the fallback runs
    stage.UNION_MAX_HITS = 5
    assert _ids(stage._candidates_many(queries)) == _ids(each)
