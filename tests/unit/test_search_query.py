"""Unit tests of marsad.search.build_query (pure; no Elasticsearch)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from marsad.search import HL_POST, HL_PRE, PROXIMITY_SLOP, QueryPart, build_query, parse_query, parse_when, text_query

Q = "حاملات طائرات"


def _filters(body):
    return body["query"]["bool"]["filter"]


def test_plain_query_has_no_filters_and_no_sort():
    body = build_query(Q)
    assert _filters(body) == []
    assert "sort" not in body
    assert body["size"] == 10
    assert body["collapse"] == {"field": "story_id"}
    assert body["query"]["bool"]["must"][0] == text_query(Q)  # search and alert rules share one query clause


def _phrases(clause):
    return {field: spec for c in clause["bool"]["should"] for field, spec in c["match_phrase"].items()}


def test_several_words_must_be_near_each_other_in_title_or_text():
    clause = text_query(Q)
    assert clause["bool"]["minimum_should_match"] == 1
    p = _phrases(clause)
    assert set(p) == {"title", "text", "title.exact", "text.exact"}
    assert p["text"] == {"query": Q, "slop": PROXIMITY_SLOP}
    assert p["title"]["slop"] == PROXIMITY_SLOP and p["title"]["boost"] > 1
    assert 0 < PROXIMITY_SLOP <= 4  # near: the same clause, not anywhere in a long text


def test_single_word_is_a_plain_match_on_stemmed_and_exact_fields():
    mm = text_query("نتنياهو")["multi_match"]
    assert mm["query"] == "نتنياهو"
    assert set(mm["fields"]) == {"title^3", "text", "title.exact^4", "text.exact^2"}


def test_quoted_phrases_use_the_exact_subfields_without_slop():
    for q in ('"حاملات الطائرات"', "«حاملات الطائرات»", "\u201cحاملات الطائرات\u201d"):
        assert parse_query(q) == [[QueryPart("phrase", "حاملات الطائرات")]]
        p = _phrases(text_query(q))
        assert set(p) == {"title.exact", "text.exact"}
        assert p["text.exact"]["slop"] == 0


def test_words_and_a_phrase_must_both_match():
    assert parse_query('ترامب "البيت الأبيض" واشنطن') == [[QueryPart("words", "ترامب واشنطن"),
                                                         QueryPart("phrase", "البيت الأبيض")]]
    clause = text_query('ترامب "البيت الأبيض"')
    assert len(clause["bool"]["must"]) == 2


def test_or_separates_alternatives_but_not_inside_quotes_or_in_lower_case():
    assert parse_query("نتنياهو OR بزشكيان") == [[QueryPart("words", "نتنياهو")], [QueryPart("words", "بزشكيان")]]
    clause = text_query("نتنياهو OR بزشكيان")
    assert clause["bool"]["minimum_should_match"] == 1 and len(clause["bool"]["should"]) == 2
    assert parse_query('"war OR peace"') == [[QueryPart("phrase", "war OR peace")]]
    assert parse_query("war or peace") == [[QueryPart("words", "war or peace")]]
    assert parse_query("OR نتنياهو OR") == [[QueryPart("words", "نتنياهو")]]


def test_unclosed_quote_runs_to_the_end_and_empty_queries_are_refused():
    assert parse_query('غزة "وقف إطلاق') == [[QueryPart("words", "غزة"), QueryPart("phrase", "وقف إطلاق")]]
    for q in ("", "   ", '""', "OR", "« »"):
        with pytest.raises(ValueError):
            text_query(q)


def test_bad_sort_size_and_inverted_range_are_refused():
    d = datetime(2026, 1, 1, tzinfo=timezone.utc)
    with pytest.raises(ValueError, match="sort"):
        build_query(Q, sort="score")
    with pytest.raises(ValueError, match="size"):
        build_query(Q, size=0)
    with pytest.raises(ValueError, match="not before"):
        build_query(Q, since=d, until=d)
    with pytest.raises(ValueError, match="not before"):  # naive = UTC, compared with an aware one
        build_query(Q, since=datetime(2026, 1, 2), until=d)


def test_parse_when_accepts_iso_dates_and_offsets_and_explains_bad_ones():
    assert parse_when("2026-01-08") == datetime(2026, 1, 8, tzinfo=timezone.utc)
    assert parse_when("2026-01-08T11:42:50+02:00").utcoffset() == timedelta(hours=2)
    assert parse_when("2026-01-08T11:42Z").utcoffset() == timedelta(0)
    for bad in ("08/01/2026", "yesterday", "2026-13-01", ""):
        with pytest.raises(ValueError, match="--since.*ISO 8601"):
            parse_when(bad, "--since")


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
    assert set(hl["fields"]) == {"text", "title", "text.exact", "title.exact"}
    assert hl["fields"]["text"]["number_of_fragments"] == 2


def test_source_fields_include_what_hits_need():
    src = build_query(Q)["_source"]
    for f in ("story_id", "title", "url", "source", "published_at", "republication_count"):
        assert f in src
