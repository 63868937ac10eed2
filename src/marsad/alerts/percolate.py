"""Percolation of newly created stories at ingest time, and the once-per-(rule, story) record.

Called by the index stage after a batch is written (and race-repaired) with the stories that batch *created*
(plans of kind ``indexed`` still labelled ``indexed``: not copies folded into an existing story, not stories folded
by ``_repair``). Per batch:

1. **Percolate** all new stories in one request (``percolate.documents``, the slot in
   ``fields._percolator_document_slot`` maps a hit back to its story), with highlighting of the matched words.
2. **Skip sent**: ``_mget`` of the alert ids (:func:`~marsad.alerts.events.alert_id`) in the alerts-sent index; an
   id already there fired before (a redelivery, a replay, an edited re-crawl of the same story).
3. **Publish** each remaining event to the alerts topic (key = alert id), flush, check every delivery report.
4. **Record** each event in the alerts-sent index with ``op_type=create`` (``409`` = another worker recorded it).

5. **Copy markers**: a republication that joins a story which already alerted (the copies of this batch and of
   later ones, and those another consumer added before the alert was recorded) gets a ``kind=copy`` record with ``_id =
   alert_id(rule, doc_id(copy's canonical URL))`` — the id the
   alert would have if that copy owned the story. A replay that reads the copies in another order (so that the copy
   owns the story) then finds the alert already sent.

Crash window: between 3 and 4 the event is on the topic but not recorded; the batch is not committed, so it is
redelivered and the event is published again **with the same alert id**. The guarantee is at-least-once delivery,
exactly one alert id per (rule, story); consumers dedupe on the id (the webhook receives it as ``X-Marsad-Alert-Id``).
Recording before publishing would turn that window into lost alerts (at-most-once), which is worse for a watch list.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any
from urllib.parse import unquote

from prometheus_client import Counter as PromCounter

from marsad.alerts.events import AlertEvent, alert_id
from marsad.errors import TransientError
from marsad.index.es import Es, EsHttpError, bulk_items
from marsad.messages import Article, utcnow
from marsad.search import HL_POST, HL_PRE
from marsad.settings import Settings

log = logging.getLogger(__name__)

ALERTS = PromCounter("marsad_alerts_total", "Alert events by outcome", ["outcome"])

PAGE_SIZE = 1000
"""Matching rules fetched per percolate request page (``search_after`` on the rule name for more)."""

MAX_PERCOLATED_TEXT_CHARS = 200_000
"""Same cap as the stories index (:data:`marsad.index.stage.MAX_INDEXED_TEXT_CHARS`): a rule sees what search sees."""

HIGHLIGHT = {
    "pre_tags": [HL_PRE], "post_tags": [HL_POST], "require_field_match": False,
    "fields": {"text": {"fragment_size": 160, "number_of_fragments": 1},
               "text.exact": {"fragment_size": 160, "number_of_fragments": 1},
               "title": {"number_of_fragments": 0}, "title.exact": {"number_of_fragments": 0}},
}


def percolate_document(a: Article) -> dict[str, Any]:
    """The in-memory document a story is percolated as: the fields rules can query, as the stories index holds them."""
    return {"title": a.title or "", "text": a.text[:MAX_PERCOLATED_TEXT_CHARS], "source": a.source,
            "language": a.language}


def percolate_body(docs: list[dict[str, Any]], after: str | None = None) -> dict[str, Any]:
    """One percolate request for ``docs`` (pure; unit-tested): matching rules sorted by name, highlighted."""
    body: dict[str, Any] = {
        "size": PAGE_SIZE,
        "query": {"percolate": {"field": "query", "documents": docs}},
        "sort": [{"rule.name": "asc"}],
        "_source": ["rule"],
        "highlight": HIGHLIGHT,
    }
    if after is not None:
        body["search_after"] = [after]
    return body


def snippet(highlight: dict[str, list[str]], slot: int, n_docs: int) -> str:
    """The matched passage of document ``slot`` from a percolate hit's highlight.

    With several documents Elasticsearch prefixes highlight keys with the slot (``"3_text"``); with one it may not.
    Body passages are preferred to the title (the title is in the event anyway).
    """
    def field(name: str) -> list[str]:
        return highlight.get(f"{slot}_{name}") or (highlight.get(name) if n_docs == 1 else None) or []

    for name in ("text", "text.exact", "title", "title.exact"):
        frags = field(name)
        if frags:
            return " ".join(frags[0].split())
    return ""


class AlertHook:
    """Percolates new stories and publishes their alert events (see module docstring for the guarantees).

    Raises :class:`~marsad.errors.TransientError` when Elasticsearch or Kafka fail (the index stage's batch is then
    retried; all its writes are idempotent) or when the rules/alerts-sent aliases are missing.
    """

    def __init__(self, settings: Settings, es: Es, transport: Any = None) -> None:
        self.settings = settings
        self.es = es
        self._transport = transport

    @property
    def transport(self):
        """The alerts' :class:`~marsad.kafka.transport.Transport` (built on first use: no Kafka client for a
        batch without matches)."""
        if self._transport is None:
            from marsad.kafka.transport import Transport

            self._transport = Transport(self.settings, "alerts", **{"linger.ms": 0})
        return self._transport

    # --- 1. percolate ----------------------------------------------------------------------------------
    def match(self, stories: list[tuple[str, Article]]) -> list[AlertEvent]:
        """Events for every (rule, story) match of ``stories`` (``[(story_id, article)]``), sent or not."""
        if not stories:
            return []
        docs = [percolate_document(a) for _, a in stories]
        events: list[AlertEvent] = []
        now = utcnow()
        after = None
        while True:
            try:
                resp = self.es.request("POST", f"/{self.settings.alert_rules_alias}/_search",
                                       percolate_body(docs, after))
            except EsHttpError as exc:
                if exc.status == 404:
                    raise TransientError(f"rules alias {self.settings.alert_rules_alias} missing: "
                                         f"run `marsad templates apply`") from exc
                raise TransientError(f"percolation failed: {exc}") from exc
            hits = resp["hits"]["hits"]
            for h in hits:
                rule = h["_source"]["rule"]
                for slot in h.get("fields", {}).get("_percolator_document_slot", []):
                    story_id, a = stories[slot]
                    events.append(AlertEvent(
                        alert_id=alert_id(rule["name"], story_id), rule=rule["name"], query=rule["query"],
                        rule_source=rule.get("source"), rule_language=rule.get("language"), story_id=story_id,
                        title=a.title, url=a.url, canonical_url=a.canonical_url, source=a.source,
                        language=a.language, published_at=a.published_at,
                        snippet=snippet(h.get("highlight") or {}, slot, len(docs)), fired_at=now,
                        webhook=rule.get("webhook")))
            if len(hits) < PAGE_SIZE:
                return events
            after = hits[-1]["sort"][0]

    # --- 2-4. skip sent, publish, record -------------------------------------------------------------------
    def unsent(self, events: list[AlertEvent]) -> list[AlertEvent]:
        """The events whose alert id is not in the alerts-sent index (one per id)."""
        if not events:
            return []
        unique = list({e.alert_id: e for e in events}.values())
        try:
            got = self.es.request("POST", f"/{self.settings.alerts_sent_index}/_mget",
                                  {"ids": [e.alert_id for e in unique]}, params={"_source": False})
        except EsHttpError as exc:
            raise TransientError(f"alerts-sent lookup failed (run `marsad templates apply`?): {exc}") from exc
        sent = {d["_id"] for d in got["docs"] if d.get("found")}
        return [e for e in unique if e.alert_id not in sent]

    def publish(self, events: list[AlertEvent]) -> None:
        """Produce ``events`` to the alerts topic and wait until Kafka acknowledged every one."""
        if not events:
            return
        for e in events:
            self.transport.send(self.settings.alerts_topic, e.alert_id.encode(), e.to_json(),
                                [("marsad.schema", b"alert.v1")])
        try:
            self.transport.flush()
        except TransientError:
            ALERTS.labels("publish_failed").inc(len(events))
            raise
        ALERTS.labels("published").inc(len(events))

    def record(self, events: list[AlertEvent]) -> None:
        """Create one alerts-sent document per event (``op_type=create``; an existing one is fine).

        No refresh: the once-per-story check is a real-time ``_mget``; :meth:`mark_copies` refreshes before it searches
        (a ``refresh=wait_for`` here cost ~350 ms per batch that fired, measured by ``benchmarks/alerts/run.py``)."""
        self._create([(e.alert_id, e.sent_record()) for e in events])

    def _create(self, docs: list[tuple[str, dict[str, Any]]]) -> None:
        if not docs:
            return
        lines: list[dict[str, Any]] = []
        for _id, doc in docs:
            lines.append({"create": {"_index": self.settings.alerts_sent_index, "_id": _id, "require_alias": True}})
            lines.append(doc)
        try:
            resp = self.es.bulk(lines)
        except EsHttpError as exc:
            raise TransientError(f"alerts-sent record failed: {exc}") from exc
        for it in bulk_items(resp):
            if not it.ok and not it.conflict:  # 409: recorded before (a redelivery) — once per (rule, story)
                raise TransientError(f"alerts-sent record failed: {it.status} {it.body.get('error')}")

    def mark_copies(self, copies: list[tuple[str, str]], fired: list[AlertEvent]) -> int:
        """Write copy markers for ``[(story_id, copy canonical URL)]`` joined to stories that alerted (in earlier
        batches, or now: ``fired``). Returns the number of markers written or already there."""
        if not copies:
            return 0
        from marsad.index.es import doc_id

        by_story: dict[str, dict[str, dict[str, Any]]] = {}
        for e in fired:
            by_story.setdefault(e.story_id, {})[e.rule] = {"alert_id": e.alert_id, "rule": e.rule,
                                                           "rule_query": e.query, "story_id": e.story_id}
        self.es.request("POST", f"/{self.settings.alerts_sent_index}/_refresh")  # records of earlier batches
        resp = self.es.request("POST", f"/{self.settings.alerts_sent_index}/_search", {
            "size": 10_000, "_source": ["alert_id", "rule", "rule_query", "story_id"],
            "query": {"bool": {"filter": [{"terms": {"story_id": sorted({s for s, _ in copies})}},
                                          {"term": {"kind": "alert"}}]}}})
        for h in resp["hits"]["hits"]:
            src = h["_source"]
            by_story.setdefault(src["story_id"], {})[src["rule"]] = src
        docs = []
        now = utcnow().isoformat()
        for story_id, url in copies:
            for rule, src in by_story.get(story_id, {}).items():
                docs.append((alert_id(rule, doc_id(url)), {**src, "kind": "copy", "url": url, "fired_at": now}))
        self._create(docs)
        return len(docs)

    def folded_targets(self, folded: list[Article]) -> list[tuple[str, str]]:
        """``[(story_id, canonical_url)]`` for articles whose new story the race repair folded into another story:
        the story they joined is the one their content claim now names (the repair retargets the claim first)."""
        if not folded:
            return []
        got = self.es.request("POST", f"/{self.settings.fingerprints_index}/_mget",
                              {"ids": sorted({a.content_hash for a in folded})})
        target = {d["_id"]: d["_source"].get("story_id") for d in got["docs"] if d.get("found")}
        return [(target[a.content_hash], a.canonical_url) for a in folded if target.get(a.content_hash)]

    def on_batch(self, created: list[tuple[str, Article]], copies: Sequence[tuple[str, str]] = (),
                 folded: Sequence[Article] = (), matched: list[AlertEvent] | None = None) -> list[AlertEvent]:
        """Percolate the stories this batch created (``[(story_id, article)]``), fire each new match once, then mark
        the batch's republications (``[(story_id, canonical_url)]``, plus the ``folded`` articles of stories the race
        repair merged into another) of alerted stories. ``matched``: the events of ``created`` when the caller
        percolated them already (:meth:`match`), else they are percolated here.

        Returns the events published now (already-sent matches are skipped and not returned).
        """
        events = self.unsent(self.match(created) if matched is None else matched)
        self.publish(events)
        self.record(events)
        for e in events:
            log.info("alert %s: rule %s fired on story %s (%s)", e.alert_id[:12], e.rule, e.story_id[:12],
                     unquote(e.url))
        self.mark_copies(list(copies) + self.folded_targets(list(folded)) + self.republications_of(events), events)
        return events

    def rehome(self, story_id: str, target: str) -> int:
        """Story ``story_id`` is being folded into ``target`` by the race repair: its alerts become the target's.

        For each rule that fired on ``story_id``: a ``kind=copy`` marker with ``_id = alert_id(rule, target)`` (so the
        target, percolated now or on a redelivery, does not fire that rule again; ``409`` = the target fired it
        already — two consumers alerted the two halves of one story before either folded, at-least-once), and the
        alert record's ``story_id`` moves to ``target`` (so copies of the target are marked, and the record names a
        story that exists). Idempotent: a redelivered fold repeats it. Returns the number of alerts moved."""
        self.es.request("POST", f"/{self.settings.alerts_sent_index}/_refresh")
        hits = self.es.request("POST", f"/{self.settings.alerts_sent_index}/_search", {
            "size": 10_000, "_source": ["alert_id", "rule", "rule_query", "story_id", "url"],
            "query": {"bool": {"filter": [{"term": {"story_id": story_id}}, {"term": {"kind": "alert"}}]}}},
        )["hits"]["hits"]
        if not hits:
            return 0
        now = utcnow().isoformat()
        self._create([(alert_id(h["_source"]["rule"], target),
                       {**h["_source"], "story_id": target, "kind": "copy", "fired_at": now}) for h in hits])
        lines: list[dict[str, Any]] = []
        for h in hits:
            lines.append({"update": {"_index": h["_index"], "_id": h["_id"]}})
            lines.append({"doc": {"story_id": target}})
        resp = self.es.bulk(lines, refresh="true")  # not wait_for: up to 1 s per fold (see IndexStage._bulk_ok)
        bad = [it for it in bulk_items(resp) if not it.ok]
        if bad:
            raise TransientError(f"alert rehome failed: {bad[0].status} {bad[0].body.get('error')}")
        log.info("alerts of story %s moved to story %s: %s", story_id[:12], target[:12],
                 sorted(h["_source"]["rule"] for h in hits))
        return len(hits)

    def republications_of(self, events: list[AlertEvent]) -> list[tuple[str, str]]:
        """``[(story_id, canonical_url)]`` of the republications the alerted stories hold *now* (a real-time
        ``_mget``). A copy joined by another consumer before this alert was recorded found no alert to mark; marking
        it here, after :meth:`record`, closes that window: either the copy's consumer sees the record, or this read
        sees the copy."""
        ids = sorted({e.story_id for e in events})
        if not ids:
            return []
        got = self.es.request("POST", f"/{self.settings.stories_alias}/_mget", {"ids": ids},
                              params={"_source": "republications.canonical_url"})
        return [(d["_id"], r["canonical_url"]) for d in got["docs"] if d.get("found")
                for r in (d.get("_source") or {}).get("republications") or [] if r.get("canonical_url")]

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close(30)
