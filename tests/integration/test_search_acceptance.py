"""Search acceptance lists against the real Elasticsearch: the stories template, marsad.search.search.

Every form of :mod:`tests.quality.evaluation.search_acceptance` is indexed in every spelling variant (plain, tashkeel,
tatweel, presentation forms) into a per-test index created by ``templates apply``; each list's query must find
exactly its ``match=True`` forms. One index per module keeps this to a couple of seconds.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from marsad.index.es import Es
from marsad.index.templates import apply_templates
from marsad.search import search, text_query
from tests.quality.evaluation.search_acceptance import LISTS, documents, evaluate, index_documents

pytestmark = pytest.mark.services


def _tokens(es: Es, index: str, analyzer: str, text: str) -> list[str]:
    resp = es.request("POST", f"/{index}/_analyze", {"analyzer": analyzer, "text": text})
    return [t["token"] for t in resp["tokens"]]


@pytest.fixture
def acceptance_index(names):
    es = Es(names.es_url)
    apply_templates(names, es)
    index_documents(es, names.stories_alias, documents())
    return names, es


def _run(settings, es):
    def run_query(lst, li):
        total, hits = search(settings, lst.query, es=es, source=f"l{li}", size=200)
        assert total == len(hits)
        return {h.story_id for h in hits}
    return run_query


def test_acceptance_lists_match_exactly_the_expected_forms(acceptance_index):
    settings, es = acceptance_index
    outcomes = evaluate(_run(settings, es))
    assert len(outcomes) == len(documents())
    wrong = [f"{o.query} → {o.form} [{o.variant}]: expected {'match' if o.expected else 'no match'}"
             for o in outcomes if o.matched != o.expected]
    assert not wrong, "\n".join(wrong)
    # the lists are not vacuous: both outcomes occur
    assert {o.matched for o in outcomes} == {True, False}


def test_each_list_fails_on_the_stock_arabic_analyzer_somewhere_or_is_a_plain_regression_guard(acceptance_index):
    """The reference: Elasticsearch's stock ``arabic`` analyzer with a plain ``match`` (operator and). It misses
    the clitics/dual forms and conflates names — this is what the custom analysis is for."""
    settings, es = acceptance_index
    stock = f"{settings.stories_index_prefix}stock"
    es.request("PUT", f"/{stock}", {"mappings": {"properties": {
        "text": {"type": "text", "analyzer": "arabic"}, "title": {"type": "text", "analyzer": "arabic"},
        "story_id": {"type": "keyword"}, "source": {"type": "keyword"}, "language": {"type": "keyword"}}}})
    index_documents(es, stock, documents())

    def run_stock(lst, li):
        body = {"size": 200, "query": {"bool": {
            "must": [{"match": {"text": {"query": lst.query, "operator": "and"}}}],
            "filter": [{"term": {"source": f"l{li}"}}]}}}
        return {h["_id"] for h in es.request("POST", f"/{stock}/_search", body)["hits"]["hits"]}

    stock_wrong = {(o.query, o.form) for o in evaluate(run_stock) if o.matched != o.expected}
    for expected in [("حاملات طائرات", "بحاملات الطائرات"), ("حاملات طائرات", "حاملتا طائرات"),
                     ("حاملات طائرات", "حامل … الطائرة"), ("ترامب", "لترامب"),
                     ("عمران", "عمر"), ("سليمان", "سليم"), ("إيران", "لإيران")]:
        assert expected in stock_wrong, expected


def test_text_query_is_a_valid_query_for_every_list(acceptance_index):
    """The shared seam: text_query(q) alone (as the alerts percolator stores it) finds what search finds."""
    settings, es = acceptance_index
    for li, lst in enumerate(LISTS):
        body = {"size": 200, "query": {"bool": {"must": [text_query(lst.query)],
                                                "filter": [{"term": {"source": f"l{li}"}}]}}}
        ids = {h["_id"] for h in es.request("POST", f"/{settings.stories_alias}/_search", body)["hits"]["hits"]}
        assert ids == _run(settings, es)(lst, li), lst.query


def test_highlights_mark_the_matched_forms(acceptance_index):
    settings, es = acceptance_index
    _, hits = search(settings, "حاملات طائرات", es=es, source="l0", size=50)
    plain = [h for h in hits if h.story_id.endswith("-plain")]
    assert plain
    for h in plain:
        assert any("\u27e6" in s and "\u27e7" in s for s in h.snippets), h.snippets
    by_id = {h.story_id: h for h in hits}
    assert "\u27e6بحاملات\u27e7" in " ".join(by_id["l0-c3-plain"].snippets)


def test_presentation_forms_tashkeel_and_digits_fold_in_both_analyzers(acceptance_index):
    settings, es = acceptance_index
    idx = settings.stories_alias
    for analyzer in ("marsad_arabic", "marsad_arabic_exact"):
        base = _tokens(es, idx, analyzer, "الله حاملات ٱلطائرات ١٢٣ ۴۵")
        assert _tokens(es, idx, analyzer, "ﷲ ﺣﺎﻣﻼﺕ ٱلطَّائِرَاتِ ١٢٣ ۴۵") == base
        assert _tokens(es, idx, analyzer, "اللـــه حامِلاتٌ الطائرات 123 45") == base
    # exact keeps the article and clitics; stemmed meets the singular
    assert _tokens(es, idx, "marsad_arabic_exact", "وحاملات") == ["وحاملات"]
    assert _tokens(es, idx, "marsad_arabic", "وحاملات") == _tokens(es, idx, "marsad_arabic", "حاملة")


def test_filters_sort_and_collapse_on_the_real_index(names):
    es = Es(names.es_url)
    apply_templates(names, es)
    docs = [
        {"story_id": "a", "title": "حاملة طائرات", "text": "وصلت حاملة الطائرات إلى الميناء.", "source": "lbc",
         "language": "ar", "published_at": "2026-01-08T11:00:00+00:00", "republication_count": 2,
         "republications": [{"source": "sky", "canonical_url": "u1"}, {"source": "cnn", "canonical_url": "u2"}]},
        {"story_id": "b", "title": "خبر", "text": "حاملات الطائرات في الخليج.", "source": "cnn", "language": "ar",
         "published_at": "2026-01-10T09:00:00+02:00"},
        {"story_id": "c", "title": "خبر", "text": "حاملات الطائرات في المتوسط.", "source": "cnn", "language": "en"},
    ]
    index_documents(es, names.stories_alias, docs)
    total, hits = search(names, "حاملات طائرات", es=es)
    assert total == 3 and hits[0].story_id == "a"  # the title match ranks first
    assert hits[0].republishers == ["cnn", "sky"] and hits[0].republication_count == 2
    assert hits[0].title_highlight and "\u27e6" in hits[0].title_highlight
    assert [h.story_id for h in search(names, "حاملات طائرات", es=es, sort="date")[1]] == ["b", "a", "c"]
    assert {h.story_id for h in search(names, "حاملات طائرات", es=es, source="cnn")[1]} == {"b", "c"}
    assert {h.story_id for h in search(names, "حاملات طائرات", es=es, language="en")[1]} == {"c"}
    since = datetime(2026, 1, 9, tzinfo=timezone.utc)
    assert [h.story_id for h in search(names, "حاملات طائرات", es=es, since=since)[1]] == ["b"]
    assert [h.story_id for h in search(names, "حاملات طائرات", es=es, until=since)[1]] == ["a"]


def test_templates_apply_refuses_the_new_analysis_on_an_index_built_before_it(names):
    """An index created before ``marsad_arabic_search`` existed cannot silently keep the old analysis: applying the
    template raises (a new index version and a replay are needed), and the old index is left as it was."""
    import copy

    from marsad.index.es import EsHttpError
    from marsad.index.templates import IncompatibleIndex, alias_targets, load_template, start_empty_version

    es = Es(names.es_url)
    old = copy.deepcopy(load_template("stories")["template"])
    del old["settings"]["analysis"]["analyzer"]["marsad_arabic_search"]

    def drop(props):
        for spec in props.values():
            spec.pop("search_analyzer", None)
            drop(spec.get("properties", {}))
    drop(old["mappings"]["properties"])
    es.request("PUT", f"/{names.stories_index_v1}", {**old, "aliases": {names.stories_alias: {"is_write_index": True}}})
    with pytest.raises(IncompatibleIndex) as err:
        apply_templates(names, es)
    cause = err.value.cause
    assert isinstance(cause, EsHttpError)
    assert cause.status == 400 and "analysis" in str(cause)  # caught by the _meta analysis hash before any PUT
    assert err.value.indices == [names.stories_index_v1]
    assert err.value.next_index == f"{names.stories_index_prefix}2"
    mapping = es.request("GET", f"/{names.stories_index_v1}/_mapping")[names.stories_index_v1]["mappings"]
    assert "search_analyzer" not in mapping["properties"]["text"]
    assert es.exists(f"/_alias/{names.alert_rules_alias}")  # everything else was applied

    # the way out the demo takes (a real stack replays into the new version instead): a fresh version, aliases moved
    moved = start_empty_version(names, es, err.value.next_index)
    assert moved[names.stories_alias] == [names.stories_index_v1]
    apply_templates(names, es)
    assert alias_targets(es, names.stories_alias) == [err.value.next_index]
    mapping = es.request("GET", f"/{err.value.next_index}/_mapping")[err.value.next_index]["mappings"]
    assert mapping["properties"]["text"]["search_analyzer"] == "marsad_arabic_search"
    assert es.exists(f"/{names.stories_index_v1}")  # kept for a rollback


def test_text_query_percolates_like_it_searches(names):
    """The seam with the alerts percolator: an index that copies the template's analysis and text mappings (as the
    alert-rules index does) stores ``text_query(q)``; percolating each acceptance document fires exactly for the
    documents that ``search`` finds."""
    from marsad.index.templates import load_template

    es = Es(names.es_url)
    apply_templates(names, es)
    docs = documents()
    index_documents(es, names.stories_alias, docs)
    tpl = load_template("stories")["template"]
    props = {k: tpl["mappings"]["properties"][k] for k in ("title", "text", "source", "language")}
    perc = f"{names.stories_index_prefix}percolator"
    es.request("PUT", f"/{perc}", {"settings": {"analysis": tpl["settings"]["analysis"]},
                                   "mappings": {"properties": {**props, "query": {"type": "percolator"}}}})
    import orjson

    lines = []
    for li, lst in enumerate(LISTS):
        lines += [orjson.dumps({"index": {"_index": perc, "_id": str(li)}}),
                  orjson.dumps({"query": text_query(lst.query)})]
    assert not es.request("POST", "/_bulk", b"\n".join(lines) + b"\n", params={"refresh": "true"})["errors"]
    batch = [{k: d[k] for k in ("title", "text", "source", "language")} for d in docs]
    resp = es.request("POST", f"/{perc}/_search", {"size": len(LISTS), "query": {"percolate": {
        "field": "query", "documents": batch}}})
    fired = {int(h["_id"]): {docs[slot]["story_id"] for slot in h["fields"]["_percolator_document_slot"]}
             for h in resp["hits"]["hits"]}
    for li, lst in enumerate(LISTS):
        found = {h.story_id for h in search(names, lst.query, es=es, size=500)[1]}
        assert fired.get(li, set()) == found, lst.query
        assert any(sid.startswith(f"l{li}-") for sid in found), lst.query


def test_templates_apply_refuses_an_index_whose_analyzer_definitions_changed(names):
    """Same analyzer names, other definitions (e.g. a longer name list): ``PUT _mapping`` would accept the mappings
    silently and the index would keep searching with the old analysis; the analysis hash in ``_meta`` catches it."""
    from marsad.index.templates import ANALYSIS_META, IncompatibleIndex

    es = Es(names.es_url)
    apply_templates(names, es)
    apply_templates(names, es)  # unchanged analysis: applies again without complaint
    es.request("PUT", f"/{names.stories_index_v1}/_mapping", {"_meta": {ANALYSIS_META: "an-older-analysis"}})
    with pytest.raises(IncompatibleIndex) as err:
        apply_templates(names, es)
    assert err.value.indices == [names.stories_index_v1]
    assert "analysis" in str(err.value.cause)
