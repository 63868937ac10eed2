"""Story rules shared by the index stage and the offline clusterer, and the offline :class:`Clusterer`.

**Which story a text joins** (:func:`best_story`, the one rule; :class:`marsad.index.stage.IndexStage` and
:class:`Clusterer` both call it): the text's fingerprint is compared (:func:`~marsad.dedup.near.decide`) with the
*stored fingerprint of each candidate story* — the text of the story's first member (its owner), not every member —
and the single best confirmed similarity wins (ties: the first candidate); no confirmed match → a new story whose id
is the text's own. Candidates are the stories sharing an LSH band or the lead key (the index stage also limits them
to the dedup window), plus the new stories of the same batch. Before that, a text equal (after normalisation,
:func:`marsad.text.arabic.content_hash`) to one already seen follows that text's story (the index stage's *claim*),
and a later version of a known URL joins that URL's story. Stories are never merged afterwards by the offline
clusterer; the index stage only merges stories two consumers created at the same moment (its race repair).

**Which copy is the story's origin** (:func:`replaces_origin`, the reference for the painless script
:data:`marsad.index.stage.ADD_REPUBLICATION`; :func:`owner_replaces_origin` for
:data:`~marsad.index.stage.OWNER_UPDATE`; tests/integration/test_origin_rule_python_and_painless_agree.py runs one
table of cases through both): every copy testifies to an origin — the site an attribution header names
(«نشر أولاً على موقع X», kept by :func:`marsad.extract.boilerplate.clean_body`; ``via="attribution"``) or itself
(``via="earliest"``). The first attribution wins and stays; without one, the copy with the earliest ``published_at``
(UTC ``YYYY-MM-DDTHH:MM:SSZ`` strings, compared as strings; undated counts as later than any date; ties keep the
copy seen first). When a member page of the site an attribution names is in the story (:func:`origin_page`: its
``source``, URL host or ``sitename`` has the attribution's :func:`site_key`; the earliest such page), the origin
carries that page (:func:`resolve_origin`, mirrored by the painless :data:`marsad.index.stage.RESOLVE_ORIGIN`) and
the offline clusterer names it as ``origin_id``; else ``origin_id`` is the earliest member. ``story_id`` stays
the id of the first member *seen* — a stable key for the index.
(The offline :func:`dedup_jsonl` feeds articles in publication order, so there the two coincide.)

State (URL → story, text hash → story, story fingerprints) is in memory; the fingerprints live in the store, so a
persistent store plus a persisted story map make the clusterer restartable.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from marsad.dedup.near import DEFAULT, CandidateStore, Fingerprint, MemoryStore, Params, decide, fingerprint
from marsad.dedup.urls import canonical_url
from marsad.text.arabic import content_hash, normalize_for_matching

__all__ = ["Assignment", "Clusterer", "Story", "StoryMatch", "best_story", "dedup_jsonl", "origin_time",
           "origin_page", "owner_replaces_origin", "replaces_origin", "resolve_origin", "site_key", "site_keys",
           "utc_second"]


class StoryMatch(NamedTuple):
    """The story a text joins: ``story_id``, the ``similarity`` of the deciding comparison (0.0–1.0) and its
    ``match`` kind (``exact`` | ``near`` | ``containment``, :attr:`marsad.dedup.near.Decision.kind`)."""

    story_id: str
    similarity: float
    match: str


def best_story(fp: Fingerprint, source: str | None,
               candidates: Iterable[tuple[str, Fingerprint, str | None]],
               params: Params = DEFAULT) -> StoryMatch | None:
    """The story a text with fingerprint ``fp`` from site ``source`` joins, among ``candidates`` =
    ``(story id, the story's stored fingerprint, the story's source)``; ``None`` = none matches (a new story).

    Each candidate is compared with :func:`~marsad.dedup.near.decide` (``same_source`` when both sources are equal
    and not ``None``: the stricter same-site containment); among the confirmed duplicates the highest similarity
    wins, ties go to the earlier candidate in ``candidates``. Raises ``ValueError`` (from ``decide``) when a
    candidate's fingerprint has another version. Used by the index stage (:meth:`IndexStage._best
    <marsad.index.stage.IndexStage._best>`) and by :class:`Clusterer` — the one story rule (docs/decisions.md,
    «One story rule»)."""
    best: StoryMatch | None = None
    for story_id, old, cand_source in candidates:
        d = decide(fp, old, params, same_source=source is not None and cand_source == source)
        if d.duplicate and (best is None or d.similarity > best.similarity):
            best = StoryMatch(story_id, d.similarity, d.kind)
    return best


def origin_time(value: datetime | None) -> str | None:
    """A publication time as the origin rule compares it: UTC ``YYYY-MM-DDTHH:MM:SSZ`` (seconds), ``None`` kept."""
    if value is None:
        return None
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def replaces_origin(current: Mapping[str, Any] | None, offered: Mapping[str, Any] | None) -> bool:
    """Does the origin a copy testifies to (``offered``) replace the story's ``current`` origin?

    Origins are mappings with ``via`` (``"attribution"`` | ``"earliest"``) and ``published_at`` (a UTC string as
    :func:`origin_time` writes it, or a ``YYYY-MM-DD`` day from an attribution header, or ``None``). Rule: nothing
    offered → no; no origin yet → yes; an attribution in place stays; an offered attribution wins; else an offered
    ``published_at`` strictly earlier (string order) than the current one, or than a missing one. The reference the
    painless :data:`marsad.index.stage.ADD_REPUBLICATION` mirrors (compared on one table of cases against the real
    node)."""
    if offered is None:
        return False
    if current is None:
        return True
    if current.get("via") == "attribution":
        return False
    if offered.get("via") == "attribution":
        return True
    new, old = offered.get("published_at"), current.get("published_at")
    return new is not None and (old is None or new < old)


def owner_replaces_origin(current: Mapping[str, Any] | None, offered: Mapping[str, Any] | None,
                          story_url: str | None) -> bool:
    """Does the owner's own origin (``offered``) replace ``current`` when the owner's write finds the story document
    written by a copy that stood in for it (``story_url`` = that copy's canonical URL)? Yes when there is no origin,
    or when the current origin is the stand-in copy itself (``url == story_url``, not an attribution) and not
    strictly earlier than the owner's (either date missing counts as not earlier). Reference of the origin part of
    the painless :data:`marsad.index.stage.OWNER_UPDATE`."""
    if offered is None:
        return False
    if current is None:
        return True
    new, old = offered.get("published_at"), current.get("published_at")
    return (current.get("via") != "attribution" and current.get("url") == story_url
            and (new is None or old is None or new <= old))


@dataclass(frozen=True)
class Assignment:
    """Where one article went.

    * ``story_id`` — id of the story's first member (the article's own id for a new story);
    * ``duplicate_of`` — id of the article it was compared with: the story's first member (whose fingerprint the
      story keeps), the earlier article with the same text, or the first version of the same URL; ``None`` for a
      new story;
    * ``similarity`` — similarity of that match (0.0–1.0; 1.0 for the same text or URL), ``None`` for a new story;
    * ``kind`` — ``new`` | ``short`` (new story, body too short to compare) | ``url`` | ``exact`` | ``near`` |
      ``containment``;
    * ``origin_id`` — the story's origin after this article was added (see module docstring).
    """

    id: str
    story_id: str
    duplicate_of: str | None = None
    similarity: float | None = None
    kind: str = "new"
    origin_id: str | None = None


@dataclass
class Story:
    """A cluster of copies. ``origin`` is the origin the copies testified to (:func:`replaces_origin`);
    ``origin_site`` is an attribution site no member matches (the original is elsewhere)."""

    story_id: str
    members: list[str] = field(default_factory=list)
    origin_id: str = ""
    origin_site: str | None = None
    origin: dict[str, Any] | None = None
    earliest: dict[str, Any] | None = None
    """The earliest member's testimony (the same rule restricted to ``via="earliest"``)."""


_FAR_FUTURE = datetime.max.replace(tzinfo=timezone.utc)


def _host(url: str | None) -> str | None:
    if not url:
        return None
    host = (urlsplit(url).hostname or "").lower()
    return host.removeprefix("www.") or None


def site_key(site: str) -> str:
    """Comparable form of a site name or domain: lower case, no scheme/«www.», Arabic normalised
    (:func:`~marsad.text.arabic.normalize_for_matching`): «اليوم السابع», «https://www.Youm7.com/» → «اليوم السابع»,
    «youm7.com». The index stage stores these keys (painless cannot normalise Arabic) and compares them as strings."""
    s = site.strip().lower()
    if "//" in s:
        s = _host(s) or s
    return normalize_for_matching(s.removeprefix("www.").rstrip("/"))


def site_keys(*names: str | None) -> list[str]:
    """The sorted, distinct :func:`site_key` of each non-blank name — a page's keys are those of its ``source``
    (registry name), URL host and ``sitename`` (the page's own name for its site, e.g. ``og:site_name``)."""
    return sorted({k for n in names if n and n.strip() and (k := site_key(n))})


def utc_second(value: datetime | str | None) -> str | None:
    """A page's publication time as UTC ``YYYY-MM-DDTHH:MM:SSZ`` (:func:`origin_time`); ISO 8601 strings with an
    offset (``…+03:00``, ``…Z``) are parsed first; ``None`` kept. Raises ``ValueError`` for another string."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return origin_time(value)


def origin_page(origin: Mapping[str, Any] | None, members: Iterable[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The member page an attribution origin names, or ``None``.

    ``origin`` is the story's origin (:func:`replaces_origin`); only ``via="attribution"`` with a ``site_key``
    (:func:`site_key` of the named site) names a page. ``members`` are the story's pages in the order the story
    received them (the story document first, then its republications), each a mapping with ``site_keys``
    (:func:`site_keys`; missing = matches nothing) and ``published_at`` (ISO 8601 or ``None``). Among the members
    whose ``site_keys`` contain the origin's ``site_key``, the earliest ``published_at`` (:func:`utc_second`) wins;
    undated members come after dated ones; ties keep the member seen first. Reference of the painless
    :data:`marsad.index.stage.RESOLVE_ORIGIN` (tests/integration/test_origin_rule_python_and_painless_agree.py)."""
    if not origin or origin.get("via") != "attribution" or not origin.get("site_key"):
        return None
    best, best_at = None, None
    for m in members:
        if origin["site_key"] not in (m.get("site_keys") or ()):
            continue
        at = utc_second(m.get("published_at"))
        if best is None or (at is not None and (best_at is None or at < best_at)):
            best, best_at = m, at
    return best


def resolve_origin(origin: Mapping[str, Any] | None, members: Iterable[Mapping[str, Any]]) -> dict[str, Any] | None:
    """``origin`` with the page it names filled in: when :func:`origin_page` finds a member, the origin takes that
    page's ``url`` (its ``canonical_url``), ``title``, ``source`` and ``published_at`` (:func:`utc_second`); ``via``
    (``attribution``), ``site`` and ``site_key`` stay. Otherwise ``origin`` unchanged (a copy; ``None`` kept)."""
    if origin is None:
        return None
    page = origin_page(origin, members)
    if page is None:
        return dict(origin)
    return {**origin, "url": page.get("canonical_url"), "title": page.get("title"), "source": page.get("source"),
            "published_at": utc_second(page.get("published_at"))}


class Clusterer:
    """Assigns articles to stories with the index stage's rule (see module docstring). Not thread-safe.

    ``store`` holds one fingerprint per story, its first member's (default: a fresh :class:`MemoryStore`);
    ``params`` the decision parameters.
    """

    def __init__(self, store: CandidateStore | None = None, params: Params = DEFAULT) -> None:
        self.store: CandidateStore = store if store is not None else MemoryStore()
        self.params = params
        self.stories: dict[str, Story] = {}
        self._assigned: dict[str, Assignment] = {}
        self._story_of: dict[str, str] = {}
        self._by_url: dict[str, str] = {}
        self._by_hash: dict[str, str] = {}
        self._story_source: dict[str, str | None] = {}
        self._site_keys: dict[str, set[str]] = {}
        self._published: dict[str, datetime] = {}
        self._order: dict[str, int] = {}

    def story_of(self, article_id: str) -> str | None:
        """``story_id`` of an article added before, else ``None``."""
        return self._story_of.get(article_id)

    def add(self, article_id: str, text: str, published_at: datetime | None = None, url: str | None = None,
            source: str | None = None, attribution_site: str | None = None,
            sitename: str | None = None) -> Assignment:
        """Assign one article (body already cleaned of boilerplate) to a story and remember it.

        ``published_at`` must be timezone-aware when given; ``source`` is the site's registry name (two articles
        with the same ``source`` — else, without one, the same URL host — are *same-site*: stricter containment,
        see :data:`~marsad.dedup.near.SAME_SOURCE_CONTAINMENT`); ``attribution_site`` is the site an attribution
        header names; ``sitename`` the page's own name for its site (``og:site_name``), which an attribution may
        use instead of the domain («اليوم السابع» for youm7.com). Adding an ``article_id`` again returns its first
        assignment unchanged (redelivery is safe).
        A later version of a known URL (http/https, tracking parameters and fragment ignored) joins that URL's
        story as ``kind="url"``; a text equal to an earlier one (same :func:`~marsad.text.arabic.content_hash`)
        joins that text's story as ``kind="exact"``; otherwise :func:`best_story` against the stories' stored
        fingerprints decides. Raises ``ValueError`` for a naive ``published_at``. Cost: ≈ 0.7 ms median per
        article (benchmark).
        """
        if article_id in self._assigned:
            return self._assigned[article_id]
        if published_at is not None and published_at.tzinfo is None:
            raise ValueError("published_at must be timezone-aware")
        key = None
        if url:
            try:
                key = canonical_url(url).split("://", 1)[1]  # http and https of one URL are one page
            except ValueError:
                key = url
        host = _host(url)
        site = source or host
        self._order[article_id] = len(self._order)
        self._published[article_id] = published_at or _FAR_FUTURE
        self._site_keys[article_id] = set(site_keys(source, host, sitename))

        if key is not None and key in self._by_url:
            first = self._by_url[key]
            return self._join(article_id, self._story_of[first], first, 1.0, "url", attribution_site)
        if key is not None:
            self._by_url[key] = article_id
        text_key = content_hash(text)
        if text_key in self._by_hash:  # the index stage's claim: the same text follows its first story
            first = self._by_hash[text_key]
            return self._join(article_id, self._story_of[first], first, 1.0, "exact", attribution_site)
        self._by_hash[text_key] = article_id

        fp = fingerprint(text, self.params)
        if fp is None:
            return self._join(article_id, None, None, None, "short", attribution_site)
        match = best_story(fp, site, ((sid, cand, self._story_source.get(sid))
                                      for sid, cand in self.store.candidates(fp) if sid in self.stories),
                           self.params)
        if match is None:
            self.store.add(article_id, fp)
            self._story_source[article_id] = site
            return self._join(article_id, None, None, None, "new", attribution_site)
        return self._join(article_id, match.story_id, match.story_id, round(match.similarity, 4), match.match,
                          attribution_site)

    def _join(self, article_id: str, story_id: str | None, dup: str | None, sim: float | None, kind: str,
              attribution_site: str | None) -> Assignment:
        if story_id is None:
            story_id = article_id
            self.stories[story_id] = Story(story_id)
        story = self.stories[story_id]
        story.members.append(article_id)
        self._story_of[article_id] = story_id
        when = self._published[article_id]
        itself = {"via": "earliest", "id": article_id,
                  "published_at": None if when == _FAR_FUTURE else origin_time(when)}
        offered = {"via": "attribution", "site": attribution_site.strip(), "site_key": site_key(attribution_site),
                   "published_at": None} \
            if attribution_site and attribution_site.strip() else itself
        if replaces_origin(story.origin, offered):
            story.origin = offered
        if replaces_origin(story.earliest, itself):
            story.earliest = itself
        self._set_origin(story)
        a = Assignment(article_id, story_id, dup, sim, kind, story.origin_id)
        self._assigned[article_id] = a
        return a

    def _set_origin(self, story: Story) -> None:
        origin, earliest = story.origin or {}, story.earliest or {}
        story.origin_id, story.origin_site = earliest.get("id", story.members[0]), None
        if origin.get("via") == "attribution":
            page = origin_page(origin, ({"id": m, "site_keys": self._site_keys[m],
                                         "published_at": None if self._published[m] == _FAR_FUTURE
                                         else origin_time(self._published[m])} for m in story.members))
            if page is not None:
                story.origin_id = page["id"]
            else:
                story.origin_site = origin["site"]


def _parse_time(value: object) -> datetime | None:
    if not value:
        return None
    when = datetime.fromisoformat(str(value))
    return when if when.tzinfo is not None else when.replace(tzinfo=timezone.utc)


def dedup_jsonl(in_path: str | Path, out_path: str | Path, *, params: Params = DEFAULT, clean: bool = True,
                store: CandidateStore | None = None) -> int:
    """Offline clustering (the ``marsad dedup FILE.jsonl`` command): the index stage's story rule (:func:`best_story`,
    module docstring); ``source`` is the URL host.

    Input lines ``{id, url, title, text, published_at?}`` (``published_at`` ISO 8601; without offset = UTC).
    Articles are processed in publication order (undated last, then file order), so ``story_id`` is the id of the
    earliest copy; output lines ``{id, story_id, duplicate_of, similarity}`` (:class:`Assignment`) are written in
    input order.
    ``clean=True`` runs :func:`marsad.extract.boilerplate.clean_body` on each text first (pipeline bodies are
    already clean; cleaning again leaves them unchanged) and uses the attribution it finds for the origin.
    Returns the number of lines written. Raises ``ValueError`` naming the line for invalid JSON, a missing or
    duplicate ``id``, a missing ``text`` or a bad ``published_at``.
    """
    from marsad.extract.boilerplate import clean_body, clean_title

    rows: list[dict] = []
    seen: set[str] = set()
    with open(in_path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{in_path}:{n}: not a JSON line: {exc}") from exc
            if not isinstance(row, dict):
                raise ValueError(f"{in_path}:{n}: a line must be a JSON object {{id, url, title, text, "
                                 f"published_at?}}, got {type(row).__name__}")
            missing = [k for k in ("id", "text") if k not in row]
            if missing:
                raise ValueError(f"{in_path}:{n}: missing field{'s' if len(missing) > 1 else ''} "
                                 f"{', '.join(missing)} (each line: {{id, url, title, text, published_at?}})")
            art_id, text = str(row["id"]), row["text"]
            try:
                when = _parse_time(row.get("published_at"))
            except (TypeError, ValueError) as exc:
                raise ValueError(f"{in_path}:{n}: published_at: {exc}") from exc
            if not isinstance(text, str):
                raise ValueError(f"{in_path}:{n}: text must be a string")
            if art_id in seen:
                raise ValueError(f"{in_path}:{n}: duplicate id {art_id!r}")
            seen.add(art_id)
            rows.append({"id": art_id, "url": row.get("url"), "title": row.get("title"), "text": text,
                         "when": when, "n": n})
    clusterer = Clusterer(store, params)
    out: dict[str, Assignment] = {}
    for row in sorted(rows, key=lambda r: (r["when"] is None, r["when"] or _FAR_FUTURE, r["n"])):
        text, site = row["text"], None
        if clean:
            title = clean_title(row["title"]) if row["title"] else None
            text, attribution = clean_body(text, title)
            site = attribution.original_site
        out[row["id"]] = clusterer.add(row["id"], text, row["when"], row["url"], _host(row["url"]), site)
    with open(out_path, "w", encoding="utf-8") as fh:
        for row in rows:
            a = out[row["id"]]
            fh.write(json.dumps({"id": a.id, "story_id": a.story_id, "duplicate_of": a.duplicate_of,
                                 "similarity": a.similarity}, ensure_ascii=False) + "\n")
    return len(rows)
