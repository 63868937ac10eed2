"""Unit tests of marsad.search.build_query (pure; no Elasticsearch)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from marsad.search import HL_POST, HL_PRE, build_query, text_query

Q = "حاملات طائرات"


def _filters(body):
    return body["query"]["bool"]["filter"]


def test_plain_query_has_no_filters_and_no_sort():
    body = build_query(Q)
    assert _filters(body) == []
    assert "sort" not in body
    assert body["size"] == 10
    text = body["query"]["bool"]["must"][0]
    assert text == text_query(Q)  # search and alert rules share one query clause
    mm = text["bool"]["must"][0]["multi_match"]
    assert mm["query"] == Q
    assert mm["operator"] == "and"
    assert "title.exact^4" in mm["fields"] and "text" in mm["fields"]
    phrase = text["bool"]["should"][0]["match_phrase"]["text.exact"]
    assert phrase["query"] == Q


def test_source_and_language_filters():
    body = build_query(Q, source="lbc", language="ar")
    assert {"term": {"source": "lbc"}} in _filters(body)
    assert {"term": {"language": "ar"}} in _filters(body)
    assert len(_filters(body)) == 2


def test_since_until_range_is_half_open_with_offsets():
    beirut = timezone(timedelta(hours=2))
    since = datetime(2026, 1, 1, tzinfo=beirut)
    until = datetime(2026, 1, 8, 12, 30, tzinfo=timezone.utc)
    body = build_query(Q, since=since, until=until)
    assert _filters(body) == [{"range": {"published_at": {"gte": "2026-01-01T00:00:00+02:00",
                                                           "lt": "2026-01-08T12:30:00+00:00"}}}]


def test_since_only_and_until_only():
    d = datetime(2026, 1, 1, tzinfo=timezone.utc)
    assert _filters(build_query(Q, since=d)) == [{"range": {"published_at": {"gte": d.isoformat()}}}]
    assert _filters(build_query(Q, until=d)) == [{"range": {"published_at": {"lt": d.isoformat()}}}]


def test_all_filters_together():
    d = datetime(2026, 1, 1, tzinfo=timezone.utc)
    body = build_query(Q, source="lbc", language="ar", since=d, until=d + timedelta(days=1), size=3)
    assert len(_filters(body)) == 3
    assert body["size"] == 3


def test_sort_by_date_newest_first_missing_last():
    body = build_query(Q, sort="date")
    assert body["sort"][0] == {"published_at": {"order": "desc", "missing": "_last"}}
    assert body["sort"][1] == "_score"
    assert "sort" not in build_query(Q, sort="relevance")


def test_highlight_tags_and_fields():
    hl = build_query(Q)["highlight"]
    assert hl["pre_tags"] == [HL_PRE] == ["\u27e6"]
    assert hl["post_tags"] == [HL_POST] == ["\u27e7"]
    assert set(hl["fields"]) == {"text", "title"}
    assert hl["fields"]["text"]["number_of_fragments"] == 2


def test_source_fields_include_what_hits_need():
    src = build_query(Q)["_source"]
    for f in ("story_id", "title", "url", "source", "published_at", "republication_count"):
        assert f in src
