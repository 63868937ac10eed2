"""The index stage: articles → stories in Elasticsearch, with exact-duplicate detection.

Per batch (all writes idempotent, so redelivery after a crash is harmless):

1. **Claim** each article's content hash in the fingerprints index with ``op_type=create`` (``_id`` = hash,
   owner = canonical URL). Exactly one canonical URL wins a text, even with several consumers racing; the
   loser reads the owner back.
2. **Owner** (the claim is ours, or was ours on an earlier delivery): partial update with ``doc_as_upsert``
   of the story document ``_id = sha1(canonical URL)`` — article fields are (re)written, the
   republication list that duplicates added is kept.
3. **Duplicate** (another URL owns the same normalised text): a painless update appends
   ``{url, source, title, …}`` to the owner's ``republications`` unless that URL is already there, and sets
   ``republication_count``.
4. Offsets are committed by the worker only after this bulk returned; per-item failures are classified:
   429/5xx → :class:`TransientError` (batch retried), other 4xx → that record is dead-lettered.
"""

from __future__ import annotations

import logging
from typing import Any

from marsad.errors import PermanentError, TransientError
from marsad.index.es import Es, EsHttpError, doc_id
from marsad.kafka.worker import Outcome, Record
from marsad.messages import Article, utcnow
from marsad.settings import Settings

log = logging.getLogger(__name__)

ADD_REPUBLICATION = """
if (ctx._source.republications == null) { ctx._source.republications = []; }
boolean seen = false;
for (r in ctx._source.republications) { if (r.canonical_url == params.r.canonical_url) { seen = true; } }
if (!seen) { ctx._source.republications.add(params.r); }
ctx._source.republication_count = ctx._source.republications.size();
"""
"""Painless script: append a republication once (idempotent under redelivery)."""


MAX_INDEXED_TEXT_CHARS = 200_000
"""Bodies are indexed up to 200,000 characters (~30,000 Arabic words, 20× a long feature article); the article
record in Kafka keeps the full text. Longer bodies are dumps (forums, books) whose analysis alone can take minutes
on a small node; ``text_truncated`` marks them."""


def story_fields(a: Article) -> dict[str, Any]:
    """The story document fields written by the owner article (no republication fields)."""
    d = a.model_dump(mode="json", exclude={"schema_"})
    d["story_id"] = doc_id(a.canonical_url)
    d["indexed_at"] = utcnow().isoformat()
    d["text_truncated"] = len(a.text) > MAX_INDEXED_TEXT_CHARS
    if d["text_truncated"]:
        d["text"] = a.text[:MAX_INDEXED_TEXT_CHARS]
    return d


def republication(a: Article) -> dict[str, Any]:
    return {
        "url": a.url,
        "canonical_url": a.canonical_url,
        "source": a.source,
        "sitename": a.sitename,
        "title": a.title,
        "published_at": a.published_at.isoformat() if a.published_at else None,
        "fetched_at": a.fetched_at.isoformat(),
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


def _item_status(item: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    (_, res), = item.items()
    return res.get("status", 500), res


class IndexStage:
    """Kafka stage: articles record → story upsert or republication update (see module docstring)."""

    name = "index"

    def __init__(self, settings: Settings, es: Es | None = None) -> None:
        self.settings = settings
        self.es = es or Es(settings.es_url)

    def process_batch(self, records: list[Record]) -> list[Outcome]:
        outcomes: list[Outcome | None] = [None] * len(records)
        articles: list[tuple[int, Article]] = []
        for i, rec in enumerate(records):
            try:
                articles.append((i, Article.from_json(rec.value)))
            except PermanentError as e:
                outcomes[i] = Outcome(error=e)
        if articles:
            owners = self._claim(articles, outcomes)
            articles = [(i, a) for i, a in articles if outcomes[i] is None]
            if articles:
                self._write(articles, owners, outcomes)
        return [o if o is not None else Outcome(label="indexed") for o in outcomes]

    # --- step 1: fingerprint claims -------------------------------------------------------------------
    def _claim(self, articles: list[tuple[int, Article]], outcomes: list[Outcome | None]) -> dict[str, str]:
        """Return ``content_hash -> owner canonical URL`` for the batch; a claim ES rejects (4xx other than 409)
        dead-letters its record instead of blocking the partition."""
        lines: list[dict[str, Any]] = []
        for _, a in articles:
            lines.append({"create": {"_index": self.settings.fingerprints_index, "_id": a.content_hash,
                                     "require_alias": True}})
            lines.append({"canonical_url": a.canonical_url, "story_id": doc_id(a.canonical_url),
                          "claimed_at": utcnow().isoformat()})
        try:
            resp = self.es.bulk(lines)
        except EsHttpError as exc:
            raise TransientError(f"fingerprint claim failed: {exc}") from exc
        owners: dict[str, str] = {}
        lost: set[str] = set()
        for (i, a), item in zip(articles, resp["items"]):
            status, res = _item_status(item)
            if status == 404:
                raise TransientError(f"alias {self.settings.fingerprints_index} missing: run `marsad templates apply`")
            if status == 201 and a.content_hash not in owners:
                owners[a.content_hash] = a.canonical_url
            elif status in (201, 409):
                lost.add(a.content_hash)
            elif status == 429 or status >= 500:
                raise TransientError(f"fingerprint claim item failed: {status} {res.get('error')}")
            else:
                err = res.get("error") or {}
                outcomes[i] = Outcome(error=PermanentError(f"es-claim-{err.get('type', status)}",
                                                           str(err.get("reason", ""))[:500]))
        lost -= owners.keys()
        if lost:
            got = self.es.request("POST", f"/{self.settings.fingerprints_index}/_mget", {"ids": sorted(lost)})
            for d in got["docs"]:
                if not d.get("found"):
                    raise TransientError(f"fingerprint {d['_id']} conflicted but is not readable yet")
                owners[d["_id"]] = d["_source"]["canonical_url"]
        return owners

    # --- steps 2–4: story writes ------------------------------------------------------------------------
    def _write(self, articles: list[tuple[int, Article]], owners: dict[str, str],
               outcomes: list[Outcome | None]) -> None:
        alias = self.settings.stories_alias
        lines: list[dict[str, Any]] = []
        kinds: list[tuple[int, str]] = []
        for i, a in articles:
            owner = owners[a.content_hash]
            if owner == a.canonical_url:
                fields = story_fields(a)
                lines.append({"update": {"_index": alias, "_id": doc_id(a.canonical_url), "retry_on_conflict": 3,
                                         "require_alias": True}})
                lines.append({"doc": fields,
                              "upsert": {**fields, "republications": [], "republication_count": 0}})
                kinds.append((i, "indexed"))
            else:
                lines.append({"update": {"_index": alias, "_id": doc_id(owner), "retry_on_conflict": 5,
                                         "require_alias": True}})
                lines.append({
                    "script": {"source": ADD_REPUBLICATION, "lang": "painless", "params": {"r": republication(a)}},
                    "upsert": {**story_fields(a), "story_id": doc_id(owner),
                               "republications": [republication(a)], "republication_count": 1},
                })
                kinds.append((i, "duplicate"))
        items: list[dict[str, Any]] = []
        for chunk in _chunks(lines, MAX_BULK_BYTES):
            try:
                items += self.es.bulk(chunk)["items"]
            except EsHttpError as exc:
                if exc.status == 404:
                    raise TransientError(f"alias {alias} missing: run `marsad templates apply` ({exc})") from exc
                raise TransientError(f"bulk failed: {exc}") from exc
        for (i, kind), item in zip(kinds, items):
            status, res = _item_status(item)
            if 200 <= status < 300:
                outcomes[i] = Outcome(label=kind)
            elif status == 429 or status >= 500:
                raise TransientError(f"bulk item rejected ({status}): {res.get('error')}")
            elif status == 404:
                raise TransientError(f"alias {alias} or its index missing: run `marsad templates apply`")
            else:
                err = res.get("error") or {}
                outcomes[i] = Outcome(error=PermanentError(f"es-{err.get('type', status)}",
                                                           str(err.get("reason", ""))[:500]))
