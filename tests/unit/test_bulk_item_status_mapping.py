"""One mapping from a ``_bulk`` item's status to what the index stage does with it (``marsad.index.es.BulkItem``).

Cases written from Elasticsearch's bulk API semantics before running: 2xx done; 429 (rejected execution) and 5xx
(shard unavailable) retried; an ``update`` of a missing document reported as ``document_missing``; any other 4xx a
permanent error for that record, named by ES's error type; a 409 (``create`` of an existing id, version conflict)
reported as ``conflict``."""

from __future__ import annotations

import pytest

from marsad.index.es import BulkItem, bulk_items


def item(status: int, **body: object) -> dict:
    return {"update": {"_index": "i", "_id": "x", "status": status, **body}}


@pytest.mark.parametrize(("status", "body", "ok", "transient", "missing", "conflict"), [
    (200, {"result": "updated"}, True, False, False, False),
    (201, {"result": "created"}, True, False, False, False),
    (409, {"error": {"type": "version_conflict_engine_exception"}}, False, False, False, True),
    (429, {"error": {"type": "es_rejected_execution_exception"}}, False, True, False, False),
    (503, {"error": {"type": "unavailable_shards_exception"}}, False, True, False, False),
    (404, {"error": {"type": "document_missing_exception", "reason": "[x]: document missing"}}, False, False, True,
     False),
    (404, {"error": {"type": "index_not_found_exception"}}, False, False, False, False),
    (400, {"error": {"type": "mapper_parsing_exception", "reason": "failed to parse"}}, False, False, False, False),
])
def test_status_mapping(status, body, ok, transient, missing, conflict):
    [it] = bulk_items({"items": [item(status, **body)]})
    assert (it.ok, it.transient, it.document_missing, it.conflict) == (ok, transient, missing, conflict)


def test_a_refused_item_becomes_a_dead_letter_reason_named_by_the_es_error_type():
    it = BulkItem.of(item(400, error={"type": "mapper_parsing_exception", "reason": "x" * 900}))
    err = it.permanent("es-claim")
    assert err.reason == "es-claim-mapper_parsing_exception" and len(err.detail) == 500


def test_an_item_without_status_is_transient():
    assert BulkItem.of({"index": {"_id": "x"}}).transient
