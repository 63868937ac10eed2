"""The ledger: every raw page's outcome, durable, and ``marsad audit`` reconciling it with the raw-pages topic.

The ledger is the compacted topic ``settings.outcomes_topic`` (``marsad.outcomes.v1``). The transport
(:meth:`marsad.kafka.transport.Transport.emit`) produces one record per consumed record and stage, in the same
flush as the stage's outputs, before the offset is committed — so once a raw page's offset is committed, its
outcome is in Kafka (``acks=all``). Design and alternatives: ``docs/decisions.md`` ("Ledger").

Record: key = ``<raw topic>/<partition>/<offset>/<stage>`` (UTF-8); value = JSON::

    {"schema": "outcome.v1", "stage": "extract"|"index",
     "raw": {"topic", "partition", "offset"},          # the raw page this outcome is about
     "input": {"topic", "partition", "offset"},        # the record the stage consumed (an article for index)
     "status": "extracted"|"indexed"|"duplicate"|"stale"|"discarded"|"dead_lettered"|...,
     "reason": str,                                    # discard / dead-letter reason slug, else ""
     "kind": "story"|"republication"|"duplicate"|null, # index stage: where the page ended
     "story_id": str|null, "url": str|null,            # the story; the record key (canonical URL)
     "at": ISO 8601 UTC}

A redelivered record rewrites the same key; compaction keeps the last version. A reader keeps the last record
per key (topic order within a partition = write order).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from marsad.messages import utcnow
from marsad.stage import DUPLICATE, REPUBLICATION, STORY, Outcome, Record, raw_coordinates

SCHEMA = "outcome.v1"
FINAL_STAGE = "index"
"""The stage whose outcome is a raw page's final place (the extract stage's ``extracted`` is a step on the way)."""


def outcome_record(rec: Record, out: Outcome, stage: str) -> tuple[bytes, bytes]:
    """``(key, value)`` of the ledger record of ``rec``'s outcome ``out`` in ``stage`` (format: module docstring)."""
    topic, partition, offset = raw_coordinates(rec)
    status = out.status
    if status == "ok" and stage == "extract":
        status = "extracted"
    value = {
        "schema": SCHEMA, "stage": stage,
        "raw": {"topic": topic, "partition": partition, "offset": offset},
        "input": {"topic": rec.topic, "partition": rec.partition, "offset": rec.offset},
        "status": status, "reason": out.reason, "kind": out.kind, "story_id": out.story_id,
        "url": rec.key.decode("utf-8", "replace") if rec.key else None,
        "at": utcnow().isoformat(),
    }
    return f"{topic}/{partition}/{offset}/{stage}".encode(), orjson.dumps(value)


def final_state(entries: dict[str, dict[str, Any]]) -> tuple[str, str]:
    """``(category, detail)`` of one raw page from its last ledger record per stage (``{stage: record}``).

    Categories: ``indexed`` (a story), ``republication``, ``duplicate``, ``discarded`` (detail = reason),
    ``dead_lettered`` (detail = ``stage:reason``), ``unaccounted`` (detail says what is missing).
    """
    for stage in ("extract", FINAL_STAGE):
        e = entries.get(stage)
        if e is None:
            continue
        if e["status"] == "dead_lettered":
            return "dead_lettered", f"{stage}:{e['reason']}"
        if e["status"] == "discarded":
            return "discarded", e["reason"]
    e = entries.get(FINAL_STAGE)
    if e is not None:
        kind = e.get("kind")
        if kind == STORY:
            return "indexed", e.get("story_id") or ""
        if kind in (REPUBLICATION, DUPLICATE):
            return kind, e.get("story_id") or ""
        return "unaccounted", f"index status {e['status']} without a story"
    if "extract" in entries:
        return "unaccounted", "extracted, not indexed yet"
    return "unaccounted", "no outcome recorded"


@dataclass
class AuditReport:
    """Counts of ``marsad audit``. ``unaccounted_examples``: up to 20 ``(coordinates, why)``; ``doubled_urls``:
    canonical URLs found in more than one story (``url -> [story ids]``)."""

    produced: int = 0
    categories: Counter = field(default_factory=Counter)
    discarded: Counter = field(default_factory=Counter)
    dead_lettered: Counter = field(default_factory=Counter)
    unaccounted_examples: list[tuple[str, str]] = field(default_factory=list)
    doubled_urls: dict[str, list[str]] = field(default_factory=dict)

    @property
    def unaccounted(self) -> int:
        return self.categories["unaccounted"]

    @property
    def clean(self) -> bool:
        return self.unaccounted == 0 and not self.doubled_urls

    def as_dict(self) -> dict[str, Any]:
        return {
            "produced": self.produced,
            "indexed": self.categories["indexed"],
            "republication": self.categories["republication"],
            "duplicate": self.categories["duplicate"],
            "discarded": dict(self.discarded),
            "dead_lettered": dict(self.dead_lettered),
            "unaccounted": self.unaccounted,
            "unaccounted_examples": [f"{c}: {why}" for c, why in self.unaccounted_examples],
            "urls_in_more_than_one_story": self.doubled_urls,
        }


def reconcile(raw: list[tuple[str, int, int]], ledger: dict[str, dict[str, dict[str, Any]]],
              stories_by_url: dict[str, set[str]]) -> AuditReport:
    """Pure reconciliation: ``raw`` = coordinates of the raw pages in range; ``ledger`` =
    ``"<topic>/<partition>/<offset>" -> {stage: last record}``; ``stories_by_url`` = canonical URL -> story ids
    that hold it (document or republication)."""
    rep = AuditReport(produced=len(raw))
    for topic, partition, offset in raw:
        coords = f"{topic}/{partition}/{offset}"
        cat, detail = final_state(ledger.get(coords, {}))
        rep.categories[cat] += 1
        if cat == "discarded":
            rep.discarded[detail] += 1
        elif cat == "dead_lettered":
            rep.dead_lettered[detail] += 1
        elif cat == "unaccounted" and len(rep.unaccounted_examples) < 20:
            rep.unaccounted_examples.append((coords, detail))
    rep.doubled_urls = {u: sorted(ids) for u, ids in sorted(stories_by_url.items()) if len(ids) > 1}
    return rep


def read_ledger(settings: Any, timeout_s: float = 60.0) -> dict[str, dict[str, dict[str, Any]]]:
    """The ledger topic as ``raw coordinates -> {stage: last record}``. Raises :class:`TransientError`."""
    from marsad.kafka.clients import read_to_end

    out: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    for m in read_to_end(settings, settings.outcomes_topic, timeout_s=timeout_s):
        if m.value() is None:
            continue
        rec = orjson.loads(m.value())
        r = rec["raw"]
        out[f"{r['topic']}/{r['partition']}/{r['offset']}"][rec["stage"]] = rec
    return out


def raw_pages_in_range(settings: Any, since: datetime | None, until: datetime | None,
                       timeout_s: float = 60.0) -> list[tuple[str, int, int]]:
    """Coordinates of the raw-pages records whose timestamp is in ``[since, until)`` (both optional).

    Reads offsets only (``offsets_for_times`` for the bounds), never the bodies. Raises :class:`TransientError`.
    """
    from confluent_kafka import KafkaException, TopicPartition

    from marsad.errors import TransientError
    from marsad.kafka import clients

    topic = settings.raw_pages_topic
    c = clients.consumer(settings, group="marsad.audit")
    try:
        md = c.list_topics(topic, timeout=timeout_s).topics.get(topic)
        if md is None or md.error is not None:
            return []
        out = []
        for p in sorted(md.partitions):
            low, high = c.get_watermark_offsets(TopicPartition(topic, p), timeout=timeout_s)
            start, end = low, high
            for bound, which in ((since, "start"), (until, "end")):
                if bound is None:
                    continue
                ms = int(bound.timestamp() * 1000)
                found = c.offsets_for_times([TopicPartition(topic, p, ms)], timeout=timeout_s)[0].offset
                pos = high if found < 0 else found
                if which == "start":
                    start = max(low, pos)
                else:
                    end = min(high, pos)
            out += [(topic, p, o) for o in range(start, end)]
        return out
    except KafkaException as exc:
        raise TransientError(f"Kafka did not answer while listing {topic}: {exc}") from exc
    finally:
        c.close()


def stories_by_url(settings: Any) -> dict[str, set[str]]:
    """Canonical URL -> ids of the stories holding it (as document or in ``republications``), from Elasticsearch
    (scroll over ``canonical_url``, ``republications.canonical_url``). Raises :class:`TransientError`."""
    from marsad.index.es import Es

    es = Es.from_settings(settings)
    out: dict[str, set[str]] = defaultdict(set)
    resp = es.request("POST", f"/{settings.stories_alias}/_search", {
        "size": 1000, "sort": ["_doc"], "_source": ["canonical_url", "republications.canonical_url"],
    }, params={"scroll": "2m"})
    scroll_id = resp.get("_scroll_id")
    try:
        while resp["hits"]["hits"]:
            for h in resp["hits"]["hits"]:
                src = h["_source"]
                urls = {src.get("canonical_url")} | {r.get("canonical_url") for r in src.get("republications") or []}
                for u in urls - {None}:
                    out[u].add(h["_id"])
            resp = es.request("POST", "/_search/scroll", {"scroll": "2m", "scroll_id": scroll_id})
            scroll_id = resp.get("_scroll_id", scroll_id)
    finally:
        if scroll_id:
            es.request("DELETE", "/_search/scroll", {"scroll_id": scroll_id}, ok=(404,))
    return out


def audit(settings: Any, since: datetime | None = None, until: datetime | None = None) -> AuditReport:
    """Reconcile the raw-pages topic (records in ``[since, until)``) with the ledger and the stories index."""
    raw = raw_pages_in_range(settings, since, until)
    return reconcile(raw, read_ledger(settings), stories_by_url(settings))
