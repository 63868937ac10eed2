"""A batch the worker abandons uncommitted is delivered again to the member that still holds its partition — never
committed past by the next batch.

The case: a rebalance served inside the very poll that returned the batch (librdkafka calls the revoke and the assign
callbacks in ``consume`` and then returns records of the new assignment, here the same partition), then a transient
failure: the worker waits paused, sees the revocation and abandons the batch. Its position is already after the batch;
unless the abandon rewinds it, the next batch's commit skips the abandoned records for good.

Real Kafka, real consumer; the rebalance is the worker's own ``on_revoke``/``on_assign`` callbacks called with the
partition it holds, between the poll and the batch — the state a real rebalance leaves, made deterministic.
"""

from __future__ import annotations

import time

import pytest
from confluent_kafka import Producer, TopicPartition

from marsad.errors import TransientError
from marsad.kafka.clients import ensure_topics
from marsad.kafka.worker import Worker
from marsad.stage import Outcome, Output, Record

from .helpers import read_to_end

pytestmark = pytest.mark.services


class FailsOnce:
    """Copies records to the articles topic; its first batch fails transiently (Elasticsearch away, say)."""

    name = "fails-once"

    def __init__(self, topic: str) -> None:
        self.topic, self.calls = topic, 0

    def process_batch(self, records: list[Record]) -> list[Outcome]:
        self.calls += 1
        if self.calls == 1:
            raise TransientError("dependency away")
        return [Outcome(outputs=[Output(self.topic, r.key, r.value or b"")]) for r in records]


def test_a_batch_abandoned_after_a_rebalance_in_its_own_poll_is_delivered_again(names):
    s = names.model_copy(update={"topic_partitions": 1, "consumer_backoff_max_s": 1.0})
    ensure_topics(s)
    p = Producer({"bootstrap.servers": s.kafka_bootstrap})
    for i in range(3):
        p.produce(s.raw_pages_topic, key=f"k{i}".encode(), value=f"v{i}".encode(), partition=0)
    assert p.flush(10) == 0
    w = Worker(s, FailsOnce(s.articles_topic), s.raw_pages_topic, s.extract_group)
    c = w._consumer
    c.subscribe([s.raw_pages_topic], on_assign=w._on_assign, on_revoke=w._on_revoke, on_lost=w._on_revoke)
    try:
        records: list[Record] = []
        deadline = time.monotonic() + 30  # hang guard, not a speed check
        while len(records) < 3 and time.monotonic() < deadline:
            records += w._poll()
        assert [r.offset for r in records] == [0, 1, 2]
        held = [TopicPartition(s.raw_pages_topic, 0)]
        w._on_revoke(c, held)  # the rebalance served in that poll: revoked, then assigned to this member again
        w._on_assign(c, held)
        w._handle(records)
        assert w.stats.abandoned_batches == 1  # the transient failure's wait saw the revocation
        again: list[Record] = []
        deadline = time.monotonic() + 15
        while len(again) < 3 and time.monotonic() < deadline:
            w._revoked = False  # as the run loop does before each poll
            got = w._poll()
            if got:
                w._handle(got)
                again += got
        assert [r.offset for r in again] == [0, 1, 2], "the abandoned batch was not delivered again"
        committed = c.committed([TopicPartition(s.raw_pages_topic, 0)], timeout=10)
        assert committed[0].offset == 3
    finally:
        c.close()
        w.transport.close()
    assert sorted(read_to_end(s, s.articles_topic)) == [b"v0", b"v1", b"v2"]
