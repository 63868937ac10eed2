"""Index template and Arabic analyzer against the real Elasticsearch."""

from __future__ import annotations

import pytest

from marsad.index.es import Es, EsHttpError
from marsad.index.templates import apply_templates

pytestmark = pytest.mark.services


def _tokens(es: Es, index: str, analyzer: str, text: str) -> list[str]:
    resp = es.request("POST", f"/{index}/_analyze", {"analyzer": analyzer, "text": text})
    return [t["token"] for t in resp["tokens"]]


def test_apply_templates_creates_versioned_index_behind_alias_and_is_idempotent(names):
    es = Es(names.es_url)
    first = apply_templates(names, es)
    assert first[f"index {names.stories_index_v1}"] == "created"
    second = apply_templates(names, es)
    assert second[f"alias {names.stories_alias}"] == "exists"
    aliases = es.request("GET", f"/_alias/{names.stories_alias}")
    assert list(aliases) == [names.stories_index_v1]
    assert aliases[names.stories_index_v1]["aliases"][names.stories_alias]["is_write_index"] is True


def test_arabic_analyzer_strips_article_and_plural(names):
    es = Es(names.es_url)
    apply_templates(names, es)
    idx = names.stories_alias
    assert _tokens(es, idx, "marsad_arabic", "الطائرات") == _tokens(es, idx, "marsad_arabic", "طائرات")
    # bidi marks and tatweel do not split or change tokens; Eastern Arabic digits become ASCII
    assert _tokens(es, idx, "marsad_arabic", "\u200fحاملـات\u200f") == _tokens(es, idx, "marsad_arabic", "حاملات")
    assert _tokens(es, idx, "marsad_arabic", "٢٠٢٦") == ["2026"]
    # the exact subfield analyzer normalises but does not stem
    assert _tokens(es, idx, "marsad_arabic_exact", "الطائرات") != _tokens(es, idx, "marsad_arabic_exact", "طائرات")


def test_strict_mapping_rejects_unknown_fields(names):
    es = Es(names.es_url)
    apply_templates(names, es)
    with pytest.raises(EsHttpError) as err:
        es.request("PUT", f"/{names.stories_alias}/_doc/x", {"title": "t", "not_a_field": 1})
    assert err.value.status == 400
