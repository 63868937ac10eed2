"""The transport's guarantees, each with a real failed delivery (the broker refuses a record larger than the topic's
``max.message.bytes``; auto-create is off and the producer's own limit is larger, so the refusal comes from the
broker in a delivery report):

* a delivery that failed is never committed past (delivery check + commit after durable outputs);
* the ledger record of a batch is durable before its offset is committed (a refused ledger record stops the commit);
* the crawl publisher refunds the run's URLs and marks nothing seen when a raw page was not delivered.
"""

from __future__ import annotations

import os

import pytest
from confluent_kafka import TopicPartition
from confluent_kafka.admin import NewTopic

from marsad.crawl.registry import Source
from marsad.crawl.run import fetch_and_publish, seen_db
from marsad.dedup.urls import canonical_url
from marsad.errors import TransientError
from marsad.kafka import clients
from marsad.kafka.worker import Worker
from marsad.stage import Outcome, Output, Record

from .helpers import publish, raw_page, read_to_end


def _tiny_topic(settings, name: str, max_bytes: int = 200) -> None:
    client = clients.admin(settings)
    fut = client.create_topics([NewTopic(name, num_partitions=1, replication_factor=1,
                                         config={"max.message.bytes": str(max_bytes)})])[name]
    fut.result()


def _committed(settings, group: str, topic: str) -> list[int]:
    c = clients.consumer(settings, group)
    try:
        md = c.list_topics(topic, timeout=10).topics[topic]
        return [tp.offset for tp in c.committed([TopicPartition(topic, p) for p in md.partitions], timeout=10)]
    finally:
        c.close()


class Grow:
    """A stage whose output (2 KB) is larger than the tiny output topic accepts."""

    name = "grow"

    def __init__(self, topic: str) -> None:
        self.topic = topic

    def process_batch(self, records: list[Record]) -> list[Outcome]:
        return [Outcome(outputs=[Output(self.topic, r.key, os.urandom(2048))]) for r in records]  # incompressible


def test_a_failed_delivery_is_never_committed_past(names):
    s = names.model_copy(update={"consumer_retry_limit_s": 3.0, "idle_timeout_s": 1.0})
    clients.ensure_topics(s)
    out_topic = f"{s.articles_topic}.tiny"
    _tiny_topic(s, out_topic)
    publish(s, [raw_page("https://d.example/1", b"<html>1</html>")])
    with pytest.raises(TransientError):
        Worker(s, Grow(out_topic), s.raw_pages_topic, s.extract_group, ledger=True).run(until_idle=True)
    assert all(o < 0 for o in _committed(s, s.extract_group, s.raw_pages_topic))  # nothing committed
    clients.admin(s).delete_topics([out_topic])


def test_the_ledger_record_is_durable_before_the_commit(names):
    """After a batch is committed, its outcome is in the ledger topic, naming the raw page's coordinates."""
    s = names.model_copy(update={"idle_timeout_s": 1.0})
    clients.ensure_topics(s)
    publish(s, [raw_page("https://d.example/2", b"<html>2</html>")])

    class Drop:
        name = "extract"

        def process_batch(self, records):
            from marsad.errors import Discard

            return [Outcome(discard=Discard("not-wanted")) for _ in records]

    Worker(s, Drop(), s.raw_pages_topic, s.extract_group, ledger=True).run(until_idle=True)
    committed = [o for o in _committed(s, s.extract_group, s.raw_pages_topic) if o >= 0]
    assert committed == [1]
    import orjson

    ledger = [orjson.loads(v) for v in read_to_end(s, s.outcomes_topic)]
    assert [(e["stage"], e["status"], e["reason"], e["raw"]["offset"]) for e in ledger] == [
        ("extract", "discarded", "not-wanted", 0)]


def test_an_undelivered_ledger_record_is_never_committed_past(names):
    """The ledger topic refuses the outcome record (it is larger than the topic's 100 bytes) while the output itself
    is delivered: the batch must stay uncommitted — an outcome is durable before the offset that produced it is
    committed, not merely sent (a ledger record produced after the flush would be committed past)."""
    s = names.model_copy(update={"consumer_retry_limit_s": 3.0, "idle_timeout_s": 1.0})
    _tiny_topic(s, s.outcomes_topic, max_bytes=100)  # before ensure_topics: the ledger topic exists, tiny
    clients.ensure_topics(s)
    publish(s, [raw_page("https://d.example/3", b"<html>3</html>")])

    class Copy:
        name = "extract"

        def process_batch(self, records):
            return [Outcome(outputs=[Output(s.articles_topic, r.key, b"small")]) for r in records]

    with pytest.raises(TransientError, match="outcomes"):
        Worker(s, Copy(), s.raw_pages_topic, s.extract_group, ledger=True).run(until_idle=True)
    assert all(o < 0 for o in _committed(s, s.extract_group, s.raw_pages_topic))  # nothing committed


def test_crawl_publisher_refunds_the_run_when_a_raw_page_is_not_delivered(crawl_site, names):
    s = names.model_copy(update={"fetch_retries": 0})
    _tiny_topic(s, s.raw_pages_topic, max_bytes=100)  # every raw page (body + metadata header) is larger
    url = crawl_site.url("/f/a/1.html")
    seen = seen_db(s)
    try:
        seen.enqueue([(canonical_url(url), url)], "trap")
        assert seen.pending("trap", hand_out=True) == [url]
    finally:
        seen.close()
    with pytest.raises(TransientError):
        fetch_and_publish(s, Source(name="trap", site=crawl_site.url("/")), [url])
    seen = seen_db(s)
    try:
        assert not seen.seen(canonical_url(url))  # the next run fetches it again
        handed = seen._db.execute("SELECT handed_out FROM frontier WHERE url = ?", (canonical_url(url),)).fetchone()
        assert handed == (0,)  # the failed run's hand-out was refunded: an outage never abandons a URL
    finally:
        seen.close()
