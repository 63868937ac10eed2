"""The index stage: articles → stories in Elasticsearch, with exact and near-duplicate detection.

Per batch (all writes idempotent, so redelivery after a crash is harmless):

1. **Read claims**: ``_mget`` of each article's content hash (SHA-256 of the normalised body) in the fingerprints
   index. A claim names the canonical URL that owns the text and the story **decision** for it.
2. **Decide** (only for texts nobody claimed yet): the article gets a MinHash fingerprint
   (:mod:`marsad.dedup.near`); stories sharing an LSH band or the lead key, indexed within ``dedup_window_days``,
   plus the new stories of the same batch, are candidates; the best confirmed match (Jaccard, or containment for
   teasers; number/name conflicts refused) makes it a ``near`` duplicate of that story. Otherwise it starts a new
   story (``_id = sha1(canonical URL)``) that stores its band keys and fingerprint.
3. **Claim with the decision**, one ``op_type=create`` per text: exactly one canonical URL owns a text, even with
   several consumers racing, and the same write makes its decision (story id, match, similarity) durable. A lost
   race (``409``) turns the article into a copy of the winner's story. A redelivered article finds its own claim
   and repeats the recorded decision — no new search, so a crash after the claim cannot change it; a crash before
   the claim leaves nothing behind, and the decision is simply made again (docs/decisions.md, "Story decision").
4. **Write** in one bulk (split at ~10 MiB) with ``refresh=true`` so the next batch can find these stories:
   owners as partial updates with upsert (republications kept), copies through a painless script that appends a
   republication once per canonical URL.
5. **Repair**: near-duplicate stories written at the same moment by consumers on different partitions are merged,
   always the larger id into the smaller, by whichever consumer's repair runs last (each new story folds itself
   into a smaller-id one, or folds larger-id ones into where they belong) — see :meth:`IndexStage._repair`; a fold
   interrupted by a crash is finished by the redelivery (:meth:`IndexStage._resume_folds`, or the repair again).
5b. **Alerts**: the stories the batch created are percolated against the alert rules; each (rule, story) fires
   once — see :meth:`IndexStage._alert` and :mod:`marsad.alerts.percolate`. The percolate request itself is sent
   in a background thread while steps 4–5 run (:meth:`IndexStage._percolate_early`); only the matches of stories
   actually created are fired.
6. Offsets are committed by the worker only after all this returned; per-item failures are classified:
   429/5xx → :class:`TransientError` (batch retried), other 4xx → that record is dead-lettered.

Crash points for the fault tests (:mod:`marsad.faults`) sit between these steps.

The story's ``origin`` moves to a copy that names the first publisher in an attribution header, or else to the
earliest-published copy (see :data:`ADD_REPUBLICATION`); the story document itself stays the first indexed copy.
An attribution origin takes the page of the site it names once that page is in the story (:data:`RESOLVE_ORIGIN`).
"""

from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit

from prometheus_client import Counter as PromCounter

from marsad import faults
from marsad.alerts.events import AlertEvent
from marsad.alerts.percolate import AlertHook
from marsad.dedup.near import Fingerprint, decide, fingerprint
from marsad.dedup.stories import StoryMatch, best_story, resolve_origin, site_key, site_keys
from marsad.dedup.urls import canonical_url
from marsad.errors import PermanentError, TransientError
from marsad.index.es import BulkItem, Es, EsHttpError, bulk_items, doc_id
from marsad.messages import Article, utcnow
from marsad.settings import Settings
from marsad.stage import DUPLICATE, REPUBLICATION, STORY, Outcome, Record

log = logging.getLogger(__name__)

RESOLVE_ORIGIN = """
def ro = ctx._source.origin;
if (ro != null && ro.via == 'attribution' && ro.site_key != null) {
  def members = new ArrayList();
  members.add(ctx._source);
  if (ctx._source.republications != null) { members.addAll(ctx._source.republications); }
  def page = null;
  String pageAt = null;
  for (m in members) {
    if (m.site_keys == null || !m.site_keys.contains(ro.site_key)) { continue; }
    String at = m.published_at == null ? null
        : Instant.ofEpochSecond(ZonedDateTime.parse(m.published_at).toEpochSecond()).toString();
    if (page == null || (at != null && (pageAt == null || at.compareTo(pageAt) < 0))) { page = m; pageAt = at; }
  }
  if (page != null) {
    ro.url = page.canonical_url; ro.title = page.title; ro.source = page.source; ro.published_at = pageAt;
  }
}
"""
"""Painless tail of :data:`ADD_REPUBLICATION` and :data:`OWNER_UPDATE`: when the story's origin is an attribution
and a member page (the story document, then its republications, in that order) has the attribution's ``site_key``
among its ``site_keys``, the origin takes the earliest such page's canonical URL, title, source and publication
time (UTC seconds, ``Instant.toString``); ties keep the member seen first. Recomputed from all members on every
write, so the order in which the attribution and the page arrive does not matter. Mirror of
:func:`marsad.dedup.stories.resolve_origin` (site keys are computed in Python by
:func:`marsad.dedup.stories.site_keys`: painless cannot run the Arabic normalisation)."""

ADD_REPUBLICATION = """
if (ctx._source.republications == null) { ctx._source.republications = []; }
boolean seen = params.r.canonical_url == ctx._source.canonical_url;
for (r in ctx._source.republications) { if (r.canonical_url == params.r.canonical_url) { seen = true; } }
if (!seen) { ctx._source.republications.add(params.r); }
ctx._source.republication_count = ctx._source.republications.size();
def o = ctx._source.origin;
def n = params.o;
if (n != null) {
  if (o == null) { ctx._source.origin = n; }
  else if (o.via != 'attribution') {
    if (n.via == 'attribution') { ctx._source.origin = n; }
    else if (n.published_at != null && (o.published_at == null || n.published_at.compareTo(o.published_at) < 0)) {
      ctx._source.origin = n;
    }
  }
}
""" + RESOLVE_ORIGIN
"""Painless script: append a republication once (idempotent under redelivery) and move the story's origin to the
copy when it is better evidence: a site named in an attribution header always wins (it names the first publisher,
even if that page was never crawled), otherwise the earliest ``published_at`` (UTC ISO strings compare in order);
then :data:`RESOLVE_ORIGIN` fills an attribution with the named site's page when the story has one."""


OWNER_UPDATE = """
def stored = ctx._source.fetched_at;
boolean samePage = ctx._source.canonical_url == params.doc.canonical_url;
if (samePage && stored != null && ZonedDateTime.parse(stored).toInstant().toEpochMilli() > params.fetched_ms) {
  ctx.op = 'none';
} else {
  if (!samePage) {
    // a copy stood in for the owner: the origin it testified to (itself) gives way to the owner's unless the copy
    // was published earlier; an attribution (another site named as first publisher) stays
    def o = ctx._source.origin;
    def n = params.o;
    if (n != null && (o == null || (o.via != 'attribution' && o.url == ctx._source.canonical_url
        && (n.published_at == null || o.published_at == null || n.published_at.compareTo(o.published_at) <= 0)))) {
      ctx._source.origin = n;
    }
  }
  ctx._source.putAll(params.doc);
""" + RESOLVE_ORIGIN + """
}
"""
"""Painless script for the owner's write to an existing story document: the article's fields replace the stored
ones unless the stored document comes from a *later* fetch of the page (``fetched_at``, compared as instants), so
a replay or a late redelivery of an older raw page never overwrites a newer version (the update is a ``noop``).
Same fetch time = same raw page: rewritten (idempotent). A stored document of *another* page (a copy that stood in
for an owner whose own write was dead-lettered, see :meth:`IndexStage._retry_missing`) is always replaced by the
owner (the copy stays in ``republications``): its fetch time says nothing about the owner's. After a write,
:data:`RESOLVE_ORIGIN` runs (the owner's new ``site_keys`` may be the attributed site's). ``external``
versioning cannot be used: Elasticsearch
refuses it on partial updates, and the upsert keeps republications that other copies appended."""


def epoch_ms(value: datetime) -> int:
    """Milliseconds since the Unix epoch of an aware datetime (the version compared by :data:`OWNER_UPDATE`)."""
    return (value - _EPOCH) // timedelta(milliseconds=1)  # integer arithmetic: no float rounding at the ms edge


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


MAX_INDEXED_TEXT_CHARS = 200_000
"""Bodies are indexed up to 200,000 characters (~30,000 Arabic words, 20× a long feature article); the article
record in Kafka keeps the full text. Longer bodies are dumps (forums, books) whose analysis alone can take minutes
on a small node; ``text_truncated`` marks them."""


def story_fields(a: Article) -> dict[str, Any]:
    """The story document fields written by the owner article (no republication fields)."""
    d = a.model_dump(mode="json", exclude={"schema_"})
    d["story_id"] = doc_id(a.canonical_url)
    d["indexed_at"] = utcnow().isoformat()
    d["site_keys"] = page_site_keys(a.source, a.canonical_url, a.sitename)
    d["text_truncated"] = len(a.text) > MAX_INDEXED_TEXT_CHARS
    if d["text_truncated"]:
        d["text"] = a.text[:MAX_INDEXED_TEXT_CHARS]
    return d


def _utc(value: datetime | str | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        if len(value) == 10:  # a day, from an attribution header
            return value
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def page_site_keys(source: str | None, url: str, sitename: str | None) -> list[str]:
    """The site keys of a page (:func:`marsad.dedup.stories.site_keys` of its source, URL host and sitename), stored
    as ``site_keys`` on the story document and on each republication for :data:`RESOLVE_ORIGIN`."""
    return site_keys(source, urlsplit(url).hostname, sitename)


def origin_of(a: Article) -> dict[str, Any]:
    """The origin this copy testifies to: the attributed site (``via=attribution``, with its ``site_key``,
    :func:`marsad.dedup.stories.site_key`) or the copy itself (``via=earliest``); ``published_at`` in UTC so the
    painless script can compare strings."""
    if a.original and a.original.get("site"):
        return {"site": a.original["site"], "site_key": site_key(a.original["site"]), "source": None, "url": None,
                "title": a.original.get("title"), "published_at": _utc(a.original.get("published_at")),
                "via": "attribution"}
    return {"site": a.sitename or urlsplit(a.canonical_url).hostname, "source": a.source, "url": a.canonical_url,
            "title": a.title, "published_at": _utc(a.published_at), "via": "earliest"}


def origin_of_republication(rep: dict[str, Any]) -> dict[str, Any]:
    return {"site": rep.get("sitename") or urlsplit(rep["canonical_url"]).hostname, "source": rep.get("source"),
            "url": rep["canonical_url"], "title": rep.get("title"), "published_at": _utc(rep.get("published_at")),
            "via": "earliest"}


def republication(a: Article, match: str = "exact", similarity: float = 1.0) -> dict[str, Any]:
    return {
        "match": match,
        "similarity": round(float(similarity), 4),
        "url": a.url,
        "canonical_url": a.canonical_url,
        "source": a.source,
        "sitename": a.sitename,
        "title": a.title,
        "published_at": a.published_at.isoformat() if a.published_at else None,
        "fetched_at": a.fetched_at.isoformat(),
        "site_keys": page_site_keys(a.source, a.canonical_url, a.sitename),
    }


MAX_BULK_BYTES = 10 * 1024 * 1024
"""Bulk requests are split at ~10 MiB (Elastic's sizing advice: 5–15 MB; ``http.max_content_length`` is 100 MB)."""


def _chunks(lines: list[dict[str, Any]], max_bytes: int) -> list[list[dict[str, Any]]]:
    """Split action/source line pairs into bulk bodies of at most ``max_bytes`` (one pair always fits alone)."""
    import orjson

    chunks: list[list[dict[str, Any]]] = [[]]
    size = 0
    for k in range(0, len(lines), 2):
        pair = lines[k:k + 2]
        n = sum(len(orjson.dumps(x)) + 1 for x in pair)
        if chunks[-1] and size + n > max_bytes:
            chunks.append([])
            size = 0
        chunks[-1] += pair
        size += n
    return chunks


DECISION_VERSION = 2
"""``decision_version`` of a claim that carries its story decision (story id, match, similarity) from its creation.
Claims without it (created before, or rebuilt from stories by :func:`marsad.index.templates.rebuild_claims`) still
name the story; their match and similarity are unknown and read as ``exact`` / 1.0."""


def _kind(p: Plan, label: str) -> str:
    """The ledger kind of a written plan (:mod:`marsad.stage`): a new or rewritten story document is a ``story``; an
    older fetch of it (``stale``) or a copy with the same text a ``duplicate``; a near-duplicate copy a
    ``republication``."""
    if p.kind == "indexed":
        return STORY if label == "indexed" else DUPLICATE
    return REPUBLICATION if p.kind == "near" else DUPLICATE


@dataclass
class Claim:
    """Who owns a normalised text and the story decision recorded with it: the owner's canonical URL, the story it
    belongs to (the owner's own story id, or the story it is a near-duplicate of), and that match."""

    owner: str
    story_id: str
    match: str = "exact"
    similarity: float = 1.0

    @classmethod
    def from_source(cls, src: dict[str, Any]) -> Claim:
        return cls(src["canonical_url"], src.get("story_id") or doc_id(src["canonical_url"]),
                   src.get("match") or "exact", float(src.get("similarity") or 1.0))


@dataclass
class Plan:
    index: int
    article: Article
    kind: str  # "indexed" (new story) | "duplicate" (same text) | "near" (near-duplicate)
    story_id: str
    fp: Fingerprint | None = None
    similarity: float = 1.0
    match: str = "exact"
    stand_in: str | None = None
    """Story id whose document this copy *created* (its owner's write never happened, see ``_retry_missing``):
    a new story, so it is percolated like one."""
    redelivered: bool = False
    """The article owns a claim made before this batch: the plan repeats the decision recorded in it."""
    sibling: Plan | None = None
    """A ``near`` decision against a new story of the same batch (its claim must be settled first)."""
    copy_of: Plan | None = None
    """An earlier article of the same batch with the same text (it decides; this one follows)."""


CANONICAL_COLLISIONS = PromCounter(
    "marsad_canonical_collisions_total",
    "Articles whose rel=canonical was already the key of another page with another text (indexed under their own URL)")


def _own_key_of(url: str) -> str:
    try:
        return canonical_url(url)
    except ValueError:
        return url


def _own_key(a: Article) -> str:
    """The canonical URL of the page's fetched URL (the key it would have without its ``rel=canonical``)."""
    return _own_key_of(a.url)


class IndexStage:
    """Kafka stage: articles record → story upsert or republication update (see module docstring)."""

    name = "index"

    def __init__(self, settings: Settings, es: Es | None = None) -> None:
        self.settings = settings
        self.es = es or Es.from_settings(settings)
        self.alerts = AlertHook(settings, self.es) if settings.alerts_enabled else None
        self.params = settings.dedup_params
        """Fingerprint parameters; stories are candidates only when their ``dedup_version`` is ``params.version``."""
        self.canonical_collisions = 0
        """Articles re-keyed to their own URL because another page held their ``rel=canonical``."""
        self._percolator: ThreadPoolExecutor | None = None
        """One thread percolating a batch's new stories while they are written (:meth:`_percolate_early`)."""

    def process_batch(self, records: list[Record]) -> list[Outcome]:
        outcomes: list[Outcome | None] = [None] * len(records)
        articles: list[tuple[int, Article]] = []
        for i, rec in enumerate(records):
            try:
                articles.append((i, Article.from_json(rec.value)))
            except PermanentError as e:
                outcomes[i] = Outcome(error=e)
        if articles:
            articles = self._keep_canonical_collisions_apart(articles)
            plans = self._plan(articles, self._read_claims(articles))
            faults.point(self.settings, "index.planned")
            self._claim(plans, outcomes)
            faults.point(self.settings, "index.claimed")
            plans = [p for p in plans if outcomes[p.index] is None]
            if plans:
                # percolation reads only the rules and the articles: it runs while the stories are written and
                # repaired, and _alert keeps the matches of the stories actually created (docs/decisions.md,
                # "Percolation beside the write")
                early = self._percolate_early(plans)
                self._write(plans, outcomes)
                faults.point(self.settings, "index.written")
                self._resume_folds([p for p in plans if p.redelivered and p.kind == "near"
                                    and (o := outcomes[p.index]) is not None and o.error is None])
                # only stories this batch wrote: a "stale" plan (an older fetch, a noop) changed nothing, and its old
                # text must not fold away the document that holds the newer version
                self._repair([p for p in plans if p.kind == "indexed" and (o := outcomes[p.index]) is not None
                              and o.error is None and o.label == "indexed"], outcomes)
                faults.point(self.settings, "index.repaired")
                self._alert(plans, outcomes, early)
                faults.point(self.settings, "index.alerted")
        return [o if o is not None else Outcome(label="indexed") for o in outcomes]

    # --- step 5b: alerts -----------------------------------------------------------------------------------
    def _percolate_early(self, plans: list[Plan]) -> tuple[set[tuple[str, str]], Future[list[AlertEvent]]] | None:
        """Start percolating the batch's would-be new stories (``kind == "indexed"``) in the background: the
        ``(story id, canonical URL)`` pairs sent and the future of their events (:meth:`AlertHook.match`, a read of
        the rules index only). ``None`` when alerts are off or the batch creates nothing."""
        if self.alerts is None:
            return None
        maybe = [(p.story_id, p.article) for p in plans if p.kind == "indexed"]
        if not maybe:
            return None
        if self._percolator is None:
            self._percolator = ThreadPoolExecutor(max_workers=1, thread_name_prefix="marsad-percolate")
        return {(sid, a.canonical_url) for sid, a in maybe}, self._percolator.submit(self.alerts.match, maybe)

    def _alert(self, plans: list[Plan], outcomes: list[Outcome | None],
               early: tuple[set[tuple[str, str]], Future[list[AlertEvent]]] | None = None) -> None:
        """Percolate the stories this batch created: not copies joined to a story, not stories ``_repair`` folded
        (their outcome became ``duplicate``), not stale re-fetches; copies only mark alerted stories. Once per
        (rule, story): :mod:`marsad.alerts.percolate`. ``early``: :meth:`_percolate_early`'s pairs and matches —
        only the matches of stories created are kept, the created stories it did not cover are percolated now.
        Raises what the percolation raised (:class:`TransientError`: the batch is retried)."""
        if self.alerts is None:
            return
        ok = [p for p in plans if (o := outcomes[p.index]) is not None and o.error is None]
        created = [(p.story_id, p.article) for p in ok
                   if p.kind == "indexed" and (o := outcomes[p.index]) is not None and o.label == "indexed"]
        created += [(p.stand_in, p.article) for p in ok if p.kind != "indexed" and p.stand_in]
        copies = [(p.story_id, p.article.canonical_url) for p in ok if p.kind != "indexed" and not p.stand_in]
        folded = [p.article for p in ok
                  if p.kind == "indexed" and (o := outcomes[p.index]) is not None and o.label != "indexed"]
        matched = None
        if early is not None:
            sent, future = early
            keep = {(sid, a.canonical_url) for sid, a in created}
            matched = [e for e in future.result() if (e.story_id, e.canonical_url) in keep]
            matched += self.alerts.match([(sid, a) for sid, a in created if (sid, a.canonical_url) not in sent])
        events = self.alerts.on_batch(created, copies, folded, matched=matched)
        # a story that fired here may have been folded by another consumer's repair after our own repair looked
        # (that fold moved the alerts recorded before it): move what we recorded since to where the claim points
        fired = {e.story_id: e.canonical_url for e in events}
        if fired:
            got = self.es.request("POST", f"/{self.settings.stories_alias}/_mget", {"ids": sorted(fired)},
                                  params={"_source": "false"})
            gone = {d["_id"] for d in got["docs"] if not d.get("found")}
            by_story = {sid: a for sid, a in created if sid in gone}
            if by_story:
                claims = self._claims_of([a.content_hash for a in by_story.values()])
                for sid, a in sorted(by_story.items()):
                    claim = claims.get(a.content_hash)
                    if claim is not None and claim.story_id != sid:
                        self.alerts.rehome(sid, claim.story_id)

    # --- step 0: one key, one page ---------------------------------------------------------------------
    def _keep_canonical_collisions_apart(self, articles: list[tuple[int, Article]]) -> list[tuple[int, Article]]:
        """Re-key an article whose canonical URL (taken from its page's ``rel=canonical``) is already held by a
        *different* page with a *different* text — stored, or earlier in this batch — to the canonical URL of its
        own fetched URL, so neither replaces the other (seen on CMSs that point every article's canonical at
        its section). Counted in ``marsad_canonical_collisions_total`` and :attr:`canonical_collisions`, logged.

        Only articles keyed by a ``rel=canonical`` (canonical URL ≠ the fetched URL's) are checked, with one
        ``_mget`` of ``url``/``content_hash``/``canonical_url``. An edited re-fetch of the same page (same fetched
        URL) is an update, not a collision; a stored document of another canonical URL (a copy standing in for its
        owner, see :meth:`_retry_missing`) is not a holder. Keys of one canonical URL share a Kafka partition, so
        one consumer sees them in order. Raises :class:`TransientError` when Elasticsearch does not answer.
        """
        keyed = [a for _, a in articles if a.canonical_url != _own_key(a)]
        if not keyed:
            return articles
        holders: dict[str, tuple[str, str]] = {}  # canonical URL -> (holder's own key, holder's content hash)
        try:
            got = self.es.request("POST", f"/{self.settings.stories_alias}/_mget",
                                  {"ids": sorted({doc_id(a.canonical_url) for a in keyed})},
                                  params={"_source": "url,content_hash,canonical_url"}, ok=(404,))
        except EsHttpError as exc:
            raise TransientError(f"story lookup failed: {exc}") from exc
        for d in got.get("docs", []):
            src = d.get("_source") or {}
            if d.get("found") and src.get("url") and src.get("canonical_url"):
                holders.setdefault(src["canonical_url"], (_own_key_of(src["url"]), src.get("content_hash", "")))
        out: list[tuple[int, Article]] = []
        for i, a in articles:
            own = _own_key(a)
            held = holders.get(a.canonical_url)
            if held is not None and held[0] != own and held[1] != a.content_hash:
                log.warning("canonical collision: %s names %s, already the key of %s with another text; "
                            "indexed under its own URL", a.url, a.canonical_url, held[0])
                CANONICAL_COLLISIONS.inc()
                self.canonical_collisions += 1
                a = a.model_copy(update={"canonical_url": own})
            holders.setdefault(a.canonical_url, (own, a.content_hash))
            out.append((i, a))
        return out

    # --- step 1: read the claims ---------------------------------------------------------------------------
    def _claims_of(self, hashes: list[str]) -> dict[str, Claim]:
        """``content_hash -> Claim`` as stored now (real-time ``_mget``)."""
        got = self.es.request("POST", f"/{self.settings.fingerprints_index}/_mget", {"ids": sorted(set(hashes))})
        return {d["_id"]: Claim.from_source(d["_source"]) for d in got["docs"] if d.get("found")}

    def _read_claims(self, articles: list[tuple[int, Article]]) -> dict[str, Claim]:
        """``content_hash -> Claim`` of the batch's texts that are claimed already (real-time ``_mget``)."""
        ids = sorted({a.content_hash for _, a in articles})
        try:
            got = self.es.request("POST", f"/{self.settings.fingerprints_index}/_mget", {"ids": ids})
        except EsHttpError as exc:
            if exc.status == 404:
                raise TransientError(
                    f"alias {self.settings.fingerprints_index} missing: run `marsad templates apply`") from exc
            raise TransientError(f"fingerprint read failed: {exc}") from exc
        failed = [d["error"] for d in got["docs"] if d.get("error")]  # e.g. index_not_found: answered per document
        if failed:
            raise TransientError(f"fingerprint read failed ({self.settings.fingerprints_index}: run `marsad templates "
                                 f"apply` if it is missing): {str(failed[0])[:300]}")
        return {d["_id"]: Claim.from_source(d["_source"]) for d in got["docs"] if d.get("found")}

    # --- step 3: claims carrying their decision ------------------------------------------------------------
    def _claim(self, plans: list[Plan], outcomes: list[Outcome | None]) -> None:
        """Create the claim of every newly decided text **with** its decision, in one ``op_type=create`` each.

        Two rounds: first the texts whose decision stands alone (a new story, or near an already searchable one),
        then those near a new story of this batch, once that story's own claim is settled (a story whose claim
        was lost to another consumer is not written, so its near copies follow its text to the winner's story).
        A claim ES rejects (4xx other than 409) dead-letters its record instead of blocking the partition.
        Mutates ``plans`` (lost races become copies) and ``outcomes``."""
        deciding = [p for p in plans if not p.redelivered and p.copy_of is None and p.kind != "duplicate"]
        first = [p for p in deciding if p.sibling is None]
        self._create_claims(first, outcomes)
        second = [p for p in deciding if p.sibling is not None]
        for p in second:
            sib = p.sibling
            assert sib is not None  # second: the plans with a sibling
            if outcomes[sib.index] is not None:  # the sibling story will not be written (dead-lettered)
                p.kind, p.story_id, p.match, p.similarity, p.sibling = "indexed", doc_id(p.article.canonical_url), \
                    "exact", 1.0, None
            else:
                p.story_id = sib.story_id  # its own id, or the winner's story when it lost its claim
        self._create_claims(second, outcomes)
        for p in plans:
            if p.copy_of is not None:
                src = p.copy_of
                if outcomes[src.index] is not None and src.article.canonical_url != p.article.canonical_url:
                    p.kind, p.story_id = "duplicate", doc_id(src.article.canonical_url)
                elif src.article.canonical_url == p.article.canonical_url:  # the same page twice in one batch
                    p.kind, p.story_id, p.match, p.similarity, p.fp = src.kind, src.story_id, src.match, \
                        src.similarity, src.fp
                else:
                    p.kind, p.story_id = "duplicate", src.story_id

    def _create_claims(self, plans: list[Plan], outcomes: list[Outcome | None]) -> None:
        if not plans:
            return
        lines: list[dict[str, Any]] = []
        for p in plans:
            lines.append({"create": {"_index": self.settings.fingerprints_index, "_id": p.article.content_hash,
                                     "require_alias": True}})
            lines.append({"canonical_url": p.article.canonical_url, "story_id": p.story_id,
                          "match": p.match if p.kind == "near" else "exact",
                          "similarity": round(float(p.similarity), 4) if p.kind == "near" else 1.0,
                          "decision_version": DECISION_VERSION, "claimed_at": utcnow().isoformat()})
        try:
            resp = self.es.bulk(lines)
        except EsHttpError as exc:
            raise TransientError(f"fingerprint claim failed: {exc}") from exc
        lost: list[Plan] = []
        for p, it in zip(plans, bulk_items(resp)):
            if it.status == 404:
                raise TransientError(f"alias {self.settings.fingerprints_index} missing: run `marsad templates apply`")
            if it.ok:
                continue
            if it.conflict:
                lost.append(p)
            elif it.transient:
                raise TransientError(f"fingerprint claim item failed: {it.status} {it.body.get('error')}")
            else:
                outcomes[p.index] = Outcome(error=it.permanent("es-claim"))
        if lost:
            got = self.es.request("POST", f"/{self.settings.fingerprints_index}/_mget",
                                  {"ids": sorted({p.article.content_hash for p in lost})})
            now = {d["_id"]: Claim.from_source(d["_source"]) for d in got["docs"] if d.get("found")}
            for p in lost:
                claim = now.get(p.article.content_hash)
                if claim is None:
                    raise TransientError(f"fingerprint {p.article.content_hash} conflicted but is not readable yet")
                self._follow(p, claim)

    def _follow(self, p: Plan, claim: Claim) -> None:
        """Make ``p`` follow an existing claim: a copy of another owner's story, or (own claim) its decision."""
        if claim.owner != p.article.canonical_url:
            p.kind, p.story_id, p.match, p.similarity, p.sibling = "duplicate", claim.story_id, "exact", 1.0, None
            return
        own = doc_id(p.article.canonical_url)
        p.kind = "indexed" if claim.story_id == own else "near"
        p.story_id, p.match, p.similarity, p.redelivered, p.sibling = claim.story_id, claim.match, \
            claim.similarity, True, None
        p.fp = p.fp or fingerprint(p.article.text, self.params)

    # --- step 2: near-duplicate decisions ---------------------------------------------------------------
    def _candidates(self, fp: Fingerprint, exclude: str) -> list[tuple[str, Fingerprint, str | None]]:
        """Stories of ``fp``'s fingerprint version (``dedup_version``) sharing an LSH band or the lead key with
        ``fp``, indexed within the dedup window. Stories of another version (indexed before an LSH parameter or
        folding change) are never candidates: :func:`decide` cannot compare them, and the lead key, which does not
        depend on the LSH parameters, would otherwise offer them."""
        return self._candidates_many([(fp, exclude)])[0]

    UNION_MAX_HITS = 2000
    """Most stories one batched candidate search (:meth:`_candidates_many`) reads; more matching stories fall back to
    one search per text (:meth:`_candidates_each`). The SaudiNewsNet day's 200-article batches read ≈ 60."""

    def _candidates_many(self, queries: list[tuple[Fingerprint, str]]) -> list[list[tuple[str, Fingerprint,
                                                                                        str | None]]]:
        """:meth:`_candidates` of several ``(fingerprint, excluded story id)`` at once. Returns one candidate list per
        query, in order: ``(story id, fingerprint, source)``, at most 30 each, in index order — the lists one
        search per text returns (:meth:`_candidates_each`).

        One search per fingerprint version (in practice one per batch): the stories sharing *any* query's LSH band
        or lead key, with their ``dedup_keys`` (doc values, no ``_source``), in index order; each query keeps
        the first 30 sharing one of *its* keys, itself excluded; one ``_mget`` then reads the fingerprints of the
        stories kept. Measured (docs/decisions.md, "Index stage: machine CPU measured …"): Elasticsearch
        spends ≈ 0.45 ms of CPU per search however few stories it finds (0.3 on average on the SaudiNewsNet day),
        so one search per text cost ≈ 0.5 ms per article in the plan and again in the race repair. More than
        :data:`UNION_MAX_HITS` matching stories → :meth:`_candidates_each`. Raises :class:`TransientError` when
        the alias is missing or the node refuses."""
        if not queries:
            return []
        out: list[list[tuple[str, Fingerprint, str | None]] | None] = [None] * len(queries)
        by_version: dict[str, list[int]] = {}
        for n, (fp, _) in enumerate(queries):
            by_version.setdefault(fp.version, []).append(n)
        chosen: dict[int, list[str]] = {}  # query → _ids of its candidates, in index order
        for version, ns in by_version.items():
            keys = sorted(set().union(*(queries[n][0].candidate_keys for n in ns)))
            # phase 1: which stories, with their keys from doc values (no _source: the fingerprints of stories no
            # query keeps — after the write, the batch's own new stories — are never read)
            resp = self._search_stories({
                # no sort: filter-only, every score 0, ties in index order — the order of the per-text search
                "size": self.UNION_MAX_HITS, "track_total_hits": self.UNION_MAX_HITS + 1,
                "query": {"bool": {"filter": self._candidate_filter(keys, version)}},
                "_source": False, "docvalue_fields": ["dedup_keys"],
            })
            if resp["hits"]["total"]["value"] > self.UNION_MAX_HITS:
                for n, cands in zip(ns, self._candidates_each([queries[n] for n in ns])):
                    out[n] = cands
                continue
            hits = [h["_id"] for h in resp["hits"]["hits"]]
            by_key: dict[str, list[int]] = {}  # key → positions (index order) of the stories holding it
            for pos, h in enumerate(resp["hits"]["hits"]):
                for key in h.get("fields", {}).get("dedup_keys") or ():
                    by_key.setdefault(key, []).append(pos)
            for n in ns:
                fp, exclude = queries[n]
                positions = sorted(set().union(*(by_key.get(key, ()) for key in fp.candidate_keys)))
                chosen[n] = [hits[pos] for pos in positions if hits[pos] != exclude][:30]
        # phase 2: the fingerprints of the stories some query keeps, in one real-time _mget (a story deleted since
        # — folded by a race repair — is no candidate any more)
        wanted = sorted(set().union(*chosen.values())) if chosen else []
        found: dict[str, tuple[str, Fingerprint, str | None]] = {}
        if wanted:
            try:
                got = self.es.request("POST", f"/{self.settings.stories_alias}/_mget", {"ids": wanted},
                                      params={"_source": "dedup_fp,story_id,source"})
            except EsHttpError as exc:
                raise TransientError(f"candidate fingerprints from {self.settings.stories_alias}: {exc}") from exc
            for d in got["docs"]:
                if d.get("found") and (c := self._candidate(d["_id"], d.get("_source") or {})) is not None:
                    found[d["_id"]] = c
        for n, ids in chosen.items():
            out[n] = [found[i] for i in ids if i in found]
        return [c if c is not None else [] for c in out]

    def _candidate_filter(self, keys: list[str], version: str) -> list[dict[str, Any]]:
        """Stories of fingerprint ``version`` indexed within the dedup window holding one of ``keys``."""
        window = f"now-{int(self.settings.dedup_window_days * 24)}h"
        return [{"terms": {"dedup_keys": keys}}, {"term": {"dedup_version": version}},
                {"range": {"indexed_at": {"gte": window}}}]

    def _search_failed(self, status: int | None, detail: str) -> TransientError:
        """The error of a candidate search the node refused: retried, never a crash (the alias missing — no
        `templates apply` yet — is named)."""
        hint = ": run `marsad templates apply`" if status == 404 else ""
        return TransientError(f"candidate search on {self.settings.stories_alias} failed{hint} ({detail[:300]})")

    @staticmethod
    def _candidate(doc_id_: str, src: dict[str, Any]) -> tuple[str, Fingerprint, str | None] | None:
        """``(story id, fingerprint, source)`` of a story document's ``_source``; ``None`` without a fingerprint."""
        if not src.get("dedup_fp"):
            return None
        return src.get("story_id") or doc_id_, Fingerprint.from_dict(src["dedup_fp"]), src.get("source")

    def _search_stories(self, body: dict[str, Any]) -> dict[str, Any]:
        try:
            return self.es.request("POST", f"/{self.settings.stories_alias}/_search", body)
        except EsHttpError as exc:
            raise self._search_failed(exc.status, str(exc)) from exc

    def _candidates_each(self, queries: list[tuple[Fingerprint, str]]) -> list[list[tuple[str, Fingerprint,
                                                                                        str | None]]]:
        """:meth:`_candidates_many` as one search per text, sent together in one ``_msearch`` (each sub-search sees
        the same refreshed state): the reference the batched search is tested against, and its fallback."""
        if not queries:
            return []
        import orjson

        alias = self.settings.stories_alias
        lines: list[bytes] = []
        for fp, exclude in queries:
            lines.append(orjson.dumps({"index": alias}))
            lines.append(orjson.dumps({
                "size": 30,
                "query": {"bool": {
                    "filter": self._candidate_filter(list(fp.candidate_keys), fp.version),
                    "must_not": [{"ids": {"values": [exclude]}}],
                }},
                "_source": ["dedup_fp", "story_id", "source"],
            }))
        try:
            resp = self.es.request("POST", "/_msearch", b"\n".join(lines) + b"\n")
        except EsHttpError as exc:
            raise self._search_failed(exc.status, str(exc)) from exc
        out = []
        for r in resp["responses"]:
            if r.get("error"):
                raise self._search_failed(r.get("status"), str(r["error"]))
            out.append([c for h in r["hits"]["hits"] if (c := self._candidate(h["_id"], h["_source"])) is not None])
        return out

    def _best(self, source: str | None, fp: Fingerprint,
              cands: list[tuple[str, Fingerprint, str | None]]) -> StoryMatch | None:
        """The story a text (fingerprint ``fp``, site ``source``) joins among ``cands`` (:meth:`_candidates`, then
        this batch's new stories): :func:`marsad.dedup.stories.best_story`, the rule the offline clusterer uses too;
        ``None`` = a new story."""
        return best_story(fp, source, cands, self.params)

    def _plan(self, articles: list[tuple[int, Article]], claims: dict[str, Claim]) -> list[Plan]:
        """Step 2: one plan per article. Claimed texts follow their claim (a redelivery repeats the recorded
        decision); unclaimed texts are decided now (candidate search + this batch's new stories)."""
        plans: list[Plan] = []
        # new stories of this batch (not yet searchable) by candidate key: compared like searched stories, only
        # when they share an LSH band or the lead key (not every pair of the batch: quadratic, and order-dependent)
        batch_new: list[tuple[str, Fingerprint, str | None]] = []
        batch_keys: dict[str, set[str]] = {}  # candidate key -> ids of this batch's new stories
        new_plan: dict[str, Plan] = {}
        deciders: dict[str, Plan] = {}  # content hash -> the first article of this batch that decides it
        # the texts to decide (unclaimed, first of their hash in the batch): fingerprints, then one _msearch
        fps: dict[int, Fingerprint | None] = {}
        hashes: set[str] = set()
        for i, a in articles:
            if a.content_hash not in claims and a.content_hash not in hashes:
                hashes.add(a.content_hash)
                fps[i] = fingerprint(a.text, self.params)
        asked = [(i, fp, doc_id(a.canonical_url)) for i, a in articles if (fp := fps.get(i))]
        found = dict(zip([i for i, _, _ in asked], self._candidates_many([(fp, ex) for _, fp, ex in asked])))
        for i, a in articles:
            own_id = doc_id(a.canonical_url)
            claim = claims.get(a.content_hash)
            if claim is not None:
                p = Plan(i, a, "duplicate", claim.story_id)
                self._follow(p, claim)
                plans.append(p)
                continue
            if a.content_hash in deciders:
                plans.append(Plan(i, a, "duplicate", own_id, copy_of=deciders[a.content_hash]))
                continue
            fp = fps[i]
            if fp:
                near = set().union(*(batch_keys.get(key, ()) for key in fp.candidate_keys))
                best = self._best(a.source, fp, found[i] + [c for c in batch_new if c[0] in near])
            else:
                best = None
            if best:
                p = Plan(i, a, "near", best[0], fp, best[1], best[2], sibling=new_plan.get(best[0]))
            else:
                p = Plan(i, a, "indexed", own_id, fp)
                if fp:
                    batch_new.append((own_id, fp, a.source))
                    for key in fp.candidate_keys:
                        batch_keys.setdefault(key, set()).add(own_id)
                    new_plan[own_id] = p
            deciders[a.content_hash] = p
            plans.append(p)
        return plans

    # --- step 4: writes ---------------------------------------------------------------------------------
    def _write(self, plans: list[Plan], outcomes: list[Outcome | None]) -> None:
        alias = self.settings.stories_alias
        lines: list[dict[str, Any]] = []
        for p in plans:
            a = p.article
            if p.kind == "indexed":
                fields = story_fields(a)
                if p.fp is not None:
                    fields["dedup_keys"] = list(p.fp.candidate_keys)
                    fields["dedup_fp"] = p.fp.to_dict()
                    fields["dedup_version"] = p.fp.version
                lines.append({"update": {"_index": alias, "_id": p.story_id, "retry_on_conflict": 3,
                                         "require_alias": True}})
                # origin only on insert: copies may have moved it since; an older fetch never overwrites a newer
                lines.append({"script": {"source": OWNER_UPDATE, "lang": "painless",
                                         "params": {"doc": fields, "fetched_ms": epoch_ms(a.fetched_at),
                                                    "o": origin_of(a)}},
                              "upsert": {**fields, "origin": resolve_origin(origin_of(a), [fields]),
                                         "republications": [],
                                         "republication_count": 0}})
            else:
                rep = republication(a, p.match if p.kind == "near" else "exact", p.similarity)
                lines.append({"update": {"_index": alias, "_id": p.story_id, "retry_on_conflict": 5,
                                         "require_alias": True}})
                # no upsert: a missing story means it was folded into another one (see _retry_missing)
                lines.append({"script": {"source": ADD_REPUBLICATION, "lang": "painless",
                                         "params": {"r": rep, "o": origin_of(a)}}})
        items: list[BulkItem] = []
        chunks = _chunks(lines, MAX_BULK_BYTES)
        for n, chunk in enumerate(chunks):
            try:
                # the next batch's candidate search (and the race repair below) must see the stories written now:
                # an explicit refresh of the shard, not wait_for (which waits for the next scheduled refresh, up to
                # refresh_interval = 1 s per batch; docs/decisions.md, "Refresh per batch")
                items += bulk_items(self.es.bulk(chunk, refresh="true" if n == len(chunks) - 1 else False))
            except EsHttpError as exc:
                if exc.status == 404:
                    raise TransientError(f"alias {alias} missing: run `marsad templates apply` ({exc})") from exc
                raise TransientError(f"bulk failed: {exc}") from exc
        missing: list[Plan] = []
        for p, it in zip(plans, items):
            if it.document_missing and p.kind != "indexed":
                missing.append(p)
            elif it.ok:
                label = "indexed" if p.kind == "indexed" else "duplicate"
                if p.kind == "indexed" and it.body.get("result") == "noop":
                    label = "stale"  # an older fetch of a page whose newer version is indexed: left alone
                outcomes[p.index] = Outcome(label=label, kind=_kind(p, label), story_id=p.story_id)
            elif it.transient:
                raise TransientError(f"bulk item rejected ({it.status}): {it.body.get('error')}")
            elif it.status == 404:
                raise TransientError(f"alias {alias} or its index missing: run `marsad templates apply`")
            else:
                outcomes[p.index] = Outcome(error=it.permanent())
        if missing:
            self._retry_missing(missing, outcomes)

    def _retry_missing(self, plans: list[Plan], outcomes: list[Outcome | None]) -> None:
        """Copies whose story document is gone. Either the story was folded into another one (:meth:`_fold`) after
        the copy was decided against it — its claim still names the folded story — and the copy follows the fold's
        redirect (:meth:`_fold_target`, through every later fold) to the story that holds its text now; or the
        owner itself never got indexed (dead-lettered, so no redirect names the story): then the copy becomes the
        story document itself, keeping the claim's story id (a *stand-in*, percolated as a new story).

        A redirect is written before the folded document is deleted, so "missing and no redirect" can only mean
        "never written". Rounds repeat while targets keep being folded underneath (at most 10; then
        :class:`TransientError`, the batch is retried)."""
        got = self.es.request("POST", f"/{self.settings.fingerprints_index}/_mget",
                              {"ids": sorted({p.article.content_hash for p in plans})})
        claimed = {d["_id"]: d["_source"].get("story_id") for d in got["docs"] if d.get("found")}
        target = {p.index: claimed.get(p.article.content_hash) or p.story_id for p in plans}
        pending, stand_in_ok = list(plans), set()
        for _ in range(10):
            for p in pending:
                if p.index not in stand_in_ok:
                    target[p.index] = self._fold_target(target[p.index])
            lines: list[dict[str, Any]] = []
            for p in pending:
                rep = republication(p.article, p.match if p.kind == "near" else "exact", p.similarity)
                lines.append({"update": {"_index": self.settings.stories_alias, "_id": target[p.index],
                                         "retry_on_conflict": 5, "require_alias": True}})
                script: dict[str, Any] = {"script": {"source": ADD_REPUBLICATION, "lang": "painless",
                                                     "params": {"r": rep, "o": origin_of(p.article)}}}
                if p.index in stand_in_ok:
                    fields = story_fields(p.article)
                    script["upsert"] = {**fields, "story_id": target[p.index],
                                        "origin": resolve_origin(origin_of(p.article), [fields, rep]),
                                        "republications": [rep],
                                        "republication_count": 1}
                lines.append(script)
            resp = self.es.bulk(lines, refresh="true")  # visible to the next search now (see _write)
            again: list[Plan] = []
            for p, it in zip(pending, bulk_items(resp)):
                if it.ok:
                    p.story_id = it.body.get("_id") or target[p.index]
                    outcomes[p.index] = Outcome(label="duplicate", kind=_kind(p, "duplicate"), story_id=p.story_id)
                    if it.body.get("result") == "created":  # the copy is the story document now: percolated as new
                        p.stand_in = p.story_id
                elif it.document_missing:
                    if self._redirect_of(target[p.index]) is None:
                        stand_in_ok.add(p.index)  # never written (its owner was dead-lettered): the copy stands in
                    again.append(p)
                elif it.transient or it.status == 404:
                    raise TransientError(f"bulk item rejected ({it.status}): {it.body.get('error')}")
                else:
                    outcomes[p.index] = Outcome(error=it.permanent())
            pending = again
            if not pending:
                return
        raise TransientError(f"stories of {len(pending)} copies kept being folded away")

    FOLD_REDIRECT_PREFIX = "fold:"
    """``_id`` prefix of a fold redirect in the fingerprints index: ``fold:<folded story id>`` → ``story_id`` of
    the story it was folded into (content claims are keyed by SHA-256 hex, so the two never collide)."""

    def _redirect_of(self, story_id: str) -> str | None:
        """The story that ``story_id`` was folded into (its fold redirect), or ``None`` when it was never folded."""
        got = self.es.request("GET", f"/{self.settings.fingerprints_index}/_doc/"
                                     f"{self.FOLD_REDIRECT_PREFIX}{story_id}", ok=(404,))
        return got["_source"].get("story_id") if got.get("found") else None

    def _fold_target(self, story_id: str) -> str:
        """Follow fold redirects from ``story_id`` to the story that holds its copies now (itself when it was never
        folded). Folds always go to a smaller id, so the chain ends; it is cut at 50 hops anyway."""
        for _ in range(50):
            nxt = self._redirect_of(story_id)
            if nxt is None or nxt == story_id:
                return story_id
            story_id = nxt
        return story_id

    # --- step 5: repair races between consumers ----------------------------------------------------------
    def _repair(self, new: list[Plan], outcomes: list[Outcome | None]) -> None:
        """Merge near-duplicate stories that consumers on different partitions created at the same moment.

        Two index consumers can each miss the other's copy (neither was searchable yet) and create two stories.
        After the batch is written and refreshed, each new story looks again, in **both** directions:

        * a near-duplicate story with a *smaller* id: this story folds itself into the best of them;
        * a near-duplicate story with a *larger* id (another consumer's): that story's own repair is run here on its
          behalf (its best near-duplicate among the stories with a smaller id than its own, usually this one) and
          it is folded there (:meth:`_fold_other`).

        A story always folds into a smaller id, so two consumers never fold into each other, and whichever repair
        runs last sees both stories written: every write is refreshed before its repair searches and the stories
        index has one shard, so if the first repair missed the second story, the second repair sees the first.
        Each fold is decided by its claim (:meth:`_fold`: a conditional retarget), so two consumers folding the
        same story agree on its target."""
        stories = [(p, p.fp) for p in new if p.fp is not None]
        # one _msearch for the whole batch; once a fold changed the index, the next stories search again
        prefetched = self._candidates_many([(fp, p.story_id) for p, fp in stories])
        folded = False
        for (p, fp), cands in zip(stories, prefetched):
            if folded:
                cands = self._candidates(fp, p.story_id)
            best = self._best(p.article.source, fp, [c for c in cands if c[0] < p.story_id])
            if best:
                target = self._fold(p.story_id, p.article.content_hash, best)
                folded = True
                if target is not None:
                    log.info("race repair: story %s folded into %s", p.story_id, target)
                    outcomes[p.index] = Outcome(label="duplicate", kind=REPUBLICATION, story_id=target)
                    continue
            for other, other_fp, other_source in sorted(c for c in cands if c[0] > p.story_id):
                if decide(other_fp, fp, self.params, same_source=p.article.source is not None
                          and other_source == p.article.source).duplicate:
                    self._fold_other(other, other_fp, other_source)
                    folded = True

    def _fold_other(self, story_id: str, fp: Fingerprint, source: str | None) -> None:
        """Run the race repair of another consumer's story ``story_id``: fold it into its best near-duplicate with a
        smaller id (found now; the same rule its own consumer applies), if it still exists."""
        best = self._best(source, fp, [c for c in self._candidates(fp, story_id) if c[0] < story_id])
        if not best:
            return
        got = self.es.request("GET", f"/{self.settings.stories_alias}/_doc/{story_id}", ok=(404,),
                              params={"_source": "content_hash"})
        if not got.get("found") or not got["_source"].get("content_hash"):
            return  # folded meanwhile by its own consumer (or a story written before content hashes: left alone)
        target = self._fold(story_id, got["_source"]["content_hash"], best)
        if target is not None:
            log.info("race repair: story %s (another consumer's) folded into %s", story_id, target)

    def _resume_folds(self, plans: list[Plan]) -> None:
        """Finish folds a crash interrupted: a redelivered article whose claim names another story (``near``) but
        whose own story document still exists was being folded (:meth:`_fold`) when its consumer died — after the
        claim was retargeted, before the document was deleted. Left alone, its URL would be listed twice: as its
        own story and as a republication of the target. The fold is repeated from the start (every step is
        idempotent), so the state after it is the one an uninterrupted fold leaves."""
        if not plans:
            return
        got = self.es.request("POST", f"/{self.settings.stories_alias}/_mget",
                              {"ids": sorted({doc_id(p.article.canonical_url) for p in plans})},
                              params={"_source": "false"})
        alive = {d["_id"] for d in got["docs"] if d.get("found")}
        for p in plans:
            own_id = doc_id(p.article.canonical_url)
            if own_id in alive and own_id != p.story_id:
                log.info("race repair resumed: story %s folded into %s", own_id, p.story_id)
                self._fold(own_id, p.article.content_hash, (p.story_id, p.similarity, p.match))
            elif own_id != p.story_id and self.alerts is not None:
                # folded by another consumer after this article's first attempt alerted its story, before the
                # crash: the alert recorded then still names the folded story
                self.alerts.rehome(own_id, p.story_id)

    RETARGET = """
if (ctx._source.story_id == params.from) {
  ctx._source.story_id = params.to; ctx._source.match = params.match; ctx._source.similarity = params.similarity;
  ctx._source.decision_version = params.v;
} else { ctx.op = 'none'; }
"""
    """Painless: move a claim from the folded story to the target only if it still names the folded story — the
    first fold to retarget a claim decides where that story goes; later ones follow the claim."""

    def _fold(self, story_id: str, content_hash: str, best: tuple[str, float, str]) -> str | None:
        """Move story ``story_id`` (its owner, whose text has claim ``content_hash``, and its republications) into
        ``best[0]`` and delete it; ``best`` = (target story id, similarity, match). Returns the story it was folded
        into (the claim's target), or ``None`` when the claim names neither (nothing done).

        The claim is retargeted first — conditionally (:data:`RETARGET`), so if another consumer already folded this
        story elsewhere, this fold follows the claim to that target — with the decision (match, similarity), so
        writers that read it afterwards go straight to the target and a redelivery of the owner repeats the decision
        and finishes the fold (:meth:`_resume_folds`); a redelivery of the consumer that folded another consumer's
        story finds it again in its repair. The owner is moved as a republication built from the stored story
        document, so any consumer can fold any story. The story's alerts move with it
        (:meth:`marsad.alerts.percolate.AlertHook.rehome`) before the delete. The delete is conditional on the
        document's ``_seq_no``: if a copy was added to it meanwhile (a writer that read the claim before the
        retarget), the move is repeated with the new republications, so no copy is lost. A crash between any two
        steps leaves a state that the redelivery completes.
        """
        alias, fps = self.settings.stories_alias, self.settings.fingerprints_index
        self.es.request("POST", f"/{fps}/_update/{content_hash}", ok=(404,), params={"retry_on_conflict": 5}, body={
            "script": {"source": self.RETARGET, "lang": "painless",
                       "params": {"from": story_id, "to": best[0], "match": best[2],
                                  "similarity": round(float(best[1]), 4), "v": DECISION_VERSION}}})
        got = self.es.request("GET", f"/{fps}/_doc/{content_hash}", ok=(404,))
        if not got.get("found"):
            return None
        claim = Claim.from_source(got["_source"])
        if claim.story_id == story_id:
            return None
        target = claim.story_id
        faults.point(self.settings, "index.fold.retargeted")
        for _ in range(10):
            own = self.es.request("GET", f"/{alias}/_doc/{story_id}", ok=(404,))
            if not own.get("found"):
                return target
            src = own["_source"]
            own_rep = {**{k: src.get(k) for k in ("url", "canonical_url", "source", "sitename", "title",
                                                   "published_at", "fetched_at", "site_keys")},
                       "match": claim.match, "similarity": round(float(claim.similarity), 4)}
            moved = [(own_rep, src.get("origin") or origin_of_republication(own_rep)),
                     *((r, origin_of_republication(r)) for r in src.get("republications") or [])]
            lines: list[dict[str, Any]] = []
            for rep, origin in moved:
                lines.append({"update": {"_index": alias, "_id": target, "retry_on_conflict": 5,
                                         "require_alias": True}})
                lines.append({"script": {"source": ADD_REPUBLICATION, "lang": "painless",
                                         "params": {"r": rep, "o": origin}}})
            # the redirect before the delete: a copy decided against this story and written after the delete
            # follows it to the target (_retry_missing) instead of standing in for the folded story
            lines += [{"index": {"_index": fps, "_id": f"{self.FOLD_REDIRECT_PREFIX}{story_id}"}},
                      {"story_id": target, "match": "fold", "claimed_at": utcnow().isoformat()}]
            self._bulk_ok(lines)
            faults.point(self.settings, "index.fold.moved")
            if self.alerts is not None:
                self.alerts.rehome(story_id, target)
            index = own["_index"]
            deleted = self.es.request("DELETE", f"/{index}/_doc/{story_id}", ok=(404, 409),
                                      params={"if_seq_no": own["_seq_no"], "if_primary_term": own["_primary_term"],
                                              "refresh": "true"})
            if deleted.get("result") in ("deleted", "not_found"):
                return target
        raise TransientError(f"race repair of {story_id} kept conflicting")

    def _bulk_ok(self, lines: list[dict[str, Any]]) -> None:
        # refresh=true, not wait_for: a fold waited up to the 1 s refresh interval twice (its moves, its delete);
        # with two index consumers starting on one backlog, folds in a row held the first batches ≈ 10 s
        resp = self.es.bulk(lines, refresh="true")
        bad = [it for it in bulk_items(resp) if not it.ok]
        if bad:
            raise TransientError(f"bulk write failed: {bad[0].status} {bad[0].body.get('error')}")
