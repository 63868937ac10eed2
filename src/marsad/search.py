"""Arabic search over stories: one hit per story, highlighted snippets.

:func:`text_query` turns Marsad's query syntax (:func:`parse_query`: words near each other, quoted exact phrases,
``OR``) into one Elasticsearch clause on the stemmed fields (``title``, ``text``: ``marsad_arabic`` /
``marsad_arabic_search``) and the exact normalised subfields (``*.exact``), so an exact phrase ranks above a stemmed
match; the alert percolator stores the same clause. Republications live inside their story document, so hits are
one per story (``collapse`` on ``story_id`` guards it); ``republication_count`` and the republishers are returned.
Analysis and syntax: docs/search.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from marsad.index.es import Es
from marsad.settings import Settings

HL_PRE, HL_POST = "\u27e6", "\u27e7"
"""Highlight markers (⟦ ⟧): unambiguous in Arabic text and easy to restyle in a terminal."""


@dataclass
class Hit:
    story_id: str
    score: float
    title: str | None
    url: str
    source: str
    published_at: str | None
    republication_count: int
    snippets: list[str]
    original: dict | None = None
    """Attribution parsed from an aggregator header: ``{site, title, published_at}``."""
    republishers: list[str] | None = None
    """Sources of the story's republications."""
    origin: dict | None = None
    """Who published the story first: ``{site, source, url, title, published_at, via}`` (``via``: attribution or
    earliest)."""
    title_highlight: str | None = None
    """The title with the matched words between :data:`HL_PRE` and :data:`HL_POST` (None: no match in the title)."""
    headline: dict | None = None
    """The page to show first for the story: ``{title, url, source, published_at, is_origin}``. The origin page
    (``is_origin: true``) when the story's ``origin.url`` is set and is not the story document's canonical URL
    (the original a copy named, or an earlier copy); else the story document (:func:`headline_of`)."""
    republished_by: dict | None = None
    """The story document ``{title, url, source, published_at}`` when :attr:`headline` is another page (the copy
    indexed first, often an aggregator); ``None`` when the headline is the story document itself."""

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def headline_of(story: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """``(headline, republished_by)`` of a story document ``_source`` (see :attr:`Hit.headline`): when
    ``origin.url`` is set and differs from the story's ``canonical_url`` (or ``url`` without one), the headline is
    the origin page — its ``title`` (``None`` if the origin has none), ``url``, ``source`` and ``published_at`` —
    and ``republished_by`` the story document; otherwise the headline is the story document and
    ``republished_by`` is ``None``."""
    own = {"title": story.get("title"), "url": story.get("url", ""), "source": story.get("source", ""),
           "published_at": story.get("published_at")}
    origin = story.get("origin") or {}
    if origin.get("url") and origin["url"] != (story.get("canonical_url") or story.get("url")):
        return ({"title": origin.get("title"), "url": origin["url"], "source": origin.get("source") or
                 origin.get("site") or "", "published_at": origin.get("published_at"), "is_origin": True}, own)
    return {**own, "is_origin": False}, None


PROXIMITY_SLOP = 3
"""Slop of the phrase query for the unquoted words of a multi-word query: how many positions the words may move
(Lucene ``PhraseQuery`` slop; stop words keep their position, so «مخازن للصواريخ بريف دمشق» matches «مخازن صواريخ
دمشق» with slop 1). 3 keeps the words in one clause (an adjective or a stop word may come between them) and rejects
«حامل» and «الطائرة» in unrelated sentences."""

EXACT_SLOP = 0
"""Slop of a quoted phrase on the exact subfields: the words in this order, adjacent (stop words count)."""

_QUOTES = {'"': '"', "\u00ab": "\u00bb", "\u201c": "\u201d"}
"""Quote pairs that make an exact phrase: "…", «…», “…”."""


@dataclass(frozen=True)
class QueryPart:
    """One conjunct of a parsed query: ``kind`` is ``words`` (stemmed, near each other) or ``phrase`` (exact)."""
    kind: str
    text: str


def parse_query(query: str) -> list[list[QueryPart]]:
    """Parse Marsad's search syntax into OR-alternatives of conjuncts.

    * words: ``حاملات طائرات`` — every word, stemmed (clitics, dual/plural, ta marbuta folded), near each other
      (:data:`PROXIMITY_SLOP`) in the title or in the text; a single word matches anywhere;
    * ``"…"``, ``«…»`` or ``“…”``: an exact phrase on the normalised, unstemmed subfields (``*.exact``): no
      clitic stripping, no stemming; tashkeel, tatweel, presentation forms and alef/ya/ta-marbuta are still folded;
    * ``OR`` (upper case, between spaces) separates alternatives: ``نتنياهو OR بزشكيان``.

    A quoted phrase and words in one alternative must all match. Returns ``[[QueryPart, ...], ...]`` (one inner
    list per alternative; empty alternatives dropped). Raises :class:`ValueError` when nothing searchable is left
    (empty query, only quotes or ``OR``); an unclosed quote runs to the end of the query.
    """
    alternatives: list[list[QueryPart]] = []
    for alt in _split_or(query):
        parts: list[QueryPart] = []
        words: list[str] = []
        i, n = 0, len(alt)
        while i < n:
            c = alt[i]
            if c in _QUOTES:
                close = alt.find(_QUOTES[c], i + 1)
                close = n if close < 0 else close
                phrase = " ".join(alt[i + 1:close].split())
                if phrase:
                    parts.append(QueryPart("phrase", phrase))
                i = close + 1
            else:
                j = i
                while j < n and alt[j] not in _QUOTES:
                    j += 1
                words.extend(alt[i:j].split())
                i = j
        if words:
            parts.insert(0, QueryPart("words", " ".join(words)))
        if parts:
            alternatives.append(parts)
    if not alternatives:
        raise ValueError(f"nothing to search for in {query!r}")
    return alternatives


def _split_or(query: str) -> list[str]:
    out: list[str] = []
    cur: list[str] = []
    quote: str | None = None
    for tok in query.replace("\t", " ").split(" "):
        if quote is None and tok == "OR":
            out.append(" ".join(cur))
            cur = []
            continue
        cur.append(tok)
        for c in tok:  # track quotes so an OR inside a quoted phrase is a word
            if quote is None and c in _QUOTES:
                quote = _QUOTES[c]
            elif quote is not None and c == quote:
                quote = None
    out.append(" ".join(cur))
    return out


def _part_clause(part: QueryPart) -> dict[str, Any]:
    if part.kind == "phrase":
        return {"bool": {"should": [
            {"match_phrase": {"title.exact": {"query": part.text, "slop": EXACT_SLOP, "boost": 4}}},
            {"match_phrase": {"text.exact": {"query": part.text, "slop": EXACT_SLOP, "boost": 2}}},
        ], "minimum_should_match": 1}}
    if len(part.text.split()) == 1:
        return {"multi_match": {"query": part.text, "type": "most_fields",
                                "fields": ["title^3", "text", "title.exact^4", "text.exact^2"]}}
    return {"bool": {"should": [
        {"match_phrase": {"title": {"query": part.text, "slop": PROXIMITY_SLOP, "boost": 3}}},
        {"match_phrase": {"text": {"query": part.text, "slop": PROXIMITY_SLOP}}},
        # the same words unstemmed and adjacent rank first (they only ever match where the stemmed phrase does)
        {"match_phrase": {"title.exact": {"query": part.text, "slop": 1, "boost": 4}}},
        {"match_phrase": {"text.exact": {"query": part.text, "slop": 1, "boost": 2}}},
    ], "minimum_should_match": 1}}


def text_query(query: str) -> dict[str, Any]:
    """The Elasticsearch query clause for the words of ``query`` (no filters): Marsad's Arabic search semantics.

    Shared by :func:`build_query` (search) and the alert rules (percolator queries), so an alert fires on
    exactly what a search for the same words finds. Syntax: :func:`parse_query`. Fields: ``title``/``text``
    (``marsad_arabic``: folded, proclitics and suffixes stripped) and ``title.exact``/``text.exact``
    (``marsad_arabic_exact``: folded only), analyzers in ``marsad/index/schema/stories.json``.
    Raises :class:`ValueError` for a query with nothing to search for.
    """
    alternatives = [[_part_clause(p) for p in alt] for alt in parse_query(query)]
    groups = [clauses[0] if len(clauses) == 1 else {"bool": {"must": clauses}} for clauses in alternatives]
    if len(groups) == 1:
        return groups[0]
    return {"bool": {"should": groups, "minimum_should_match": 1}}


SORTS = ("relevance", "date")


def _aware(d: datetime) -> datetime:
    return d if d.tzinfo else d.replace(tzinfo=timezone.utc)


def parse_when(value: str, option: str = "date") -> datetime:
    """Parse a CLI date: ISO 8601 date or date-time, with ``Z`` or an offset; naive values are UTC.

    ``2026-01-08``, ``2026-01-08T11:42``, ``2026-01-08T11:42:50+02:00``. Raises :class:`ValueError` with the
    option name and the accepted forms.
    """
    try:
        d = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"{option}: {value!r} is not an ISO 8601 date (e.g. 2026-01-08, 2026-01-08T11:42, "
                         f"2026-01-08T11:42:50+02:00)") from None
    return _aware(d)


def build_query(query: str, *, since: datetime | None = None, until: datetime | None = None,
                source: str | None = None, language: str | None = None, sort: str = "relevance",
                size: int = 10) -> dict[str, Any]:
    """The Elasticsearch request body for :func:`search` (pure; unit-tested).

    ``since`` (inclusive) and ``until`` (exclusive) filter ``published_at``; naive datetimes are read as UTC by
    Elasticsearch. ``sort``: ``relevance`` (score) or ``date`` (newest first, undated last). Raises
    :class:`ValueError` for an unknown ``sort``, ``since >= until``, ``size < 1`` or an empty query.
    """
    if sort not in SORTS:
        raise ValueError(f"unknown sort {sort!r} (expected one of {', '.join(SORTS)})")
    if since and until and _aware(since) >= _aware(until):
        raise ValueError(f"--since {since.isoformat()} is not before --until {until.isoformat()}")
    if size < 1:
        raise ValueError(f"size must be at least 1, got {size}")
    filters: list[dict[str, Any]] = []
    if source:
        filters.append({"term": {"source": source}})
    if language:
        filters.append({"term": {"language": language}})
    if since or until:
        rng: dict[str, str] = {}
        if since:
            rng["gte"] = since.isoformat()
        if until:
            rng["lt"] = until.isoformat()
        filters.append({"range": {"published_at": rng}})
    body: dict[str, Any] = {
        "size": size,
        "query": {"bool": {"must": [text_query(query)], "filter": filters}},
        # the story document holds its republications; collapsing on story_id keeps one hit per story even if
        # an index ever held two documents of one story (e.g. during a replay into a new version)
        "collapse": {"field": "story_id"},
        "highlight": {
            "pre_tags": [HL_PRE], "post_tags": [HL_POST],
            "fields": {"text": {"fragment_size": 160, "number_of_fragments": 2},
                       "text.exact": {"fragment_size": 160, "number_of_fragments": 2},
                       "title": {"number_of_fragments": 0},
                       "title.exact": {"number_of_fragments": 0}},
        },
        "_source": ["story_id", "title", "url", "canonical_url", "source", "published_at", "republication_count",
                    "original", "republications.source", "origin"],
    }
    if sort == "date":
        body["sort"] = [{"published_at": {"order": "desc", "missing": "_last"}}, "_score"]
    return body


def search(settings: Settings, query: str, es: Es | None = None, **kwargs: Any) -> tuple[int, list[Hit]]:
    """Run ``query`` on the stories alias; returns ``(total_hits, hits)``, one hit per story.

    ``kwargs``: :func:`build_query` (since, until, source, language, sort, size). Raises ValueError for a bad
    query or filter, TransientError if Elasticsearch is down, EsHttpError if it rejects the request.
    """
    es = es or Es.from_settings(settings)
    resp = es.request("POST", f"/{settings.stories_alias}/_search", build_query(query, **kwargs))
    hits = []
    for h in resp["hits"]["hits"]:
        src = h["_source"]
        hl = h.get("highlight", {})
        headline, republished_by = headline_of(src)
        hits.append(Hit(
            story_id=src.get("story_id", h["_id"]), score=h.get("_score") or 0.0, title=src.get("title"),
            url=src.get("url", ""), source=src.get("source", ""), published_at=src.get("published_at"),
            republication_count=src.get("republication_count", 0),
            snippets=hl.get("text") or hl.get("text.exact") or [],
            title_highlight=(hl.get("title") or hl.get("title.exact") or [None])[0],
            original=src.get("original"), origin=src.get("origin"), headline=headline, republished_by=republished_by,
            republishers=sorted({r.get("source") for r in src.get("republications") or [] if r.get("source")}),
        ))
    total = resp["hits"]["total"]
    return (total["value"] if isinstance(total, dict) else int(total)), hits
